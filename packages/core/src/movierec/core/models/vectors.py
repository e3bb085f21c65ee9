"""Unit-length movie vectors, so an item-to-item cosine is one matrix-vector product."""

from __future__ import annotations

import numpy as np


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """`matrix`'s rows scaled to unit length (float64); zero rows stay zero."""
    rows = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def cached_unit_rows(owner: object, matrix: np.ndarray) -> np.ndarray:
    """`unit_rows(matrix)`, kept on `owner` until `matrix` is replaced (by a refit or a load)."""
    cached = getattr(owner, "_unit_rows_cache", None)
    if cached is None or cached[0] is not matrix:
        # keyed on the array itself: fit, _set_state and load all assign a new array
        cached = (matrix, unit_rows(matrix))
        owner._unit_rows_cache = cached  # type: ignore[attr-defined]
    return cached[1]
