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

The stars count: in the binary X a liked rating is 1 and a disliked one (below the user's
`liked_threshold`: their own mean, kept between the scale's middle and its 3/4 point) is
`disliked` (0.7 by default: a disliked movie still says what the user watches, with less
weight), in fitting and in fold-in alike, and a disliked movie is never named as a reason. A
linear model gives a user who only dislikes the same order as one who likes the same movies, so
a user without a liked movie gets the most-rated movies instead (`_no_liked_fallback`): five
sci-fi films rated 1 star no longer give the list that five rated 5 give.
On ml-latest-small `user:0.25` seed 42, nDCG@10 with every test movie relevant / with test
movies rated >= 4: with reg auto, disliked=0.7 0.4102 / 0.3386 and 0.6 0.4080 / 0.3435; with
reg 200, disliked=1 (every rating a like, the earlier model) 0.4080 / 0.3182, 0.8 0.4111 /
0.3338, 0.6 0.4084 / 0.3437, 0.4 0.4014 / 0.3480 and 0 (only liked ratings) 0.3733 / 0.3356.

`reg="auto"` (the default) picks the regularisation from LAMBDA_GRID: each value is fitted
on a fixed, seeded 80 % of every user's training ratings and scored by nDCG@10 on the other
20 % (at most AUTO_USERS users), and the best is used on all of them. The best value moves with the data: about 200 on
ml-latest-small, 500 or more on smaller, denser sets.

Other defaults, chosen on ml-latest-small `user:0.25` with seed 7 (not the reported seed-42
split): binary X with reg 150-250 gave nDCG@10 0.407-0.409, rating-valued X at best 0.404;
leaving out movies with fewer than 5 ratings (9,724 -> 3,650 movies) moved nDCG@10 by under
0.001 and cut the fit about 12x.
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
from movierec.core.models import vectors
from movierec.core.models.base import Recommender
from movierec.core.models.params import renamed_params
from movierec.core.models.registry import register

log = logging.getLogger(__name__)

DTYPES = ("float32", "float64")
_BLOCK_CELLS = 16_000_000  # dense cells per block of the Gram product (128 MB in float64)
REASON_MOVIES = 3  # rated movies named in one reason
LAMBDA_GRID = (100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0)
AUTO_FRACTION = 0.2  # share of each user's training ratings scored when reg="auto"
AUTO_USERS = 2_000  # users scored per reg value (bounds the scoring time on large data)
AUTO_SEED = 0  # the held-out slice is the same on every fit of the same data
# ml-latest-small user:0.25 seed 42, reg auto: nDCG@10 0.4102 (all test movies), 0.3386 (rated >= 4)
DISLIKED_DEFAULT = 0.7


@register(family="classic", summary="EASE closed-form item-item weights (Steck 2019), ranking only")
class EASE(Recommender):
    """Ranks movies by X_u B, B the closed-form item-item weights (no rating predictions)."""

    name = "ease"

    @renamed_params(lambda_="reg")
    def __init__(
        self,
        reg: float | str = "auto",
        binary: bool = True,
        disliked: float = DISLIKED_DEFAULT,
        min_movie_ratings: int = 5,
        max_movies: int = 20_000,
        dtype: str = "float32",
    ) -> None:
        self.reg = reg
        self.binary = binary
        self.disliked = disliked
        self.min_movie_ratings = min_movie_ratings
        self.max_movies = max_movies
        self.dtype = dtype

    # ----------------------------------------------------------------- fitting
    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        if self.reg != "auto" and not (isinstance(self.reg, (int, float)) and float(self.reg) > 0):
            raise DataError(f"reg must be a positive number or 'auto', got {self.reg!r}")
        if not (isinstance(self.disliked, (int, float)) and -1.0 <= float(self.disliked) <= 1.0):
            raise DataError(f"disliked must be a number in [-1, 1] (the weight of a disliked rating), got {self.disliked!r}")
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
        matrix = self._input_matrix(self.seen_)[:, kept]
        scores = np.empty(0)
        if self.reg == "auto":
            lambda_, scores = self._auto_reg(matrix)
        else:
            lambda_ = float(self.reg)
        gram = self._gram(matrix, len(kept))
        gram[np.diag_indices_from(gram)] += lambda_
        self._set_state({"weights": ease_weights(gram), "kept": kept, "lambda": np.array([lambda_]),
                         "lambda_scores": scores})

    def _gram(self, matrix: sp.csr_matrix, n_kept: int) -> np.ndarray:
        try:
            return gram_matrix(matrix, np.dtype(self.dtype))
        except MemoryError:
            size = n_kept**2 * np.dtype(self.dtype).itemsize / 2**30
            raise DataError(
                f"ease: {n_kept:,} x {n_kept:,} {self.dtype} weights ({size:.2f} GiB) do not fit in memory; "
                f"lower max_movies (now {self.max_movies:,}) or raise min_movie_ratings"
            ) from None

    def _auto_reg(self, matrix: sp.csr_matrix) -> tuple[float, np.ndarray]:
        """The LAMBDA_GRID value with the best nDCG@10 on a held-out slice of each user's ratings.

        Returns it and the nDCG@10 of every grid value (in grid order).
        """
        matrix = matrix.tocsr()
        rng = np.random.default_rng(AUTO_SEED)
        held = rng.random(matrix.nnz) < AUTO_FRACTION
        per_user = np.diff(matrix.indptr)
        row_of = np.repeat(np.arange(matrix.shape[0]), per_user)
        held &= np.repeat(per_user >= 5, per_user)  # a user keeps enough ratings to be scored on
        fitted = sp.csr_matrix((np.where(held, 0.0, matrix.data), matrix.indices.copy(), matrix.indptr.copy()),
                               shape=matrix.shape)
        fitted.eliminate_zeros()
        # relevant: the held-out movies the user liked (those X holds as 1)
        relevant = held & (matrix.data > 0.999)
        users = np.unique(row_of[relevant])
        if len(users) == 0 or fitted.nnz == 0:
            return LAMBDA_GRID[len(LAMBDA_GRID) // 2], np.full(len(LAMBDA_GRID), np.nan)
        if len(users) > AUTO_USERS:
            users = np.sort(rng.choice(users, AUTO_USERS, replace=False))
        def part(mask: np.ndarray) -> sp.csr_matrix:
            rows = sp.csr_matrix((mask.astype(np.float64), matrix.indices, matrix.indptr), shape=matrix.shape)[users]
            rows.eliminate_zeros()
            return rows

        targets, trained = part(relevant), part(~held)
        rows = fitted[users]
        gram = self._gram(fitted, matrix.shape[1])
        scores = []
        for lambda_ in LAMBDA_GRID:
            trial = gram.copy()
            trial[np.diag_indices_from(trial)] += lambda_
            predicted = np.asarray(rows @ ease_weights(trial), dtype=np.float64)
            del trial
            scores.append(_ndcg_at_10(predicted, trained, targets))
        best = int(np.argmax(scores))
        return LAMBDA_GRID[best], np.asarray(scores)

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

    def _input_matrix(self, seen: sp.csr_matrix) -> sp.csr_matrix:
        """X of some users' rows: 1 per liked and `disliked` per disliked rating (`binary`), or the ratings."""
        matrix = seen.astype(np.dtype(self.dtype))
        if self.binary:
            rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
            matrix.data[:] = self._input_values(rows, seen.data)
        return matrix

    def _input_values(self, rows: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """X's values for ratings of users `rows` (0..n-1 codes): 1 when liked, else `disliked`."""
        liked = vectors.liked_ratings(rows, ratings, self.rating_range_)
        return np.where(liked, 1.0, float(self.disliked))

    # ----------------------------------------------------------------- state
    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_, "kept": self.kept_, "lambda": np.array([self.reg_used_]),
                "lambda_scores": self.reg_scores_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.weights_ = np.asarray(state["weights"])
        self.kept_ = np.asarray(state["kept"], dtype=np.int64)
        #: the regularisation fitted with (the grid's choice, scaled, when reg="auto")
        # folders saved before the choice was recorded hold only weights: their reg is the parameter
        fitted_with = state["lambda"] if "lambda" in state else [self.reg if self.reg != "auto" else np.nan]
        self.reg_used_ = float(np.asarray(fitted_with, dtype=np.float64).reshape(-1)[0])
        #: nDCG@10 of each LAMBDA_GRID value on the held-out slice (empty unless reg="auto")
        self.reg_scores_ = np.asarray(state.get("lambda_scores", np.empty(0)), dtype=np.float64)
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
        rows = self._input_matrix(self.seen_[np.asarray(user_idx, dtype=np.int64)])
        rows = rows[:, self.kept_] if self.dropped_movies_ else rows
        return rows.astype(self.weights_.dtype)

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
        rows = self._user_rows(user_idx)
        scores = self._full_width(np.asarray(rows @ self.weights_))
        if self.binary:
            likes = np.asarray((rows >= 0.999).sum(axis=1)).ravel()
            scores[likes == 0] = self._no_liked_fallback()
        return scores

    def _no_liked_fallback(self) -> np.ndarray:
        """Scores for a user without a liked movie: each modelled movie's share of the training ratings.

        X_u B of a user who only dislikes is X_u B of one who likes the same movies, times
        `disliked`: the same order. Their dislikes say what not to offer, not what to; the
        most-rated movies are the answer that assumes nothing about their taste.
        """
        counts = self.ratings_per_movie().astype(np.float64)
        return self._full_width(counts[self.kept_] / max(counts.sum(), 1.0))

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """A new user's relevance: their row (liked 1, disliked `disliked`, or the ratings) times the weights."""
        ratings = np.asarray(ratings, dtype=np.float64)
        inputs = self._input_values(np.zeros(len(ratings), np.int64), ratings) if self.binary else ratings
        columns = self.column_of_[movie_idx]
        modelled = columns >= 0
        if not modelled.any():
            raise UnknownMovieError(
                f"none of the rated movies is among the {len(self.kept_):,} that ease models "
                f"(min_movie_ratings={self.min_movie_ratings}, max_movies={self.max_movies})"
            )
        values = inputs[modelled]
        if self.binary and not (values >= 0.999).any():
            return self._no_liked_fallback()
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

        Each dict: `because`, up to three liked {movie, rating, contribution} with a positive
        term, largest first, and `score`, the whole relevance; None when no liked movie's term is
        positive. A disliked movie is never a reason, whatever its term.
        """
        index = self._known_user(user)
        row = self.seen_[index]
        rated_columns = self.column_of_[row.indices]
        modelled = rated_columns >= 0
        rated_columns = rated_columns[modelled]
        rated_ids = self.movies_.ids[row.indices[modelled]]
        rated_values = row.data[modelled].astype(np.float64)
        liked = vectors.liked_ratings(np.zeros(row.nnz, np.int64), row.data, self.rating_range_)[modelled]
        x = self._input_values(np.zeros(row.nnz, np.int64), row.data)[modelled] if self.binary else rated_values
        out: list[dict[str, Any] | None] = []
        for m in self.movies_.index_of(np.atleast_1d(np.asarray(movies))).tolist():
            column = int(self.column_of_[m]) if m >= 0 else -1
            terms = x * self.weights_[rated_columns, column].astype(np.float64) if column >= 0 else x[:0]
            terms = np.where(liked, terms, -np.inf) if column >= 0 else terms
            order = [j for j in np.argsort(-terms, kind="stable")[:REASON_MOVIES] if terms[j] > 0]
            out.append({
                "because": [
                    {"movie": int(rated_ids[j]), "rating": float(rated_values[j]), "contribution": float(terms[j])}
                    for j in order
                ],
                "score": float((x * self.weights_[rated_columns, column]).sum()),
            } if order else None)
        return out


def _ndcg_at_10(predicted: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix) -> float:
    """Mean binary-gain nDCG@10 of score rows against relevant rows, seen movies left out."""
    predicted = predicted.copy()
    predicted[seen.nonzero()] = -np.inf
    top = np.argpartition(-predicted, 10, axis=1)[:, :10]
    order = np.take_along_axis(top, np.argsort(-np.take_along_axis(predicted, top, axis=1), axis=1), axis=1)
    gains = np.asarray(relevant[np.arange(len(order))[:, None], order].todense()) > 0
    discount = 1.0 / np.log2(np.arange(2, 12))
    ideal = np.cumsum(discount)[np.minimum(np.diff(relevant.indptr), 10) - 1]
    return float(np.mean((gains * discount).sum(axis=1) / ideal))


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
