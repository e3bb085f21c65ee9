"""`ease`: Steck's Embarrassingly Shallow Autoencoder (2019), a closed-form item-item model.

With X the users x movies matrix (1 where a user rated a movie, or the rating when
`binary=False`), the weights are B = I - P diagMat(1 / diag(P)), P = (X'X + lambda I)^-1, so
diag(B) = 0 and column i of B is the ridge regression of movie i on every other movie. A user's
relevance score of movie i is X_u B[:, i]; a new user's scores are their row times B (fold-in).
The model ranks; it does not predict ratings.

Memory is movies^2 floats (`dtype`, float32 by default: 17,770 Netflix movies take 1.26 GB; the
inversion runs in place, so the peak is one such matrix plus a block). Only movies with
`min_movie_ratings` ratings are modelled, and beyond `max_movies` only the most-rated of them
(fitting then warns): the others are never recommended, and `dropped_movies_` and `note_` say so.

Defaults, chosen on ml-latest-small `user:0.25` with seed 7 (not the reported seed-42 split):
binary X with reg (EASE's lambda) 150-250 gave nDCG@10 0.407-0.409, rating-valued X at best 0.404; leaving
out movies with fewer than 5 ratings (9,724 -> 3,650 movies) moved nDCG@10 by under 0.001 and
cut the fit about 12x. Larger data wants a larger reg (it scales with X'X).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import lapack

from movierec.core.errors import DataError, UnknownMovieError
from movierec.core.models.base import Recommender
from movierec.core.models.params import renamed_params
from movierec.core.models.registry import register

log = logging.getLogger(__name__)

DTYPES = ("float32", "float64")
_BLOCK_CELLS = 16_000_000  # dense cells per block of the Gram product (128 MB in float64)
REASON_MOVIES = 3  # rated movies named in one reason


@register(family="classic", summary="EASE closed-form item-item weights (Steck 2019), ranking only")
class EASE(Recommender):
    """Ranks movies by X_u B, B the closed-form item-item weights (no rating predictions)."""

    name = "ease"

    @renamed_params(lambda_="reg")
    def __init__(
        self,
        reg: float = 200.0,
        binary: bool = True,
        min_movie_ratings: int = 5,
        max_movies: int = 20_000,
        dtype: str = "float32",
    ) -> None:
        self.reg = reg
        self.binary = binary
        self.min_movie_ratings = min_movie_ratings
        self.max_movies = max_movies
        self.dtype = dtype

    # ----------------------------------------------------------------- fitting
    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        if not float(self.reg) > 0:
            raise DataError(f"reg must be a positive number, got {self.reg!r}")
        if self.dtype not in DTYPES:
            raise DataError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if int(self.max_movies) < 1:
            raise DataError(f"max_movies must be >= 1, got {self.max_movies!r}")
        if int(self.min_movie_ratings) < 1:
            raise DataError(f"min_movie_ratings must be >= 1, got {self.min_movie_ratings!r}")
        counts = np.diff(self.seen_.tocsc().indptr)
        kept = self._kept_movies(counts)
        if not len(kept):
            raise DataError(f"ease: no movie has min_movie_ratings={self.min_movie_ratings} ratings")
        matrix = self._input_matrix()[:, kept]
        try:
            gram = gram_matrix(matrix, np.dtype(self.dtype))
        except MemoryError:
            size = len(kept) ** 2 * np.dtype(self.dtype).itemsize / 2**30
            raise DataError(
                f"ease: {len(kept):,} x {len(kept):,} {self.dtype} weights ({size:.2f} GiB) do not fit in memory; "
                f"lower max_movies (now {self.max_movies:,}) or raise min_movie_ratings"
            ) from None
        gram[np.diag_indices_from(gram)] += float(self.reg)
        self._set_state({"weights": ease_weights(gram), "kept": kept})

    def _kept_movies(self, counts: np.ndarray) -> np.ndarray:
        """Positions of the modelled movies: those with `min_movie_ratings`, at most the `max_movies` most rated."""
        eligible = np.flatnonzero(counts >= int(self.min_movie_ratings))
        limit = int(self.max_movies)
        if len(eligible) <= limit:
            return eligible
        # ties at the cut go to the lower position, so a refit on the same data keeps the same movies
        kept = np.sort(eligible[np.argsort(-counts[eligible], kind="stable")[:limit]])
        size = limit**2 * np.dtype(self.dtype).itemsize / 2**30
        message = (
            f"ease keeps the {limit:,} most-rated of {len(counts):,} movies (max_movies={limit:,}: "
            f"{size:.2f} GiB of {self.dtype} weights); {len(counts) - limit:,} movies with at most "
            f"{int(counts[np.setdiff1d(np.arange(len(counts)), kept)].max())} ratings are never recommended"
        )
        log.warning(message)
        warnings.warn(message, stacklevel=4)  # points at the caller of fit
        return kept

    def _input_matrix(self) -> sp.csr_matrix:
        """X: the seen matrix, as ones (`binary`) or as the ratings themselves."""
        matrix = self.seen_.astype(np.dtype(self.dtype))
        if self.binary:
            matrix.data[:] = 1.0
        return matrix

    # ----------------------------------------------------------------- state
    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_, "kept": self.kept_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.weights_ = np.asarray(state["weights"])
        self.kept_ = np.asarray(state["kept"], dtype=np.int64)
        n = len(self.movies_)
        # column of B for each movie position; -1 for movies left out (min_movie_ratings, max_movies)
        self.column_of_ = np.full(n, -1, dtype=np.int64)
        self.column_of_[self.kept_] = np.arange(len(self.kept_))
        self.dropped_movies_ = n - len(self.kept_)
        self.note_ = (
            f"modelled {len(self.kept_):,} of {n:,} movies (min_movie_ratings={self.min_movie_ratings}, "
            f"max_movies={self.max_movies}); the other {self.dropped_movies_:,} are never recommended"
            if self.dropped_movies_ else None
        )

    # ----------------------------------------------------------------- questions
    def _user_rows(self, user_idx: np.ndarray) -> sp.csr_matrix:
        """X rows of known users, restricted to the modelled movies."""
        rows = self.seen_[np.asarray(user_idx, dtype=np.int64)]
        rows = rows[:, self.kept_] if self.dropped_movies_ else rows
        rows = rows.astype(self.weights_.dtype)
        if self.binary:
            rows.data[:] = 1.0
        return rows

    def _full_width(self, scores: np.ndarray) -> np.ndarray:
        """Scores over modelled movies spread to every movie position; NaN for the rest."""
        scores = np.asarray(scores, dtype=np.float64)
        if not self.dropped_movies_:
            return scores
        out = np.full(scores.shape[:-1] + (len(self.movies_),), np.nan)
        out[..., self.kept_] = scores
        return out

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        """Relevance X_u B for a batch of known users (one sparse-dense product)."""
        return self._full_width(np.asarray(self._user_rows(user_idx) @ self.weights_))

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """A new user's relevance: their (binary or rating) row times the weights."""
        columns = self.column_of_[movie_idx]
        modelled = columns >= 0
        if not modelled.any():
            raise UnknownMovieError(
                f"none of the rated movies is among the {len(self.kept_):,} that ease models "
                f"(min_movie_ratings={self.min_movie_ratings}, max_movies={self.max_movies})"
            )
        values = np.ones(int(modelled.sum())) if self.binary else np.asarray(ratings, dtype=np.float64)[modelled]
        return self._full_width(values @ self.weights_[columns[modelled]].astype(np.float64))

    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        """Column B[:, i]: the movies whose watchers the model expects to watch movie i.

        B[j, i] = -P[j, i] / P[i, i], so the order within a column is that of the symmetric
        precision matrix; a row B[j, :] is scaled by 1 / P[i, i] per movie, which favours popular
        titles (on ml-latest-small it put Forrest Gump beside The Matrix, Heat beside King Kong).
        """
        column = int(self.column_of_[movie_idx])
        if column < 0:
            raise UnknownMovieError(
                f"movie {int(self.movies_.ids[movie_idx])} has too few ratings to be among the "
                f"{len(self.kept_):,} movies ease models (min_movie_ratings={self.min_movie_ratings}, "
                f"max_movies={self.max_movies})"
            )
        scores = self._full_width(self.weights_[:, column])
        scores[scores <= 0] = np.nan  # only movies it speaks for
        return scores

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """Per movie, the user's rated movies with the largest terms X_u[j] * B[j, i] of its score.

        Each dict: `because`, up to three {movie, rating, contribution} with a positive term,
        largest first, and `score`, the whole relevance; None when no term is positive.
        """
        index = self._known_user(user)
        row = self.seen_[index]
        rated_columns = self.column_of_[row.indices]
        modelled = rated_columns >= 0
        rated_columns = rated_columns[modelled]
        rated_ids = self.movies_.ids[row.indices[modelled]]
        rated_values = row.data[modelled].astype(np.float64)
        x = np.ones_like(rated_values) if self.binary else rated_values
        out: list[dict[str, Any] | None] = []
        for m in self.movies_.index_of(np.atleast_1d(np.asarray(movies))).tolist():
            column = int(self.column_of_[m]) if m >= 0 else -1
            terms = x * self.weights_[rated_columns, column].astype(np.float64) if column >= 0 else x[:0]
            order = [j for j in np.argsort(-terms, kind="stable")[:REASON_MOVIES] if terms[j] > 0]
            out.append({
                "because": [
                    {"movie": int(rated_ids[j]), "rating": float(rated_values[j]), "contribution": float(terms[j])}
                    for j in order
                ],
                "score": float(terms.sum()),
            } if order else None)
        return out


def gram_matrix(matrix: sp.csr_matrix, dtype: np.dtype) -> np.ndarray:
    """Dense X'X of a sparse users x movies matrix, built in column blocks of bounded size."""
    n = matrix.shape[1]
    gram = np.empty((n, n), dtype=dtype)
    transposed = matrix.T.tocsr()
    columns = matrix.tocsc()
    step = max(1, _BLOCK_CELLS // max(n, 1))
    for start in range(0, n, step):
        stop = min(start + step, n)
        gram[:, start:stop] = (transposed @ columns[:, start:stop]).toarray()
    return gram


def ease_weights(gram: np.ndarray) -> np.ndarray:
    """B = I - P diagMat(1/diag(P)), P = gram^-1, computed in place over `gram` (symmetric, positive definite)."""
    n = gram.shape[0]
    # a C-ordered symmetric matrix is its own Fortran-ordered transpose: LAPACK works on it in place
    potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (gram,))
    factor, info = potrf(gram.T, lower=False, clean=False, overwrite_a=True)
    if info != 0:
        raise DataError(f"ease: X'X + lambda I is not positive definite (LAPACK potrf info {info}); raise reg")
    inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise DataError(f"ease: inverting X'X + lambda I failed (LAPACK potri info {info}); raise reg")
    precision = np.ascontiguousarray(inverse.T)  # a view of `gram` when LAPACK worked in place
    _symmetrize_from_lower(precision)
    diagonal = np.diag(precision).copy()
    precision /= -diagonal[None, :]
    precision[np.diag_indices(n)] = 0.0
    return precision


def _symmetrize_from_lower(matrix: np.ndarray, block: int = 1024) -> None:
    """Copy the lower triangle onto the upper one, block by block (no n^2 index arrays)."""
    n = matrix.shape[0]
    for start in range(0, n, block):
        stop = min(start + block, n)
        # rows start:stop hold valid entries left of the diagonal; mirror them above it
        matrix[:start, start:stop] = matrix[start:stop, :start].T
        square = matrix[start:stop, start:stop]
        square[np.triu_indices(stop - start, 1)] = square.T[np.triu_indices(stop - start, 1)]
