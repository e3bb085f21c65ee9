"""Similar titles by several engines at once (e.g. item_knn's co-ratings and content_tfidf's overviews).

Engines score similarity on different scales (a shrunk correlation, a cosine of TF-IDF vectors,
a cosine of learned factors), so raw scores cannot be averaged, and min-max scaling lets one
engine's ties or outliers decide. `blended_similar` combines ranks instead (reciprocal rank
fusion, Cormack et al. 2009): each engine gives a movie weight / (offset + rank), tied scores
share their mean rank, and a movie's blended score sums what every engine gave it. That sum is
then weighed by the movie's evidence, n / (n + evidence) for n training ratings: an overview
can match a movie that one person rated, but a fan asking for titles like Pulp Fiction wants
films people have seen (with evidence 5, a movie rated once keeps a sixth of its score).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from movierec.core.errors import DataError, MovierecError
from movierec.core.models.base import check_k
from movierec.core.models.vectors import evidence_weight

#: reciprocal rank fusion's offset: damps the gap between the first ranks (60 in the paper)
RANK_OFFSET = 60.0


def blended_similar(
    engines: Sequence[Any],
    movie: int,
    k: int = 10,
    min_ratings: int = 0,
    weights: Sequence[float] | None = None,
    pool: int | None = None,
    evidence: float = 5.0,
) -> pd.DataFrame:
    """The k movies most similar to `movie` by fitted `engines` combined by rank, best first.

    Each engine lists its `pool` most similar movies (default max(100, 5 k)) with at least
    `min_ratings` training ratings. Columns: movie, score (the fused score times the evidence
    weight; `evidence=0` turns that off), ratings (training ratings of the movie), and one
    `rank_NAME` per engine (NaN where that engine did not list the movie). An engine that cannot answer
    (no representation of `movie`) is left out and named in `frame.attrs['failures']`; when
    none can, its error is raised.
    """
    k = check_k(k)
    if not engines:
        raise DataError("blended_similar needs at least one engine")
    weights = [1.0] * len(engines) if weights is None else [float(w) for w in weights]
    if len(weights) != len(engines) or any(w < 0 or not np.isfinite(w) for w in weights):
        raise DataError(f"weights must be {len(engines)} non-negative numbers, one per engine, got {weights!r}")
    if not np.isfinite(evidence) or evidence < 0:
        raise DataError(f"evidence must be a non-negative number of ratings, got {evidence!r}")
    depth = max(k, 100, 5 * k) if pool is None else check_k(pool)
    ranks: dict[str, pd.Series] = {}
    used_weights: list[float] = []
    failures: list[str] = []
    first_error: MovierecError | None = None
    for engine, weight in zip(engines, weights):
        label = _unique_label(getattr(engine, "name", "") or type(engine).__name__, ranks)
        try:
            listed = engine.similar_movies(movie, k=depth, min_ratings=min_ratings)
        except MovierecError as error:
            failures.append(f"{label}: {error}")
            first_error = first_error or error
            continue
        # tied scores share their mean rank, so no tie is broken by movie id
        ranks[label] = pd.Series(
            listed["score"].rank(ascending=False, method="average").to_numpy(), index=listed["movie"].to_numpy()
        )
        used_weights.append(weight)
    if not ranks:
        assert first_error is not None
        raise first_error
    table = pd.DataFrame(ranks)
    given = [w / (RANK_OFFSET + table[label]) for label, w in zip(ranks, used_weights)]
    counts = _ratings_of(engines, table.index.to_numpy())
    fused = pd.concat(given, axis=1).fillna(0.0).sum(axis=1).to_numpy()
    table.insert(0, "score", fused * (evidence_weight(counts, evidence) if evidence > 0 else 1.0))
    table.insert(1, "ratings", counts.astype(np.int64))
    # equal fused scores: the movie more engines listed, then the better best rank
    table["_listed"] = table[list(ranks)].notna().sum(axis=1)
    table["_best"] = table[list(ranks)].min(axis=1)
    table = table.sort_values(["score", "_listed", "_best"], ascending=[False, False, True], kind="stable")
    table = table.head(k).drop(columns=["_listed", "_best"])
    table = table.rename(columns={label: f"rank_{label}" for label in ranks})
    table.index.name = "movie"
    frame = table.reset_index()
    frame["movie"] = frame["movie"].astype(np.int64)
    frame.attrs["failures"] = failures
    return frame


def _ratings_of(engines: Sequence[Any], movies: np.ndarray) -> np.ndarray:
    """Training ratings of each movie id, the most any fitted engine counted (0 for ids none rated)."""
    counts = np.zeros(len(movies), dtype=np.float64)
    for engine in engines:
        if hasattr(engine, "ratings_per_movie") and hasattr(engine, "movies_"):
            positions = engine.movies_.index_of(movies)
            per_movie = np.asarray(engine.ratings_per_movie(), dtype=np.float64)
            counts = np.maximum(counts, np.where(positions >= 0, per_movie[np.maximum(positions, 0)], 0.0))
    return counts


def _unique_label(label: str, taken: dict[str, Any]) -> str:
    """`label`, or `label_2`, `label_3`, ... when an engine of that name is already in the blend."""
    if label not in taken:
        return label
    n = 2
    while f"{label}_{n}" in taken:
        n += 1
    return f"{label}_{n}"
