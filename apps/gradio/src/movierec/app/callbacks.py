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
from movierec.app.state import NEAR_MATCH_SCORE, AppState
from movierec.core.data.titles import find_titles
from movierec.core.errors import MovierecError, UnknownMovieError
from movierec.core.models.base import render_reason
from movierec.core.models.similarity import blended_similar
from movierec.viz.ranking_charts import top_recommendations, top_similar_movies

K_MIN, K_MAX = 1, 50
STARS_MIN, STARS_MAX = 1.0, 5.0
MAX_RATED = 10
SIMILARITY_TEXT = "text"
SIMILARITY_COLLABORATIVE = "collaborative"
SIMILARITY_BLENDED = "blended"
SIMILARITIES = (SIMILARITY_TEXT, SIMILARITY_COLLABORATIVE, SIMILARITY_BLENDED)
TEXT_ENGINE = "content_tfidf"
#: titles need this many ratings on real data to be recommended or called similar (the page's default),
#: so that one fan's rating cannot put a movie on a list
MIN_RATINGS_REAL, MIN_RATINGS_MAX = 5, 100
#: what a recommendation list shows: a rating engine's predicted stars (clipped to the rating
#: scale; the ranking uses the unclipped score), a ranking-only engine's relevance score
PREDICTED_STARS, RELEVANCE = "predicted stars", "relevance"
RECOMMENDATION_COLUMNS = ["rank", "title", "year", PREDICTED_STARS, "reason"]
#: a typed title needs this fuzzy score (0-100) to count as a match; candidates stay within the margin of the best
MIN_TITLE_SCORE = NEAR_MATCH_SCORE
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
    """k as an int in K_MIN..K_MAX, or an InputError (true/false are not numbers here)."""
    if isinstance(k, bool):
        raise InputError(f"k must be a whole number from {K_MIN} to {K_MAX}, got {k!r}")
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


def _about(row: Any) -> str:
    """A movie's overview, else its genres and tags ('Adventure, Animation · tags: pixar, fun')."""
    overview = getattr(row, "overview", None)
    if isinstance(overview, str) and overview.strip():
        return overview
    parts = []
    genres = getattr(row, "genres", None)
    if isinstance(genres, str) and genres.strip() and genres != "(no genres listed)":
        parts.append(genres.replace("|", ", "))
    tags = getattr(row, "tags", None)
    if isinstance(tags, str) and tags.strip():
        parts.append("tags: " + ", ".join(tags.split("|")[:8]))
    return " · ".join(parts)


def movie_details(state: AppState, movies: Sequence[int]) -> pd.DataFrame:
    """Title, year and what is known about the given movie ids (overview, else genres and tags), in order."""
    rows = state.movie_rows.reindex([int(m) for m in movies])
    return pd.DataFrame(
        {
            "movie": [int(m) for m in movies],
            "title": [
                state.dataset.title_of(m) if pd.isna(t) else str(t)
                for m, t in zip(movies, rows["title"].tolist())
            ],
            "year": [None if pd.isna(y) else int(y) for y in rows["year"].tolist()],
            "about": [_about(row) for row in rows.itertuples()],
        }
    )


def shown_value(ranked: pd.DataFrame) -> tuple[str, np.ndarray, str]:
    """(column, values, chart axis title) of an engine's recommendations as the page shows them.

    A rating engine's list shows predicted stars clipped to the rating scale (its order comes
    from the unclipped scores, so ties at the top keep their order); a ranking-only engine
    (LightFM, EASE) has no rating to show, so its relevance score is shown and labelled as such.
    """
    if "predicted_rating" in ranked.columns:
        return PREDICTED_STARS, np.round(ranked["predicted_rating"].to_numpy(dtype=float), 2), "Predicted Stars"
    return RELEVANCE, np.round(ranked["score"].to_numpy(dtype=float), 3), "Relevance Score (ranking engine)"


def _ranked(state: AppState, ranked: pd.DataFrame, reasons: Sequence[str | None] | None = None,
            details: pd.DataFrame | None = None, shown: tuple[str, np.ndarray] | None = None) -> pd.DataFrame:
    """rank, title, year, the shown value (and reason, when the engine explains) of a ranked list.

    `shown` is (column, values); by default the list's own score, as a similar-titles list shows it.
    """
    if details is None:
        details = movie_details(state, ranked["movie"].tolist())
    column, values = shown if shown is not None else ("score", np.round(ranked["score"].to_numpy(dtype=float), 3))
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(ranked) + 1),
            "title": details["title"],
            "year": details["year"],
            column: values,
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
        number = float(text)
        value = int(number)
    except (ValueError, OverflowError):  # 'abc', and 'inf' (which float accepts but int cannot hold)
        raise InputError(f"user id must be a number, got {text!r}") from None
    if number != value:
        raise InputError(f"{text} is not a user id: user ids are whole numbers (e.g. {int(state.users[0])})")
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
    state: AppState, user: Any, engine: Any, k: Any, progress: ProgressFn | None = None, min_ratings: Any = 0
) -> tuple[Recommendations, pd.DataFrame]:
    """Top-k for a known user from one engine, with reasons where the engine gives them.

    `min_ratings` leaves out movies with fewer training ratings (the page's default on real data: 5).
    """
    user_id = parse_user(state, user)
    name = check_engine(engine, state.offered, "recommendations")
    k = check_k(k)
    min_ratings = check_min_ratings(min_ratings)
    fitted = state.engines.get(name, progress)
    ranked = fitted.recommend(user_id, k=k, min_ratings=min_ratings)
    reasons = fitted.explain(user_id, ranked["movie"].to_numpy()) if len(ranked) else []
    table, figure = _recommendations(state, ranked, name, k, reasons, user_id)
    message = f"{len(table)} recommendations for user {user_id} from {name}{_floor(min_ratings)}"
    return Recommendations(table, figure, message), top_rated(state, user_id)


def _recommendations(state: AppState, ranked: pd.DataFrame, name: str, k: int,
                     reasons: Sequence[str | None] | None = None, user: int | None = None) -> tuple[pd.DataFrame, Any]:
    """The table and the chart of an engine's recommendations, showing the same values in the same order."""
    column, values, axis = shown_value(ranked)
    table = _ranked(state, ranked, reasons, shown=(column, values))
    figure = top_recommendations(ranked.assign(title=table["title"].to_numpy(), score=values), n=k, user=user,
                                 engine=name, measure=axis)
    return table, figure


def _floor(min_ratings: int) -> str:
    return f", at least {min_ratings} ratings each" if min_ratings else ""


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
    state: AppState, engine: Any, k: Any, rows: Sequence[tuple[Any, Any]], progress: ProgressFn | None = None,
    min_ratings: Any = 0,
) -> Recommendations:
    """Top-k for a visitor's own ratings by folding them into a fitted engine (no retraining)."""
    name = check_engine(engine, state.engines_that("supports_fold_in"), "your own ratings")
    k = check_k(k)
    min_ratings = check_min_ratings(min_ratings)
    rated = parse_rated(state, rows)
    fitted = state.engines.get(name, progress)
    # the catalogue also lists titles nobody rated; the engine leaves out movies it never saw
    unknown = [movie for movie in rated if movie not in fitted.movies_]
    if len(unknown) == len(rated):
        raise InputError(f"none of your rated movies is known to {name}: {_titles(state, unknown)}; "
                         "rate some more widely seen titles")
    ranked = fitted.recommend_for_ratings(rated, k=k, min_ratings=min_ratings)
    table, figure = _recommendations(state, ranked, name, k)
    used = f"{len(rated) - len(unknown)} of your " if unknown else ""
    message = f"{len(table)} recommendations from {used}{len(rated)} rated movies with {name}{_floor(min_ratings)}"
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


def similarity_choices(state: AppState) -> list[tuple[str, str]]:
    """The similarities the served data allows, as (label, value): text only where movies have text."""
    choices: list[tuple[str, str]] = []
    if state.text_source is not None and TEXT_ENGINE in state.offered:
        choices.append((f"text ({state.text_source})", SIMILARITY_TEXT))
    if state.collaborative_engines():
        choices.append(("collaborative (ratings)", SIMILARITY_COLLABORATIVE))
        if choices[0][1] == SIMILARITY_TEXT:
            choices.append(("blended (text and ratings)", SIMILARITY_BLENDED))
    return choices


def default_min_ratings(state: AppState) -> int:
    """The min-ratings control's default: MIN_RATINGS_REAL on real data, 0 on the synthetic sample."""
    return MIN_RATINGS_REAL if state.real else 0


def check_min_ratings(value: Any) -> int:
    """min_ratings as an int in 0..MIN_RATINGS_MAX, or an InputError."""
    if isinstance(value, bool):
        raise InputError(f"minimum ratings must be a whole number from 0 to {MIN_RATINGS_MAX}, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"minimum ratings must be a whole number from 0 to {MIN_RATINGS_MAX}, got {value!r}") from None
    if not math.isfinite(number) or number != int(number) or not 0 <= number <= MIN_RATINGS_MAX:
        raise InputError(f"minimum ratings must be a whole number from 0 to {MIN_RATINGS_MAX}, got {value!r}")
    return int(number)


def similar_titles(
    state: AppState, title: Any, similarity: Any, collaborative_engine: Any, k: Any,
    progress: ProgressFn | None = None, min_ratings: Any = 0,
) -> tuple[Recommendations, TitleMatch]:
    """Top-k movies like a title by movie text, collaborative representations, or both (rank fusion)."""
    allowed = [value for _, value in similarity_choices(state)]
    if similarity not in allowed:
        raise InputError(f"similarity must be one of {', '.join(allowed)} on this dataset, got {similarity!r}")
    k = check_k(k)
    min_ratings = check_min_ratings(min_ratings)
    match = resolve_title(state, title)
    sources: list[str] = []
    if similarity in (SIMILARITY_TEXT, SIMILARITY_BLENDED):
        sources.append(TEXT_ENGINE)
    if similarity in (SIMILARITY_COLLABORATIVE, SIMILARITY_BLENDED):
        sources.append(check_engine(collaborative_engine, state.collaborative_engines(), "collaborative similarity"))
    fitted = []
    failures: list[str] = []
    for name in sources:  # in a blend, one side that cannot answer leaves the other
        try:
            fitted.append(state.engines.get(name, progress))
        except MovierecError as error:
            failures.append(f"{name}: {error}")
    if not fitted:
        raise InputError(f"{match.label}: " + "; ".join(failures))
    try:
        if len(fitted) == 1:
            ranked = fitted[0].similar_movies(match.movie, k=k, min_ratings=min_ratings)
        else:
            ranked = blended_similar(fitted, match.movie, k=k, min_ratings=min_ratings, pool=BLEND_POOL)
            failures.extend(ranked.attrs.get("failures", []))
    except UnknownMovieError:
        rated = int(state.ratings_per_movie.get(match.movie, 0))
        why = "has no ratings in this dataset" if rated == 0 else f"is not known to {sources[-1]}"
        hint = "; try similarity by text" if SIMILARITY_TEXT in allowed and similarity != SIMILARITY_TEXT else ""
        if similarity == SIMILARITY_TEXT:
            why, hint = "has no text (overview, genres or tags) to compare", ""
        raise InputError(f"{match.label} {why}, so {similarity} similarity cannot place it{hint}") from None
    details = movie_details(state, ranked["movie"].tolist())
    table = _ranked(state, ranked, details=details)
    table["about"] = details["about"].to_numpy()
    measure = {SIMILARITY_TEXT: "Text Cosine Similarity", SIMILARITY_COLLABORATIVE: f"Similarity ({sources[-1]})",
               SIMILARITY_BLENDED: "Blended Score (rank fusion)"}[similarity]
    figure = top_similar_movies(ranked.assign(title=table["title"].to_numpy()), match.label, n=k, measure=measure)
    others = [label for label in match.candidates if label != match.label][:3]
    note = f" (also matching: {', '.join(others)})" if others else ""
    message = f"{len(table)} titles similar to {match.label} by {similarity}{_floor(min_ratings)}{note}"
    if failures:
        message += f"; left out {'; '.join(failures)}"
    return Recommendations(table, figure, message), match
