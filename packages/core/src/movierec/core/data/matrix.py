"""Sparse user x movie matrices with id mappings both ways; never a dense pivot.

At Netflix scale (100M ratings, 480,189 x 17,770) everything here is one vectorized pass:
ids map to rows through a lookup table when they are small non-negative integers (a few MB),
else through a binary search of the sorted ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.errors import DataError

# ids up to this bound map through a dense lookup table (int32: 64 MB at most)
_TABLE_LIMIT = 1 << 24


class IdIndex:
    """Sorted unique ids; position i is the row (or column) of id `ids[i]`."""

    __slots__ = ("ids", "_table")

    def __init__(self, ids: np.ndarray | pd.Series | list[int]) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
            raise DataError("IdIndex: ids must be sorted and unique (use IdIndex.from_values)")
        self.ids = ids
        self._table: np.ndarray | None = None

    @classmethod
    def from_values(cls, values: np.ndarray | pd.Series | list[int]) -> IdIndex:
        """The distinct ids among `values` (any order, repeats allowed)."""
        values = np.asarray(values)
        if len(values) and np.issubdtype(values.dtype, np.integer):
            low, high = int(values.min()), int(values.max())
            if low >= 0 and high < _TABLE_LIMIT:
                # counting beats sorting 100M ids
                return cls(np.flatnonzero(np.bincount(values, minlength=high + 1)))
        return cls(np.unique(values.astype(np.int64)))

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"IdIndex({len(self.ids)} ids)"

    def index_of(self, values: np.ndarray | pd.Series | list[int]) -> np.ndarray:
        """Positions (int64) of ids; -1 where an id is unknown."""
        values = np.asarray(values)
        if values.dtype.kind not in "iu":
            values = values.astype(np.int64)
        if len(self.ids) == 0:
            return np.full(values.shape, -1, dtype=np.int64)
        table = self._lookup_table()
        if table is not None:
            inside = (values >= 0) & (values < len(table))
            return np.where(inside, table[np.where(inside, values, 0)], -1).astype(np.int64, copy=False)
        pos = np.minimum(np.searchsorted(self.ids, values), len(self.ids) - 1)
        return np.where(self.ids[pos] == values, pos, -1)

    def position(self, value: int) -> int:
        """Position of one id, or -1."""
        return int(self.index_of(np.array([value]))[0])

    def id_of(self, positions: np.ndarray | list[int]) -> np.ndarray:
        """Ids at positions (the inverse of index_of); a position out of range is an error."""
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions) and (positions.min() < 0 or positions.max() >= len(self.ids)):
            raise DataError(f"IdIndex.id_of: positions must be in 0..{len(self.ids) - 1}")
        return self.ids[positions]

    def __contains__(self, value: object) -> bool:
        try:
            return self.position(int(value)) >= 0  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return False

    def _lookup_table(self) -> np.ndarray | None:
        if self._table is None and self.ids[0] >= 0 and self.ids[-1] < _TABLE_LIMIT:
            table = np.full(int(self.ids[-1]) + 1, -1, dtype=np.int32)
            table[self.ids] = np.arange(len(self.ids), dtype=np.int32)
            self._table = table
        return self._table


@dataclass
class RatingMatrix:
    """A CSR user x movie matrix, the id mappings of its rows and columns, and what it left out."""

    matrix: sp.csr_matrix
    users: IdIndex
    movies: IdIndex
    dropped: int = 0  # ratings whose user or movie is outside the given indexes
    duplicates: int = 0  # repeated (user, movie) pairs; the last rating of each pair is kept

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape


def build_matrix(
    ratings: pd.DataFrame,
    users: IdIndex | None = None,
    movies: IdIndex | None = None,
    values: str | None = "rating",
    dtype: type = np.float32,
) -> RatingMatrix:
    """Build a CSR matrix from a ratings table (values=None puts 1.0 for every interaction).

    Rows and columns follow `users` / `movies` when given; ratings with ids outside them are
    left out and counted in `dropped` (a test fold against a train index needs exactly this).
    A (user, movie) pair rated twice keeps its last rating, counted in `duplicates`.
    """
    users = IdIndex.from_values(ratings["user"].to_numpy()) if users is None else users
    movies = IdIndex.from_values(ratings["movie"].to_numpy()) if movies is None else movies
    rows = users.index_of(ratings["user"].to_numpy())
    cols = movies.index_of(ratings["movie"].to_numpy())
    keep = (rows >= 0) & (cols >= 0)
    dropped = int(len(keep) - np.count_nonzero(keep))
    if dropped:
        rows, cols = rows[keep], cols[keep]
    if values is None:
        data = np.ones(len(rows), dtype=dtype)
    else:
        data = ratings[values].to_numpy(dtype=dtype)
        data = data[keep] if dropped else data
    shape = (len(users), len(movies))
    index_type = np.int32 if max(shape) < np.iinfo(np.int32).max else np.int64
    matrix = sp.csr_matrix(
        (data, (rows.astype(index_type, copy=False), cols.astype(index_type, copy=False))), shape=shape, dtype=dtype
    )
    duplicates = len(data) - matrix.nnz
    if duplicates:
        # the conversion summed repeated pairs; rebuild from the last occurrence of each
        pair = rows.astype(np.int64) * shape[1] + cols
        last = ~pd.Series(pair).duplicated(keep="last").to_numpy()  # hashing, not a sort
        matrix = sp.csr_matrix((data[last], (rows[last], cols[last])), shape=shape, dtype=dtype)
    matrix.sort_indices()
    return RatingMatrix(matrix, users, movies, dropped, int(duplicates))
