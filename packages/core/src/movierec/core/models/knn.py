"""`user_knn` and `item_knn`: neighbourhood engines over sparse, centred ratings.

Similarities are cosines of centred rating vectors (`center="baseline"`: r - mu - b_user - b_movie,
Koren's baseline residuals; `center="mean"`: r minus the user's mean for user_knn or the movie's
mean for item_knn). They are computed in row blocks of a sparse product sized by a work budget, so
no dense users x users matrix ever exists, and only the `n_neighbors` best positive neighbours of
each row are kept (int32 + float32: 480,189 users x 40 neighbours is 154 MB).

A prediction is centre(u, i) + sum(w * residual) / (sum(|w|) + shrinkage) over the neighbours
that rated the movie; with no such neighbour it is centre(u, i), i.e. the baseline (or the mean).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.errors import DataError
from movierec.core.models.base import Recommender
from movierec.core.models.baseline import fit_biases, fold_in_user_bias
from movierec.core.models.neighbours import normalize_rows, top_neighbours

_PREDICT_CHUNK = 200_000  # pairs per vectorized step: bounds the (pairs x neighbours) temporaries


class _NeighbourKNN(Recommender):
    """What user_knn and item_knn share: centring, fallbacks, neighbour storage."""

    #: True when neighbours are users (rows of `seen_`), False when they are movies
    _by_user: bool = True

    def __init__(
        self,
        n_neighbors: int = 40,
        center: str = "baseline",
        shrinkage: float = 0.5,
        reg_user: float = 15.0,
        reg_movie: float = 10.0,
        block_budget: int = 8_000_000,
        max_shared: int | None = None,
        seed: int = 0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.center = center
        self.shrinkage = shrinkage
        self.reg_user = reg_user
        self.reg_movie = reg_movie
        self.block_budget = block_budget
        self.max_shared = max_shared
        self.seed = seed

    # ----------------------------------------------------------------- fitting
    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        if self.center not in ("baseline", "mean"):
            raise DataError(f"center must be 'baseline' or 'mean', got {self.center!r}")
        if int(self.n_neighbors) < 1:
            raise DataError(f"n_neighbors must be >= 1, got {self.n_neighbors!r}")
        seen = self.seen_.tocoo()
        mu, self.user_bias_, self.movie_bias_ = fit_biases(
            seen.row, seen.col, seen.data, len(self.users_), len(self.movies_),
            self.reg_user, self.reg_movie, 10,
        )
        self.global_mean_ = mu
        self.user_mean_ = _means(seen.row, seen.data, len(self.users_))
        self.movie_mean_ = _means(seen.col, seen.data, len(self.movies_))
        vectors = self._vectors()
        self.neighbors_, self.weights_ = top_neighbours(
            vectors, int(self.n_neighbors), int(self.block_budget), self.max_shared, self.seed
        )

    def _vectors(self) -> sp.csr_matrix:
        """Unit-length centred rating vectors of the compared entities (users or movies)."""
        cached = getattr(self, "_vectors_cache", None)
        if cached is None:
            seen = self.seen_.tocoo()
            residual = (seen.data - self._centre(seen.row, seen.col)).astype(np.float32)
            shape = self.seen_.shape
            matrix = sp.csr_matrix((residual, (seen.row, seen.col)), shape=shape)
            cached = normalize_rows(matrix if self._by_user else matrix.T.tocsr())
            self._vectors_cache = cached
        return cached

    def _centre(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        """The value ratings are centred on and predictions fall back to; -1 marks unknown ids."""
        user_idx = np.asarray(user_idx)
        movie_idx = np.asarray(movie_idx)
        known_user = user_idx >= 0
        known_movie = movie_idx >= 0
        u = np.maximum(user_idx, 0)
        m = np.maximum(movie_idx, 0)
        baseline = (
            self.global_mean_
            + np.where(known_user, self.user_bias_[u], 0.0)
            + np.where(known_movie, self.movie_bias_[m], 0.0)
        )
        if self.center == "baseline":
            return baseline
        if self._by_user:
            return np.where(known_user, self.user_mean_[u], baseline)
        return np.where(known_movie, self.movie_mean_[m], baseline)

    # ----------------------------------------------------------------- prediction
    def _rating_lookup(self) -> sp.csr_matrix:
        """Ratings shifted to be >= 1, so a stored zero never hides a rating."""
        cached = getattr(self, "_lookup_cache", None)
        if cached is None:
            cached = self.seen_.copy()
            cached.data = cached.data - self.rating_range_[0] + 1.0
            cached.sort_indices()
            self._lookup_cache = cached
        return cached

    def _ratings_at(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rating, present) for index pairs; both ids must be known."""
        shifted = np.asarray(self._rating_lookup()[user_idx, movie_idx]).ravel()
        present = shifted > 0
        return shifted + self.rating_range_[0] - 1.0, present

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        out = np.empty(len(user_idx), dtype=np.float64)
        for start in range(0, len(user_idx), _PREDICT_CHUNK):
            stop = start + _PREDICT_CHUNK
            out[start:stop] = self._predict_chunk(user_idx[start:stop], movie_idx[start:stop])
        return np.clip(out, *self.rating_range_)

    def _predict_chunk(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        centre = self._centre(user_idx, movie_idx)
        known = (user_idx >= 0) & (movie_idx >= 0)
        if not known.any():
            return centre
        users, movies = user_idx[known], movie_idx[known]
        owner = users if self._by_user else movies
        neighbours = self.neighbors_[owner]
        weights = self.weights_[owner].astype(np.float64)
        valid = neighbours >= 0
        k = neighbours.shape[1]
        if self._by_user:
            pair_users = np.where(valid, neighbours, 0).ravel()
            pair_movies = np.repeat(movies, k)
        else:
            pair_users = np.repeat(users, k)
            pair_movies = np.where(valid, neighbours, 0).ravel()
        rating, present = self._ratings_at(pair_users, pair_movies)
        present = present.reshape(-1, k) & valid
        residual = (rating - self._centre(pair_users, pair_movies)).reshape(-1, k)
        numerator = np.where(present, weights * residual, 0.0).sum(axis=1)
        denominator = np.where(present, np.abs(weights), 0.0).sum(axis=1)
        adjust = np.divide(numerator, denominator + self.shrinkage, out=np.zeros_like(numerator),
                           where=denominator > 0)
        centre[known] += adjust
        return centre

    def _combine(self, centre: np.ndarray, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        numerator = np.asarray(numerator, dtype=np.float64)  # bincount of nothing is int64
        denominator = np.asarray(denominator, dtype=np.float64)
        adjust = np.divide(numerator, denominator + self.shrinkage, out=np.zeros_like(numerator),
                           where=denominator > 0)
        return np.clip(centre + adjust, *self.rating_range_)

    # ----------------------------------------------------------------- persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {
            "neighbors": self.neighbors_, "weights": self.weights_,
            "user_bias": self.user_bias_, "movie_bias": self.movie_bias_,
            "user_mean": self.user_mean_, "movie_mean": self.movie_mean_,
        }

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.neighbors_, self.weights_ = state["neighbors"], state["weights"]
        self.user_bias_, self.movie_bias_ = state["user_bias"], state["movie_bias"]
        self.user_mean_, self.movie_mean_ = state["user_mean"], state["movie_mean"]


class UserKNN(_NeighbourKNN):
    """User-user kNN: a user's rating is moved by what their nearest neighbours thought."""

    name = "user_knn"

    _by_user = True

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        every = np.arange(len(self.movies_))
        return np.vstack([
            self._score_from_neighbours(self.neighbors_[i], self.weights_[i], self._centre(np.full(len(every), i), every))
            for i in user_idx
        ])

    def _score_from_neighbours(self, neighbours: np.ndarray, weights: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """All movies scored at once from the neighbours' rows: two sparse vector products."""
        valid = neighbours >= 0
        neighbours, weights = neighbours[valid], weights[valid].astype(np.float64)
        rows = self.seen_[neighbours].tocoo()
        residual = rows.data - self._centre(neighbours[rows.row], rows.col)
        w = weights[rows.row]
        n = len(self.movies_)
        numerator = np.bincount(rows.col, w * residual, minlength=n)
        denominator = np.bincount(rows.col, np.abs(w), minlength=n)
        return self._combine(centre, numerator, denominator)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        centre = self._new_user_centre(movie_idx, ratings)
        residual = ratings - centre[movie_idx]
        norm = np.sqrt((residual**2).sum())
        if norm == 0:
            return centre
        columns = self._vectors_by_movie()[:, movie_idx]
        similarity = np.asarray(columns @ (residual / norm)).ravel()
        best = np.argsort(-similarity, kind="stable")[: int(self.n_neighbors)]
        best = best[similarity[best] > 0]
        return self._score_from_neighbours(best.astype(np.int32), similarity[best], centre)

    def _new_user_centre(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Centre values of every movie for a user known only by a few ratings."""
        bias = fold_in_user_bias(self.global_mean_, self.movie_bias_, movie_idx, ratings, self.reg_user)
        baseline = self.global_mean_ + bias + self.movie_bias_
        if self.center == "baseline":
            return baseline
        return np.full(len(self.movies_), float(np.mean(ratings)))

    def _vectors_by_movie(self) -> sp.csc_matrix:
        cached = getattr(self, "_vectors_csc", None)
        if cached is None:
            cached = self._vectors_csc = self._vectors().tocsc()
        return cached

    def reasons(self, user: int, movies) -> list[dict | None]:
        """How many of the user's neighbours rated each movie, and their mean rating."""
        index = self._known_user(user)
        neighbours = self.neighbors_[index]
        neighbours = neighbours[neighbours >= 0]
        movie_idx = self.movies_.index_of(np.atleast_1d(np.asarray(movies)))
        out: list[dict | None] = []
        for m in movie_idx.tolist():
            if m < 0 or not len(neighbours):
                out.append(None)
                continue
            rating, present = self._ratings_at(neighbours, np.full(len(neighbours), m))
            count = int(present.sum())
            out.append({"neighbours": count, "of": int(len(neighbours)),
                        "mean_rating": float(rating[present].mean())} if count else None)
        return out

    def explain(self, user: int, movies) -> list[str | None]:
        """'3 of your 40 nearest neighbours rated it, 4.7 on average' per movie."""
        return [
            None if r is None else
            f"{r['neighbours']} of your {r['of']} nearest neighbours rated it, {r['mean_rating']:.1f} on average"
            for r in self.reasons(user, movies)
        ]


class ItemKNN(_NeighbourKNN):
    """Item-item kNN: a movie is scored by the user's ratings of its nearest movies."""

    name = "item_knn"

    _by_user = False

    def _neighbour_matrix(self) -> sp.csr_matrix:
        """movies x movies, row i holding the stored neighbours of movie i with their weights."""
        cached = getattr(self, "_neighbour_cache", None)
        if cached is None:
            n = len(self.movies_)
            valid = self.neighbors_ >= 0
            rows = np.repeat(np.arange(n), valid.sum(axis=1))
            cached = sp.csr_matrix(
                (self.weights_[valid].astype(np.float64), (rows, self.neighbors_[valid])), shape=(n, n)
            )
            self._neighbour_cache = cached
        return cached

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        every = np.arange(len(self.movies_))
        rows = [(self.seen_[int(i)], self._centre(np.full(len(every), i), every)) for i in user_idx]
        return np.vstack([self._score_rated(row.indices, row.data.astype(np.float64), centre) for row, centre in rows])

    def _score_rated(self, movie_idx: np.ndarray, ratings: np.ndarray, centre: np.ndarray) -> np.ndarray:
        residual = np.zeros(len(self.movies_))
        rated = np.zeros(len(self.movies_))
        residual[movie_idx] = ratings - centre[movie_idx]
        rated[movie_idx] = 1.0
        weights = self._neighbour_matrix()  # only positive similarities are kept: |w| = w
        return self._combine(centre, weights @ residual, weights @ rated)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        if self.center == "baseline":
            bias = fold_in_user_bias(self.global_mean_, self.movie_bias_, movie_idx, ratings, self.reg_user)
            centre = self.global_mean_ + bias + self.movie_bias_
        else:
            centre = self.movie_mean_.astype(np.float64)
        return self._score_rated(movie_idx, ratings, centre)

    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        # the stored neighbours are the top of the exact row: enough whenever k fits in them
        if k > int(self.n_neighbors) or self.max_shared is not None:
            return self._exact_similar_scores(movie_idx)
        scores = np.full(len(self.movies_), np.nan)
        valid = self.neighbors_[movie_idx] >= 0
        scores[self.neighbors_[movie_idx][valid]] = self.weights_[movie_idx][valid]
        return scores

    def _exact_similar_scores(self, movie_idx: int) -> np.ndarray:
        # the exact cosine row on demand: one movie's raters times their rating vectors
        vectors = self._vectors()
        by_user = getattr(self, "_by_user_cache", None)
        if by_user is None:
            by_user = self._by_user_cache = vectors.T.tocsr()
        scores = np.asarray((vectors[movie_idx] @ by_user).todense()).ravel().astype(np.float64)
        scores[scores <= 1e-9] = np.nan
        return scores

    def reasons(self, user: int, movies) -> list[dict | None]:
        """Per movie, the user's rated movie most similar to it: {movie, rating, similarity}."""
        index = self._known_user(user)
        row = self.seen_[index]
        rated = dict(zip(row.indices.tolist(), row.data.tolist()))
        # a reason names a movie the user liked: above their own mean and the scale's midpoint
        liked_from = max(self.user_mean_[index], sum(self.rating_range_) / 2)
        out: list[dict | None] = []
        for m in self.movies_.index_of(np.atleast_1d(np.asarray(movies))).tolist():
            best = None
            if m >= 0:
                for neighbour, weight in zip(self.neighbors_[m].tolist(), self.weights_[m].tolist()):
                    rating = rated.get(neighbour)
                    if rating is not None and rating >= liked_from and (best is None or weight > best[1]):
                        best = (neighbour, weight, rating)
            out.append(None if best is None else {
                "movie": int(self.movies_.ids[best[0]]), "similarity": float(best[1]), "rating": float(best[2])
            })
        return out


def _means(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    counts = np.bincount(index, minlength=n).astype(np.float64)
    sums = np.bincount(index, values.astype(np.float64), minlength=n)
    return np.divide(sums, counts, out=np.full(n, np.nan), where=counts > 0)
