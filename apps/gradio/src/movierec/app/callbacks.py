"""What the tabs share, as plain functions of the app state and widget values: checks, tables, titles.

Bad input raises `InputError` with a sentence for the page; a tab's `Outputs.guard` turns it into a
`gr.Warning` and a message, so these functions stay testable without a server. Each tab's own
handler lives in its module under `movierec.app.tabs`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from movierec.app.state import NEAR_MATCH_SCORE, AppState
from movierec.core.data.titles import find_titles
from movierec.core.errors import MovierecError
from movierec.core.models.base import render_reason
from movierec.viz.ranking_charts import top_recommendations

K_MIN, K_MAX = 1, 50
STARS_MIN, STARS_MAX = 1.0, 5.0
MAX_RATED = 10
#: titles need this many ratings on real data to be recommended or called similar (the page's default),
#: so that one fan's rating cannot put a movie on a list
MIN_RATINGS_REAL, MIN_RATINGS_MAX = 5, 100
#: what a recommendation list shows: a rating engine's predicted stars to one decimal (clipped to the
#: rating scale; equal stars share a rank), a ranking-only engine its rank alone (its scores have no unit)
PREDICTED_STARS = "predicted stars"
RECOMMENDATION_COLUMNS = ["rank", "title", "year", PREDICTED_STARS, "reason"]
RANKING_COLUMNS = ["rank", "title", "year", "reason"]
#: a typed title needs this fuzzy score (0-100) to count as a match; candidates stay within the margin of the best
MIN_TITLE_SCORE = NEAR_MATCH_SCORE
TITLE_SCORE_MARGIN = 10.0


class InputError(MovierecError):
    """A widget value the app cannot use; the message tells the visitor what to change."""


@dataclass
class Recommendations:
    """A ranked list for the page: the table, its chart, and a one-line status."""

    table: pd.DataFrame
    figure: Any  # None when there is no scale to draw (a ranking engine's list)
    message: str
    #: the chart in one sentence, for readers who cannot see it
    summary: str = ""


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


def shown_stars(ranked: pd.DataFrame) -> np.ndarray | None:
    """A rating engine's predicted stars as the page shows them (one decimal); None for a ranking-only engine.

    The order comes from the unclipped scores; titles whose shown stars are equal share a rank
    (`shared_ranks`), so a list of ten 5.0s reads as a ten-way tie, not as an order.
    """
    if "predicted_rating" not in ranked.columns:
        return None
    return np.round(ranked["predicted_rating"].to_numpy(dtype=float), 1)


def shared_ranks(values: np.ndarray) -> np.ndarray:
    """Competition ranks (1, 1, 3, ...) of values sorted best first: equal values share the first one's rank."""
    values = np.asarray(values)
    if not len(values):
        return np.empty(0, dtype=np.int64)
    starts = np.r_[True, values[1:] != values[:-1]]
    return (np.flatnonzero(starts)[np.cumsum(starts) - 1] + 1).astype(np.int64)


def ranked_table(state: AppState, ranked: pd.DataFrame, reasons: Sequence[str | None] | None = None,
                 details: pd.DataFrame | None = None, shown: tuple[str, np.ndarray] | None = None,
                 ranks: np.ndarray | None = None) -> pd.DataFrame:
    """rank, title, year, the shown value (and reason, when the engine explains) of a ranked list.

    `shown` is (column, values), or None for no value column; `ranks` default to 1..n.
    """
    if details is None:
        details = movie_details(state, ranked["movie"].tolist())
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(ranked) + 1) if ranks is None else ranks,
            "title": details["title"],
            "year": details["year"],
        }
    )
    if shown is not None:
        table[shown[0]] = shown[1]
    if reasons is not None:
        table["reason"] = [render_reason(r, state.dataset.title_of) or "" for r in reasons]
    return table


def recommendation_table(state: AppState, ranked: pd.DataFrame, name: str, k: int,
                         reasons: Sequence[str | None] | None = None,
                         user: int | None = None) -> tuple[pd.DataFrame, Any, str]:
    """The table, the chart and the chart's one-line summary of an engine's recommendations.

    A rating engine's predicted stars are drawn from zero, so equal stars are equal bars and a
    4.3 is not drawn as a fraction of a 5.0; a ranking engine's list has no chart (its rank is the scale).
    """
    reasons = list(reasons) if reasons is not None else [None] * len(ranked)
    stars = shown_stars(ranked)
    if stars is None:
        return ranked_table(state, ranked, reasons), None, ""
    table = ranked_table(state, ranked, reasons, shown=(PREDICTED_STARS, stars), ranks=shared_ranks(stars))
    figure = top_recommendations(ranked.assign(title=table["title"].to_numpy(), score=stars), n=k, user=user,
                                 engine=name, measure="Predicted Stars (Out Of 5)", from_zero=True)
    return table, figure, stars_summary(table)


def stars_summary(table: pd.DataFrame) -> str:
    """One sentence for the predicted-stars chart: the range and the largest tie."""
    if table.empty:
        return "Chart: no title to show."
    stars = table[PREDICTED_STARS].to_numpy(dtype=float)
    text = f"Chart: predicted stars of the {len(stars)} titles, from {stars.max():.1f} down to {stars.min():.1f}"
    top_tie = int((stars == stars.max()).sum())
    if top_tie > 1:
        text += f"; {top_tie} titles tie at {stars.max():.1f}"
    return text + "."


def ranking_note(name: str) -> str:
    """The message's line for a ranking engine: what its order means."""
    return (f"{name} ranks titles by how well they fit the taste shown; it predicts no stars, "
            "so the rank is its scale (1 = best fit)")


def floor_note(min_ratings: int) -> str:
    """The message's note on the minimum of ratings, empty when there is none."""
    return f", at least {min_ratings} ratings each" if min_ratings else ""


def titles_of(state: AppState, movies: Sequence[int]) -> str:
    """Catalogue labels of movie ids, comma separated."""
    return ", ".join(state.catalogue.label_of_movie.get(m) or state.dataset.title_of(m) for m in movies)


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
