"""Surprise's k-NN estimate, vectorized: the k most similar raters (or rated movies) per pair.

Surprise's `KNN*.estimate` builds a Python list of neighbours for every (user, movie) pair and
takes `heapq.nlargest(k)` of it. Here every pair's neighbours are gathered from one CSR matrix,
sorted once by (pair, similarity descending, neighbour ascending) and summed with `bincount`, which
reproduces Surprise's choice of neighbours, ties included, for a whole batch of pairs at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: neighbour entries gathered at once; bounds memory (about 40 bytes each)
CHUNK_ENTRIES = 2_000_000


@dataclass(frozen=True)
class NeighbourSums:
    """Per pair: sum of sim * term, sum of sim, and how many positive-similarity neighbours."""

    weighted: np.ndarray
    weights: np.ndarray
    count: np.ndarray


def neighbour_sums(
    by_target: sp.csr_matrix,
    sim: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    k: int,
    offset: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    target_offset: np.ndarray | None = None,
) -> NeighbourSums:
    """Aggregate the k nearest neighbours of x among the rows `by_target[y]` (Surprise's `yr[y]`).

    The term of neighbour x2 with rating r is (r - offset[x2] - target_offset[y]) / scale[x2]
    (KNNWithMeans, KNNWithZScore, KNNBaseline); only neighbours with positive similarity count.
    """
    n = len(x)
    weighted = np.zeros(n)
    weights = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    lengths = np.diff(by_target.indptr)[y]
    start = 0
    while start < n:
        # grow the chunk until it holds CHUNK_ENTRIES neighbour entries (at least one pair)
        stop = start + max(1, int(np.searchsorted(np.cumsum(lengths[start:]), CHUNK_ENTRIES, side="right")))
        _accumulate(by_target, sim, x[start:stop], y[start:stop], lengths[start:stop], k,
                    offset, scale, target_offset, weighted[start:stop], weights[start:stop], count[start:stop])
        start = stop
    return NeighbourSums(weighted, weights, count)


def _accumulate(
    by_target: sp.csr_matrix,
    sim: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    lengths: np.ndarray,
    k: int,
    offset: np.ndarray | None,
    scale: np.ndarray | None,
    target_offset: np.ndarray | None,
    weighted: np.ndarray,
    weights: np.ndarray,
    count: np.ndarray,
) -> None:
    total = int(lengths.sum())
    if total == 0:
        return
    pair = np.repeat(np.arange(len(x)), lengths)
    group_start = np.repeat(np.cumsum(lengths) - lengths, lengths)
    entry = np.repeat(by_target.indptr[y], lengths) + (np.arange(total) - group_start)
    neighbour = by_target.indices[entry]
    rating = by_target.data[entry].astype(np.float64)
    similarity = sim[x[pair], neighbour]
    # heapq.nlargest keeps the earlier of equal similarities: neighbour ascending breaks ties
    order = np.lexsort((neighbour, -similarity, pair))
    rank = np.arange(total) - group_start  # `pair` is already sorted, so group starts stay put
    pair, neighbour, rating, similarity = pair[order], neighbour[order], rating[order], similarity[order]
    keep = (rank < k) & (similarity > 0)
    pair, neighbour, rating, similarity = pair[keep], neighbour[keep], rating[keep], similarity[keep]
    term = rating
    if offset is not None:
        term = term - offset[neighbour]
    if target_offset is not None:
        term = term - target_offset[y[pair]]
    if scale is not None:
        term = term / scale[neighbour]
    n = len(x)
    weighted += np.bincount(pair, similarity * term, minlength=n)
    weights += np.bincount(pair, similarity, minlength=n)
    count += np.bincount(pair, minlength=n)


def rated_neighbour_reason(
    similarity: np.ndarray, terms: np.ndarray, ratings: np.ndarray, rated_ids: np.ndarray, k: int, liked_from: float
) -> dict | None:
    """Why an item-based k-NN estimate is high: the liked rated movies among its k nearest that raise it most.

    `similarity` and `terms` (the residual each rated movie contributes) are aligned with the
    user's rated movies; the k nearest are chosen as the estimate chooses them (positive
    similarity, equal ones by position). None when no liked movie raises the estimate.
    """
    nearest = np.argsort(-similarity, kind="stable")[:k]
    nearest = nearest[similarity[nearest] > 0]
    push = similarity[nearest] * terms[nearest]
    named = [j for j in np.argsort(-push, kind="stable") if push[j] > 0 and ratings[nearest[j]] >= liked_from][:3]
    because = [{"movie": int(rated_ids[nearest[j]]), "rating": float(ratings[nearest[j]]),
                "similarity": float(similarity[nearest[j]]), "contribution": float(push[j])} for j in named]
    return {**because[0], "because": because} if because else None
