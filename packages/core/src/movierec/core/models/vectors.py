"""Vector helpers shared by the factor engines: unit-length movie vectors (an item-to-item cosine
is one matrix-vector product) and the ridge regression that folds in a new user."""

from __future__ import annotations

from typing import Any

import numpy as np


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """`matrix`'s rows scaled to unit length (float64); zero rows stay zero."""
    rows = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def cached_unit_rows(owner: Any, matrix: np.ndarray) -> np.ndarray:
    """`unit_rows(matrix)` of an engine's movie vectors, kept until the engine's next fit or load."""
    return owner._derived("unit_movie_rows", lambda: unit_rows(matrix))


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
    scale's midpoint) with a positive pull are named, at most three; else None.
    """
    seen = engine.seen_
    rated = seen.indices[seen.indptr[user_idx]: seen.indptr[user_idx + 1]]
    ratings = seen.data[seen.indptr[user_idx]: seen.indptr[user_idx + 1]].astype(np.float64)
    liked = ratings >= max(float(ratings.mean()), sum(engine.rating_range_) / 2)
    trust = evidence_weight(engine.ratings_per_movie())[rated]
    residual = ratings - np.asarray(expected, dtype=np.float64)
    out: list[dict[str, Any] | None] = []
    for m in engine.movies_.index_of(np.atleast_1d(np.asarray(movies))).tolist():
        if m < 0:
            out.append(None)
            continue
        similarity = unit[rated] @ unit[m]
        pull = np.where(liked, residual * similarity * trust, -np.inf)
        order = [j for j in np.argsort(-pull, kind="stable")[:3] if pull[j] > 0]
        because = [{"movie": int(engine.movies_.ids[rated[j]]), "rating": float(ratings[j]),
                    "similarity": float(similarity[j]), "contribution": float(pull[j])} for j in order]
        out.append({**because[0], "because": because} if because else None)
    return out


def ridge_fold_in(movie_vectors: np.ndarray, target: np.ndarray, penalty: np.ndarray) -> tuple[np.ndarray, float]:
    """A new user's vector and bias against frozen movie vectors: min |Xw + b - y|^2 + sum(penalty * [w, b]^2).

    `penalty` holds one weight per factor and one for the bias (the last entry).
    """
    design = np.hstack([np.asarray(movie_vectors, dtype=np.float64), np.ones((len(target), 1))])
    gram = design.T @ design + np.diag(np.asarray(penalty, dtype=np.float64))
    solution = np.linalg.solve(gram, design.T @ np.asarray(target, dtype=np.float64))
    return solution[:-1], float(solution[-1])
