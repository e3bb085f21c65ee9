"""Blocked sparse top-k search over shrunk correlations: each row's most similar rows, no dense rows x rows matrix.

The similarity of two rows a and b is Surprise's `pearson_baseline`: the correlation of their
(centred) values over the columns both have, shrunk by that support n (Koren 2010):

    sim(a, b) = sum(e_a * e_b) / sqrt(sum(e_a^2) * sum(e_b^2)) * (n - 1) / (n - 1 + shrinkage)

with every sum over the n shared columns, so two movies with one common rater get 0, whatever
that rater thought. Rows are processed in blocks whose four sparse products (the three sums
and the support) are capped at a number of multiply-adds, and each block keeps only its rows'
best positive similarities, so memory is bounded by the block budget plus the kept neighbours
(int32 + float32 per neighbour), whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

_BUCKETS = 256  # similarity histogram resolution when picking each row's top k
_MAX_BLOCK_ROWS = 8192  # bounds the per-block histogram (rows x buckets counters)


@dataclass(frozen=True)
class SharedColumns:
    """The transposed matrix (columns x rows) in the three forms a correlation block multiplies by."""

    values: sp.csr_matrix  # e
    squares: sp.csr_matrix  # e^2
    present: sp.csr_matrix  # 1 where a value exists (also an explicit 0.0)


def shared_columns(matrix: sp.csr_matrix, max_shared: int | None = None, seed: int = 0) -> SharedColumns:
    """`matrix` (rows x columns) transposed for `shrunk_correlation`; `max_shared` caps each column's entries.

    The exact products cost sum(column count^2), which popular columns dominate (Netflix's most
    rated movie has 232,944 raters); `max_shared` keeps at most that many seeded random entries
    per column, weighted by count / max_shared so every sum stays an unbiased estimate.
    """
    transposed = sp.csr_matrix(matrix.T)
    transposed.sort_indices()
    weight = np.ones(transposed.nnz, dtype=np.float64)
    if max_shared is not None:
        transposed, weight = _subsample_rows(transposed, int(max_shared), seed)
    values = transposed.data.astype(np.float64)

    def with_data(data: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((data, transposed.indices, transposed.indptr), shape=transposed.shape)

    return SharedColumns(with_data(values * weight), with_data(values**2 * weight), with_data(weight))


def shrunk_correlation(rows: sp.csr_matrix, columns: SharedColumns, shrinkage: float) -> sp.csr_matrix:
    """Shrunk correlation of each of `rows` with every row of the matrix `columns` came from.

    Entries exist where the two rows share at least one column; zero or negative ones included.
    """
    rows = sp.csr_matrix(rows, dtype=np.float64)
    present = _with_data(rows, np.ones(rows.nnz))
    squares = _with_data(rows, rows.data**2)
    support = sp.csr_matrix(present @ columns.present)
    sums = [sp.csr_matrix(rows @ columns.values), sp.csr_matrix(squares @ columns.present),
            sp.csr_matrix(present @ columns.squares)]
    product, left, right = _aligned(support, sums)
    # in place, as these arrays hold every co-rated pair of the block
    scale = np.multiply(left, right, out=left)
    np.sqrt(scale, out=scale)
    similarity = np.divide(product, scale, out=product, where=scale > 0)
    similarity[scale <= 0] = 0.0
    shared = support.data - 1.0
    damped = shared + shrinkage
    np.divide(shared, damped, out=shared, where=damped > 0)
    shared[damped <= 0] = 0.0
    similarity *= shared
    return sp.csr_matrix((similarity, support.indices, support.indptr), shape=support.shape)


def top_neighbours(
    matrix: sp.csr_matrix,
    n_neighbors: int,
    shrinkage: float = 100.0,
    block_budget: int = 8_000_000,
    max_shared: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The `n_neighbors` rows most similar to each row of `matrix` (shrunk correlation, positive only).

    Rows are processed in blocks whose products have at most about `block_budget` multiply-adds,
    so memory stays bounded at any number of rows. Returns (neighbours int32, similarities
    float32), both rows x n_neighbors, best first, padded with -1 / 0.
    """
    matrix = sp.csr_matrix(matrix)
    n_rows = matrix.shape[0]
    neighbours = np.full((n_rows, n_neighbors), -1, dtype=np.int32)
    weights = np.zeros((n_rows, n_neighbors), dtype=np.float32)
    columns = shared_columns(matrix, max_shared, seed)
    pattern = _with_data(matrix, np.ones(matrix.nnz))
    # multiply-adds of row r's products: 4 x (sum over its columns of how many rows share the column)
    row_cost = 4.0 * np.asarray(pattern @ np.diff(columns.present.indptr).astype(np.float64)).ravel()
    bounds = _blocks(row_cost, block_budget)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        _keep_top(shrunk_correlation(matrix[start:stop], columns, shrinkage), start, neighbours, weights)
    return neighbours, weights


def _with_data(matrix: sp.csr_matrix, data: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)


def _keys(matrix: sp.csr_matrix) -> np.ndarray:
    """row * n_columns + column of each stored entry (ascending for sorted indices)."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return rows * matrix.shape[1] + matrix.indices


def _aligned(support: sp.csr_matrix, sums: list[sp.csr_matrix]) -> list[np.ndarray]:
    """Each of `sums`' values at the support's entries (0 where a product dropped an entry that summed to 0).

    Products of matrices with the same patterns store their entries in the same order, so the
    data arrays line up as they are unless a product dropped a zero; only then are keys matched.
    """
    if all(np.array_equal(s.indptr, support.indptr) and np.array_equal(s.indices, support.indices) for s in sums):
        return [np.asarray(s.data, dtype=np.float64) for s in sums]
    support.sort_indices()
    keys = _keys(support)
    out = []
    for matrix in sums:
        values = np.zeros(len(keys))
        if matrix.nnz:
            matrix.sort_indices()
            values[np.searchsorted(keys, _keys(matrix))] = matrix.data
        out.append(values)
    return out


def _subsample_rows(matrix: sp.csr_matrix, limit: int, seed: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """At most `limit` random entries per row, and each kept entry's weight count / limit (importance weights)."""
    counts = np.diff(matrix.indptr)
    if counts.max(initial=0) <= limit:
        return matrix, np.ones(matrix.nnz)
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    # a random rank within each row: sort by (row, random key)
    order = np.lexsort((rng.random(len(rows)), rows))
    rank = np.empty(len(rows), dtype=np.int64)
    rank[order] = np.arange(len(rows)) - matrix.indptr[rows[order]]
    keep = rank < limit
    scale = np.maximum(counts / limit, 1.0)
    kept = sp.csr_matrix((matrix.data[keep], matrix.indices[keep], np.r_[0, np.cumsum(np.minimum(counts, limit))]),
                         shape=matrix.shape)
    return kept, scale[rows[keep]]


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
    # sampled (max_shared) estimates can overshoot: a correlation is at most 1
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
    # best first; equal similarities by lower position, so the lists repeat across block sizes
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    counts = np.bincount(rows, minlength=n_block)
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    top = rank < k
    neighbours[rows[top] + start, rank[top]] = cols[top]
    weights[rows[top] + start, rank[top]] = values[top]
