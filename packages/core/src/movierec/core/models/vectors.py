"""Vector helpers shared by the factor engines: unit-length movie vectors (an item-to-item cosine
is one matrix-vector product) and the ridge regression that folds in a new user or weighs a blend."""

from __future__ import annotations

from typing import Any

import numpy as np

from movierec.core.models.base import movie_reference


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """`matrix`'s rows scaled to unit length (float64); zero rows stay zero."""
    rows = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def cached_unit_rows(owner: Any, matrix: np.ndarray) -> np.ndarray:
    """`unit_rows(matrix)` of an engine's movie vectors, kept until the engine's next fit or load."""
    return owner._derived("unit_movie_rows", lambda: unit_rows(matrix))


#: people who rated both movies before a factor engine names one as the reason for the other
MIN_TOGETHER = 3

#: ratings at which a movie's learned similarity counts half (see `evidence_weight`)
SIMILAR_EVIDENCE = 20.0


def evidence_weight(ratings_per_movie: np.ndarray, evidence: float = SIMILAR_EVIDENCE) -> np.ndarray:
    """n / (n + evidence) per movie: how far a similarity learned from n ratings is trusted.

    Factors of a movie rated once stay close to their random start, so a raw cosine ranks such
    movies as often as real neighbours; the weight keeps them below well-supported ones.
    """
    counts = np.asarray(ratings_per_movie, dtype=np.float64)
    return counts / (counts + float(evidence))


def liked_threshold(user_mean: np.ndarray | float, rating_range: tuple[float, float]) -> np.ndarray:
    """The lowest rating a user likes: their own mean, kept between the scale's middle and its 3/4 point.

    On a 0.5-5 scale a 4 is always liked and a rating under 2.75 never (so five 1-star ratings
    are five dislikes, whatever their mean); a 3 is liked by a user whose mean is 3 or lower.
    Shared by the ranking engines that read the stars (ease, keras_sasrec), in fit and fold-in.
    """
    low, high = float(rating_range[0]), float(rating_range[1])
    return np.clip(np.asarray(user_mean, dtype=np.float64), (low + high) / 2, low + 0.75 * (high - low))


def liked_ratings(users: np.ndarray, ratings: np.ndarray, rating_range: tuple[float, float]) -> np.ndarray:
    """Per rating, whether its user likes it (`liked_threshold` of the user's mean); users are 0..n-1 codes."""
    users = np.asarray(users, dtype=np.int64)
    ratings = np.asarray(ratings, dtype=np.float64)
    counts = np.bincount(users)
    means = np.bincount(users, weights=ratings) / np.maximum(counts, 1)
    return ratings >= liked_threshold(means, rating_range)[users] - 1e-9


def factor_reasons(
    engine: Any, user_idx: int, movies: Any, unit: np.ndarray, expected: np.ndarray
) -> list[dict[str, Any] | None]:
    """Per movie, the liked movies the user rated that pull it up most in a learned space.

    A rated movie j pulls movie i up by (r_j - expected_j) x cos(v_i, v_j) x n_j / (n_j + 20),
    the factor-space twin of item-kNN's similarity x residual. `unit` holds the engine's unit-length
    movie vectors (rows in the engine's movie positions), `expected` the engine's baseline for each
    movie the user rated (in `seen_` order). Only liked movies (at or above the user's mean and the
    scale's midpoint) with a positive pull that at least MIN_TOGETHER people rated together with
    movie i are named, at most three; else None. A cosine in the learned space is no similarity a
    reader can check, so the text says what the space was learned from: how many people rated both.
    """
    seen = engine.seen_
    rated = seen.indices[seen.indptr[user_idx]: seen.indptr[user_idx + 1]]
    ratings = seen.data[seen.indptr[user_idx]: seen.indptr[user_idx + 1]].astype(np.float64)
    liked = ratings >= max(float(ratings.mean()), sum(engine.rating_range_) / 2)
    trust = evidence_weight(engine.ratings_per_movie())[rated]
    residual = ratings - np.asarray(expected, dtype=np.float64)
    out: list[dict[str, Any] | None] = []
    raters = engine._derived("raters_by_movie", lambda: seen.tocsc())  # the users of each movie, as a column
    for m in engine.movies_.index_of(np.atleast_1d(np.asarray(movies))).tolist():
        if m < 0:
            out.append(None)
            continue
        similarity = unit[rated] @ unit[m]
        together = _rated_together(raters, rated, m)
        pull = np.where(liked & (together >= MIN_TOGETHER), residual * similarity * trust, -np.inf)
        order = [j for j in np.argsort(-pull, kind="stable")[:3] if pull[j] > 0]
        because = [{"movie": int(engine.movies_.ids[rated[j]]), "rating": float(ratings[j]),
                    "similarity": float(similarity[j]), "contribution": float(pull[j]),
                    "together": int(together[j])} for j in order]
        out.append({**because[0], "because": because, "text": _together_text(because)} if because else None)
    return out


def _rated_together(raters: Any, rated: np.ndarray, movie: int) -> np.ndarray:
    """For each rated movie position, how many users rated both it and `movie` (columns of a CSC matrix)."""
    users = raters.indices[raters.indptr[movie]: raters.indptr[movie + 1]]
    return np.array([np.intersect1d(raters.indices[raters.indptr[j]: raters.indptr[j + 1]], users,
                                    assume_unique=True).size for j in rated], dtype=np.int64)


def _together_text(because: list[dict[str, Any]]) -> str:
    """'people who rated {movie:1} (you: 5) also rated it: 23 of them; ...' for the named movies."""
    parts = [f"{movie_reference(b['movie'])} (you: {b['rating']:g}), {b['together']:,} of them" for b in because]
    return "people who rated " + "; ".join(parts) + " also rated it"


def ridge(
    features: np.ndarray, target: np.ndarray, penalty: float | np.ndarray, intercept_penalty: float | None = 0.0
) -> tuple[np.ndarray, float]:
    """Weights w and intercept b minimizing |Xw + b - y|^2 + sum(penalty * w^2) + intercept_penalty * b^2.

    The one ridge solver of the engines: a blend's member weights (free intercept), a new user's
    vector and bias against frozen movie vectors (penalized bias), or a vector alone
    (`intercept_penalty=None`: no intercept, b = 0). `penalty` is one weight for all features or
    one per feature.
    """
    design = np.asarray(features, dtype=np.float64)
    penalties = np.broadcast_to(np.asarray(penalty, dtype=np.float64), design.shape[1:])
    if intercept_penalty is not None:
        design = np.hstack([design, np.ones((len(design), 1))])
        penalties = np.r_[penalties, float(intercept_penalty)]
    gram = design.T @ design + np.diag(penalties)
    solution = np.linalg.solve(gram, design.T @ np.asarray(target, dtype=np.float64))
    if intercept_penalty is None:
        return solution, 0.0
    return solution[:-1], float(solution[-1])
