"""Sparse user x movie matrices with id mappings both ways; never a dense pivot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True)
class IdIndex:
    """A sorted id array; position i is the row/column of id `ids[i]`."""

    ids: np.ndarray

    @classmethod
    def from_values(cls, values: np.ndarray | pd.Series) -> "IdIndex":
        return cls(np.unique(np.asarray(values)).astype(np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, values: np.ndarray | pd.Series | list[int]) -> np.ndarray:
        """Positions of ids; -1 where an id is unknown."""
        values = np.asarray(values, dtype=np.int64)
        pos = np.searchsorted(self.ids, values)
        pos = np.clip(pos, 0, max(len(self.ids) - 1, 0))
        found = (len(self.ids) > 0) & (self.ids[pos] == values) if len(self.ids) else np.zeros(len(values), bool)
        return np.where(found, pos, -1)

    def position(self, value: int) -> int:
        """Position of one id, or -1."""
        return int(self.index_of(np.array([value]))[0])

    def __contains__(self, value: object) -> bool:
        try:
            return self.position(int(value)) >= 0  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False


@dataclass
class RatingMatrix:
    """A CSR user x movie rating matrix and the id mappings of its rows and columns."""

    matrix: sp.csr_matrix
    users: IdIndex
    movies: IdIndex

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
    """Build a CSR matrix from a ratings table (values=None gives 1.0 for every interaction).

    Rows and columns follow `users` / `movies` when given (ratings with ids outside them are
    dropped, which is what a test fold against a train index needs); else the ids present.
    """
    users = users or IdIndex.from_values(ratings["user"].to_numpy())
    movies = movies or IdIndex.from_values(ratings["movie"].to_numpy())
    rows = users.index_of(ratings["user"].to_numpy())
    cols = movies.index_of(ratings["movie"].to_numpy())
    keep = (rows >= 0) & (cols >= 0)
    data = np.ones(int(keep.sum()), dtype=dtype) if values is None else ratings[values].to_numpy(dtype)[keep]
    matrix = sp.csr_matrix((data, (rows[keep], cols[keep])), shape=(len(users), len(movies)), dtype=dtype)
    matrix.sum_duplicates()
    return RatingMatrix(matrix, users, movies)
