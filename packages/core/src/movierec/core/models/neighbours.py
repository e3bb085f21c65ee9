"""Blocked sparse top-k cosine search: each row's nearest rows without a dense rows x rows matrix.

Rows are processed in blocks whose sparse product is capped at a number of multiply-adds, and
each block keeps only its rows' best positive similarities, so memory is bounded by the block
budget plus the kept neighbours (int32 + float32 per neighbour), whatever the number of rows.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

_BUCKETS = 256  # similarity histogram resolution when picking each row's top k
_MAX_BLOCK_ROWS = 8192  # bounds the per-block histogram (rows x buckets counters)


def top_neighbours(
    vectors: sp.csr_matrix,
    n_neighbors: int,
    block_budget: int = 8_000_000,
    max_shared: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The `n_neighbors` most cosine-similar rows of each row (positive similarities only).

    `vectors` must have unit-length rows. Rows are processed in blocks whose sparse product has
    at most about `block_budget` multiply-adds, so memory stays bounded at any number of rows.
    The exact product costs sum(column count^2), which popular columns dominate (Netflix's most
    rated movie has 232,944 raters); `max_shared` caps every column at that many seeded random
    entries, scaled by count / max_shared so each cosine stays an unbiased estimate.
    Returns (neighbours int32, similarities float32), both rows x n_neighbors, padded with -1 / 0.
    """
    n_rows = vectors.shape[0]
    neighbours = np.full((n_rows, n_neighbors), -1, dtype=np.int32)
    weights = np.zeros((n_rows, n_neighbors), dtype=np.float32)
    transposed = vectors.T.tocsr()
    if max_shared is not None:
        transposed = _subsample_rows(transposed, int(max_shared), seed)
    pattern = vectors.copy()
    pattern.data = np.ones_like(pattern.data)
    # multiply-adds of row r's product = sum over its columns of how many rows share the column
    row_cost = np.asarray(pattern @ np.diff(transposed.indptr).astype(np.float64)).ravel()
    bounds = _blocks(row_cost, block_budget)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        block = (vectors[start:stop] @ transposed).tocsr()
        _keep_top(block, start, neighbours, weights)
    return neighbours, weights


def _subsample_rows(matrix: sp.csr_matrix, limit: int, seed: int) -> sp.csr_matrix:
    """Keep at most `limit` random entries per row, scaled up by count / limit (importance weights)."""
    counts = np.diff(matrix.indptr)
    if counts.max(initial=0) <= limit:
        return matrix
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    # a random rank within each row: sort by (row, random key)
    order = np.lexsort((rng.random(len(rows)), rows))
    rank = np.empty(len(rows), dtype=np.int64)
    rank[order] = np.arange(len(rows)) - matrix.indptr[rows[order]]
    keep = rank < limit
    scale = np.maximum(counts / limit, 1.0).astype(np.float32)
    data = matrix.data[keep] * scale[rows[keep]]
    return sp.csr_matrix((data, matrix.indices[keep], np.r_[0, np.cumsum(np.minimum(counts, limit))]),
                         shape=matrix.shape)


def _blocks(row_cost: np.ndarray, budget: int) -> np.ndarray:
    """Row boundaries such that each block's summed cost is about `budget` (at least one row)."""
    cumulative = np.cumsum(row_cost)
    bounds = [0]
    while bounds[-1] < len(row_cost):
        start = bounds[-1]
        already = cumulative[start - 1] if start else 0.0
        stop = int(np.searchsorted(cumulative, already + budget, side="right"))
        bounds.append(min(max(stop, start + 1), start + _MAX_BLOCK_ROWS))
    return np.array(bounds)


def _keep_top(block: sp.csr_matrix, start: int, neighbours: np.ndarray, weights: np.ndarray) -> None:
    """Write the best positive off-diagonal entries of each block row into the neighbour arrays."""
    n_block, k = block.shape[0], neighbours.shape[1]
    rows = np.repeat(np.arange(n_block, dtype=np.int64), np.diff(block.indptr))
    cols = block.indices
    values = block.data
    keep = (values > 1e-9) & (cols != rows + start)
    # sampled (max_shared) estimates can overshoot: a cosine is at most 1
    rows, cols, values = rows[keep], cols[keep], np.minimum(values[keep], 1.0)
    # a histogram per row finds the bucket holding its k-th best value; only entries from that
    # bucket up are sorted, which is a small share of a block at Netflix scale
    bucket = np.minimum((values * _BUCKETS).astype(np.int64), _BUCKETS - 1)
    histogram = np.bincount(rows * _BUCKETS + bucket, minlength=n_block * _BUCKETS).reshape(n_block, _BUCKETS)
    at_least = np.cumsum(histogram[:, ::-1], axis=1)  # entries in the top j+1 buckets
    enough = at_least[:, -1] >= k
    threshold = np.where(enough, _BUCKETS - 1 - np.argmax(at_least >= k, axis=1), 0)
    keep = bucket >= threshold[rows]
    rows, cols, values = rows[keep], cols[keep], values[keep]
    order = np.lexsort((-values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    counts = np.bincount(rows, minlength=n_block)
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    top = rank < k
    neighbours[rows[top] + start, rank[top]] = cols[top]
    weights[rows[top] + start, rank[top]] = values[top]


def normalize_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Scale rows to unit length (all-zero rows stay zero)."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ matrix)
