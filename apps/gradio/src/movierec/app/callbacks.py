"""What each button does, as plain functions of the app state and the widget values.

Bad input raises `InputError` with a sentence for the page; `layout` turns it into a `gr.Warning`
and a message, so these functions stay testable without a server.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from movierec.app.engines import ProgressFn
from movierec.app.state import AppState
from movierec.core.data.titles import find_titles
from movierec.core.errors import MovierecError
from movierec.core.models.base import render_reason
from movierec.viz.ranking_charts import top_recommendations, top_similar_movies

K_MIN, K_MAX = 1, 50
STARS_MIN, STARS_MAX = 1.0, 5.0
MAX_RATED = 10
SIMILARITY_TEXT = "overview text"
SIMILARITY_COLLABORATIVE = "collaborative"
SIMILARITY_BLENDED = "blended"
SIMILARITIES = (SIMILARITY_TEXT, SIMILARITY_COLLABORATIVE, SIMILARITY_BLENDED)
RECOMMENDATION_COLUMNS = ["rank", "title", "year", "score", "reason"]
#: a typed title needs this fuzzy score (0-100) to count as a match; candidates stay within the margin of the best
MIN_TITLE_SCORE = 75.0
TITLE_SCORE_MARGIN = 10.0
#: how deep each source's similar-movies list goes before a blend (see `similar_titles`)
BLEND_POOL = 10 * K_MAX


class InputError(MovierecError):
    """A widget value the app cannot use; the message tells the visitor what to change."""


@dataclass
class Recommendations:
    """A ranked list for the page: the table, its chart, and a one-line status."""

    table: pd.DataFrame
    figure: Any
    message: str


# ----------------------------------------------------------------- shared checks
def check_k(k: Any) -> int:
    """k as an int in K_MIN..K_MAX, or an InputError."""
    try:
        value = float(k)
    except (TypeError, ValueError):
        raise InputError(f"k must be a whole number from {K_MIN} to {K_MAX}, got {k!r}") from None
    if not math.isfinite(value) or value != int(value) or not K_MIN <= value <= K_MAX:
        raise InputError(f"k must be a whole number from {K_MIN} to {K_MAX}, got {k!r}")
    return int(value)


def check_engine(name: Any, choices: Sequence[str], purpose: str) -> str:
    """An engine name offered for `purpose`, or an InputError listing the ones that are."""
    if not name:
        raise InputError(f"choose an engine for {purpose}")
    if name not in choices:
        raise InputError(f"engine {name!r} cannot be used for {purpose}; choose one of {', '.join(choices)}")
    return str(name)


def movie_details(state: AppState, movies: Sequence[int]) -> pd.DataFrame:
    """Title, year and overview of the given movie ids, in their order."""
    rows = state.movie_rows.reindex([int(m) for m in movies])
    return pd.DataFrame(
        {
            "movie": [int(m) for m in movies],
            "title": [
                state.dataset.title_of(m) if pd.isna(t) else str(t)
                for m, t in zip(movies, rows["title"].tolist())
            ],
            "year": [None if pd.isna(y) else int(y) for y in rows["year"].tolist()],
            "overview": ["" if pd.isna(o) else str(o) for o in rows["overview"].tolist()]
            if "overview" in rows.columns
            else [""] * len(rows),
        }
    )


def _ranked(state: AppState, ranked: pd.DataFrame, reasons: Sequence[str | None] | None = None,
            details: pd.DataFrame | None = None) -> pd.DataFrame:
    """rank, title, year, score (and reason, when the engine explains) of a ranked list."""
    if details is None:
        details = movie_details(state, ranked["movie"].tolist())
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(ranked) + 1),
            "title": details["title"],
            "year": details["year"],
            "score": np.round(ranked["score"].to_numpy(dtype=float), 3),
        }
    )
    if reasons is not None:
        table["reason"] = [render_reason(r, state.dataset.title_of) or "" for r in reasons]
    return table


# ----------------------------------------------------------------- tab 1: one user
def parse_user(state: AppState, user: Any) -> int:
    """A user id of the dataset from a dropdown value or typed text."""
    text = "" if user is None else str(user).strip()
    if not text:
        raise InputError("choose a user id (or press 'A random user')")
    try:
        value = int(float(text))
    except (ValueError, OverflowError):  # 'abc', and 'inf' (which float accepts but int cannot hold)
        raise InputError(f"user id must be a number, got {text!r}") from None
    if value not in state.ratings_by_user:
        raise InputError(
            f"unknown user {value}: this dataset has {len(state.users):,} users "
            f"with ids {int(state.users[0])}..{int(state.users[-1])}"
        )
    return value


def random_user(state: AppState, seed: int | None = None) -> str:
    """Any user of the dataset, as the dropdown's string value."""
    rng = random.Random(seed)
    return str(int(state.users[rng.randrange(len(state.users))]))


def top_rated(state: AppState, user: int, limit: int = 10) -> pd.DataFrame:
    """The movies `user` rated highest (latest first among equal ratings)."""
    rows = state.dataset.ratings.iloc[state.ratings_by_user[user]]
    rows = rows.sort_values(["rating", "date", "movie"], ascending=[False, False, True], kind="stable").head(limit)
    details = movie_details(state, rows["movie"].tolist())
    return pd.DataFrame(
        {
            "title": details["title"],
            "year": details["year"],
            "rating": rows["rating"].to_numpy(dtype=float),
            "date": [None if pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d") for d in rows["date"]],
        }
    )


def recommend_for_user(
    state: AppState, user: Any, engine: Any, k: Any, progress: ProgressFn | None = None
) -> tuple[Recommendations, pd.DataFrame]:
    """Top-k for a known user from one engine, with reasons where the engine gives them."""
    user_id = parse_user(state, user)
    name = check_engine(engine, state.offered, "recommendations")
    k = check_k(k)
    fitted = state.engines.get(name, progress)
    ranked = fitted.recommend(user_id, k=k)
    reasons = fitted.explain(user_id, ranked["movie"].to_numpy()) if len(ranked) else []
    table = _ranked(state, ranked, reasons)
    figure = top_recommendations(ranked.assign(title=table["title"].to_numpy()), n=k, user=user_id, engine=name)
    message = f"{len(table)} recommendations for user {user_id} from {name}"
    return Recommendations(table, figure, message), top_rated(state, user_id)


# ----------------------------------------------------------------- tab 2: rate a few movies
def parse_rated(state: AppState, rows: Sequence[tuple[Any, Any]]) -> dict[int, float]:
    """{movie: stars} from (title label, stars) pairs; empty titles are unused rows."""
    rated: dict[int, float] = {}
    for title, stars in rows:
        label = "" if title is None else str(title).strip()
        if not label:
            continue
        movie = state.catalogue.movie_of_label.get(label)
        if movie is None:
            movie = resolve_title(state, label).movie
        if stars is None or (isinstance(stars, str) and not stars.strip()):
            raise InputError(f"give '{label}' a star value from 1 to 5")
        try:
            value = float(stars)
        except (TypeError, ValueError):
            raise InputError(f"stars for '{label}' must be a number from 1 to 5, got {stars!r}") from None
        if not math.isfinite(value) or not STARS_MIN <= value <= STARS_MAX:
            raise InputError(f"stars for '{label}' must be from 1 to 5, got {stars!r}")
        rated[movie] = value
    if not rated:
        raise InputError("rate at least one movie (pick a title and give it stars) to get recommendations")
    if len(rated) > MAX_RATED:
        raise InputError(f"rate at most {MAX_RATED} movies, got {len(rated)}")
    return rated


def example_ratings(state: AppState, count: int = 6, seed: int = 7) -> list[tuple[str, int]]:
    """A plausible visitor: some of the most rated titles with varied star values."""
    rng = random.Random(seed)
    labels = state.catalogue.labels[: max(count * 4, count)]
    chosen = rng.sample(labels, k=min(count, len(labels)))
    return [(label, rng.choice([2, 3, 4, 5, 5])) for label in chosen]


def recommend_for_new_user(
    state: AppState, engine: Any, k: Any, rows: Sequence[tuple[Any, Any]], progress: ProgressFn | None = None
) -> Recommendations:
    """Top-k for a visitor's own ratings by folding them into a fitted engine (no retraining)."""
    name = check_engine(engine, state.engines_that("supports_fold_in"), "your own ratings")
    k = check_k(k)
    rated = parse_rated(state, rows)
    fitted = state.engines.get(name, progress)
    # the catalogue also lists titles nobody rated; the engine leaves out movies it never saw
    unknown = [movie for movie in rated if movie not in fitted.movies_]
    if len(unknown) == len(rated):
        raise InputError(f"none of your rated movies is known to {name}: {_titles(state, unknown)}; "
                         "rate some more widely seen titles")
    ranked = fitted.recommend_for_ratings(rated, k=k)
    table = _ranked(state, ranked)
    figure = top_recommendations(ranked.assign(title=table["title"].to_numpy()), n=k, engine=name)
    used = f"{len(rated) - len(unknown)} of your " if unknown else ""
    message = f"{len(table)} recommendations from {used}{len(rated)} rated movies with {name}"
    if unknown:
        message += f"; ignored (unknown to {name}): {_titles(state, unknown)}"
    return Recommendations(table, figure, message)


def _titles(state: AppState, movies: Sequence[int]) -> str:
    """Catalogue labels of movie ids, comma separated."""
    return ", ".join(state.catalogue.label_of_movie.get(m) or state.dataset.title_of(m) for m in movies)


# ----------------------------------------------------------------- tab 3: similar titles
@dataclass
class TitleMatch:
    """The movie a typed title resolved to, and the other candidates worth offering."""

    movie: int
    label: str
    candidates: list[str]


def resolve_title(state: AppState, text: Any) -> TitleMatch:
    """The movie a label or typed title names; remakes and near matches come back as candidates."""
    query = "" if text is None else str(text).strip()
    if not query:
        raise InputError("type or pick a title")
    labels = state.catalogue.label_of_movie
    picked = state.catalogue.movie_of_label.get(query)
    if picked is not None:  # a label from the list; other versions of the same title stay offered
        return TitleMatch(picked, query, [labels[m] for m in state.catalogue.versions.get(picked, [])])
    matches = search_titles(state, query)
    if not matches:
        raise InputError(f"no title matches {query!r}; pick one from the list")
    return TitleMatch(matches[0], labels[matches[0]], [labels[m] for m in matches])


def search_titles(state: AppState, query: str, limit: int = 8) -> list[int]:
    """Movie ids whose titles match `query` well, best first (exact titles and remakes lead)."""
    found = find_titles(state.dataset.movies, query, limit=limit)
    if found.empty:
        return []
    best = float(found["score"].iloc[0])
    floor = max(MIN_TITLE_SCORE, best - TITLE_SCORE_MARGIN)
    return [int(movie) for movie in found.loc[found["score"] >= floor, "movie"]]


def similar_titles(
    state: AppState, title: Any, similarity: Any, collaborative_engine: Any, k: Any,
    progress: ProgressFn | None = None,
) -> tuple[Recommendations, TitleMatch]:
    """Top-k movies like a title by overview text, collaborative representations, or both."""
    if similarity not in SIMILARITIES:
        raise InputError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {similarity!r}")
    k = check_k(k)
    match = resolve_title(state, title)
    sources: list[str] = []
    if similarity in (SIMILARITY_TEXT, SIMILARITY_BLENDED):
        text_engine = state.default_engine("content_tfidf", "uses_overviews")
        if text_engine is None:
            raise InputError("no engine that reads overviews is available")
        sources.append(text_engine)
    if similarity in (SIMILARITY_COLLABORATIVE, SIMILARITY_BLENDED):
        sources.append(check_engine(collaborative_engine, state.collaborative_engines(),
                                    "collaborative similarity"))
    scores: list[pd.DataFrame] = []
    failures: list[str] = []
    # one source: its own top k (item_knn answers k <= n_neighbors from stored neighbours). A blend
    # needs deeper lists, since a movie's blended score adds both sides; BLEND_POOL (10 x K_MAX)
    # reaches far past any top k, so cutting the lists there rarely changes the blend's top k.
    depth = k if len(sources) == 1 else max(k, BLEND_POOL)
    for name in sources:  # in a blend, one side that cannot answer leaves the other
        try:
            fitted = state.engines.get(name, progress)
            scores.append(fitted.similar_movies(match.movie, k=depth))
        except MovierecError as error:
            failures.append(f"{name}: {error}")
    if not scores:
        raise InputError(f"{match.label}: " + "; ".join(failures))
    ranked = _blend(scores).head(k)
    details = movie_details(state, ranked["movie"].tolist())
    table = _ranked(state, ranked, details=details)
    table["overview"] = details["overview"].to_numpy()
    measure = {SIMILARITY_TEXT: "Overview Cosine Similarity", SIMILARITY_COLLABORATIVE: f"Similarity ({sources[-1]})",
               SIMILARITY_BLENDED: "Blended Similarity (scaled)"}[similarity]
    figure = top_similar_movies(ranked.assign(title=table["title"].to_numpy()), match.label, n=k, measure=measure)
    others = [label for label in match.candidates if label != match.label][:3]
    note = f" (also matching: {', '.join(others)})" if others else ""
    message = f"{len(table)} titles similar to {match.label} by {similarity}{note}"
    if failures:
        message += f"; left out {'; '.join(failures)}"
    return Recommendations(table, figure, message), match


def _blend(scores: list[pd.DataFrame]) -> pd.DataFrame:
    """Average of min-max scaled scores (a movie missing from one list counts 0 there)."""
    if len(scores) == 1:
        return scores[0]
    scaled = []
    for frame in scores:
        values = frame["score"].to_numpy(dtype=float)
        span = np.nanmax(values) - np.nanmin(values) if len(values) else 0.0
        normalised = (values - np.nanmin(values)) / span if span > 0 else np.ones_like(values)
        scaled.append(pd.Series(normalised, index=frame["movie"].to_numpy()))
    combined = pd.concat(scaled, axis=1).fillna(0.0).mean(axis=1)
    combined = combined.sort_values(ascending=False, kind="stable")
    return pd.DataFrame({"movie": combined.index.astype(np.int64), "score": combined.to_numpy()})
