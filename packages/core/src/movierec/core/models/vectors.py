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


def ridge_fold_in(movie_vectors: np.ndarray, target: np.ndarray, penalty: np.ndarray) -> tuple[np.ndarray, float]:
    """A new user's vector and bias against frozen movie vectors: min |Xw + b - y|^2 + sum(penalty * [w, b]^2).

    `penalty` holds one weight per factor and one for the bias (the last entry).
    """
    design = np.hstack([np.asarray(movie_vectors, dtype=np.float64), np.ones((len(target), 1))])
    gram = design.T @ design + np.diag(np.asarray(penalty, dtype=np.float64))
    solution = np.linalg.solve(gram, design.T @ np.asarray(target, dtype=np.float64))
    return solution[:-1], float(solution[-1])
