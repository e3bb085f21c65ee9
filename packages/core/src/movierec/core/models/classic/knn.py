"""`user_knn` and `item_knn`: Koren's neighbourhood model over baseline residuals (Surprise's KNNBaseline).

Both engines compare one kind of entity: item_knn compares movies (by the users who rated both),
user_knn compares users (by the movies both rated). Ratings are centred on
`center="baseline"`, Koren's baseline mu + b_user + b_movie, or on `center="mean"`, the compared
entity's mean rating (each movie's for item_knn, each user's for user_knn). Similarity is the
shrunk correlation of those residuals over the common raters (`neighbours.shrunk_correlation`,
Surprise's `pearson_baseline`, `shrinkage` 100 as there).

Each entity keeps its `n_candidates` most similar entities, best first (int32 + float32 each).
A prediction for (user, movie) uses, among the movie's candidates, the `n_neighbors` most
similar that the user rated (user_knn: among the user's candidates, those who rated the movie):
centre + sum(s * residual) / (sum(s) + damping); with none, the centre alone (`fallback_rate`
counts how often). `damping` pulls predictions made from few or weakly similar neighbours
towards the centre (0.5 gains about 0.01 RMSE on ml-latest-small). With `damping=0` and
`n_candidates` >= the number of entities this is exactly Surprise's KNNBaseline; fewer
candidates trade a few fallbacks for memory and speed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.errors import DataError
from movierec.core.models.base import Recommender
from movierec.core.models.classic.baseline import fit_biases, fold_in_user_bias
from movierec.core.models.classic.neighbours import shared_columns, shrunk_correlation, top_neighbours
from movierec.core.models.params import renamed_params
from movierec.core.models.registry import register

_GATHER_ENTRIES = 2_000_000  # (pairs x candidates) looked up per vectorized step: bounds the temporaries


class _NeighbourKNN(Recommender):
    """What user_knn and item_knn share: centring, similarity, candidate lists, the prediction rule."""

    #: what a neighbour is: "movies" (item_knn) or "users" (user_knn)
    compares: ClassVar[str] = "movies"

    @renamed_params(seed="random_state")
    def __init__(
        self,
        n_neighbors: int = 40,
        center: str = "baseline",
        shrinkage: float = 100.0,
        n_candidates: int = 100,
        damping: float = 0.5,
        reg_user: float = 15.0,
        reg_movie: float = 10.0,
        bias_epochs: int = 10,
        block_budget: int = 8_000_000,
        max_shared: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.center = center
        self.shrinkage = shrinkage
        self.n_candidates = n_candidates
        self.damping = damping
        self.reg_user = reg_user
        self.reg_movie = reg_movie
        self.bias_epochs = bias_epochs
        self.block_budget = block_budget
        self.max_shared = max_shared
        self.random_state = random_state

    # ----------------------------------------------------------------- fitting
    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        if self.center not in ("baseline", "mean"):
            raise DataError(f"center must be 'baseline' or 'mean', got {self.center!r}")
        for name in ("n_neighbors", "n_candidates", "bias_epochs"):
            if int(getattr(self, name)) < 1:
                raise DataError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if float(self.shrinkage) < 0:
            raise DataError(f"shrinkage must be >= 0, got {self.shrinkage!r}")
        seen = self.seen_.tocoo()
        _, self.user_bias_, self.movie_bias_ = fit_biases(
            seen.row, seen.col, seen.data, len(self.users_), len(self.movies_),
            self.reg_user, self.reg_movie, int(self.bias_epochs),
        )
        self.user_mean_ = _means(seen.row, seen.data, len(self.users_))
        self.movie_mean_ = _means(seen.col, seen.data, len(self.movies_))
        self.neighbors_, self.weights_ = top_neighbours(
            self._residuals(), int(self.n_candidates), float(self.shrinkage), int(self.block_budget),
            self.max_shared, self.random_state,
        )

    def _residuals(self) -> sp.csr_matrix:
        """Centred ratings, one row per compared entity (movies x users for item_knn)."""
        seen = self.seen_.tocoo()
        residual = seen.data - self._centre(seen.row, seen.col)
        by_user = sp.csr_matrix((residual, (seen.row, seen.col)), shape=self.seen_.shape)
        return by_user if self.compares == "users" else sp.csr_matrix(by_user.T)

    def _oriented(self, first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(compared, other) from (user, movie), and back: Surprise's `switch` (its own inverse)."""
        return (first, second) if self.compares == "users" else (second, first)

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
        if self.compares == "users":
            return np.where(known_user, self.user_mean_[u], baseline)
        return np.where(known_movie, self.movie_mean_[m], baseline)

    # ----------------------------------------------------------------- prediction
    def _ratings_at(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rating, present) for known index pairs."""
        lookup = self.seen_
        shift = 0.0
        if self.rating_range_[0] <= 0:  # a stored 0 would read as absent: shift every rating above it
            shift = 1.0 - self.rating_range_[0]
            lookup = self._derived("shifted_ratings", lambda: _with_data(self.seen_, self.seen_.data + shift))
        found = np.asarray(lookup[user_idx, movie_idx], dtype=np.float64).ravel()
        return found - shift, found != 0

    def _neighbour_sums(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per known pair: sum(s * residual), sum(s) and how many neighbours, over the neighbours used."""
        compared, other = self._oriented(np.asarray(user_idx), np.asarray(movie_idx))
        n, width = len(compared), self.neighbors_.shape[1]
        numerator, denominator, count = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
        step = max(1, _GATHER_ENTRIES // width)
        for start in range(0, n, step):
            part = slice(start, start + step)
            candidates = self.neighbors_[compared[part]]
            valid = candidates >= 0
            users, movies = self._oriented(np.where(valid, candidates, 0).ravel(), np.repeat(other[part], width))
            rating, present = self._ratings_at(users, movies)
            present = present.reshape(-1, width) & valid
            # candidates are stored best first: the first n_neighbors present ones are the k nearest
            used = present & (np.cumsum(present, axis=1) <= int(self.n_neighbors))
            residual = (rating - self._centre(users, movies)).reshape(-1, width)
            weights = self.weights_[compared[part]].astype(np.float64)
            numerator[part] = np.where(used, weights * residual, 0.0).sum(axis=1)
            denominator[part] = np.where(used, weights, 0.0).sum(axis=1)
            count[part] = used.sum(axis=1)
        return numerator, denominator, count

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        user_idx, movie_idx = np.asarray(user_idx), np.asarray(movie_idx)
        estimate = self._centre(user_idx, movie_idx).astype(np.float64)
        known = (user_idx >= 0) & (movie_idx >= 0)
        numerator, denominator, _ = self._neighbour_sums(user_idx[known], movie_idx[known])
        estimate[known] += self._adjustment(numerator, denominator)
        return estimate

    def fallback_rate(self, users: Any, movies: Any) -> float:
        """Share of (users[i], movies[i]) pairs predicted by the centre alone (no neighbour, or an unknown id)."""
        self._check_fitted()
        user_idx = self.users_.index_of(np.atleast_1d(np.asarray(users)))
        movie_idx = self.movies_.index_of(np.atleast_1d(np.asarray(movies)))
        if len(user_idx) == 0:
            return 0.0
        known = (user_idx >= 0) & (movie_idx >= 0)
        _, _, count = self._neighbour_sums(user_idx[known], movie_idx[known])
        return float(((~known).sum() + (count == 0).sum()) / len(user_idx))

    def _adjustment(self, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        """sum(s * residual) / (sum(s) + damping): the move away from the centre, 0 without neighbours."""
        numerator = np.asarray(numerator, dtype=np.float64)  # bincount of nothing is int64
        denominator = np.asarray(denominator, dtype=np.float64)
        return np.divide(numerator, denominator + float(self.damping), out=np.zeros_like(numerator),
                         where=denominator > 0)

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

    def _folded_centre(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Centre values of every movie for a user known only by a few ratings."""
        if self.center == "mean":
            if self.compares == "movies":
                return self.movie_mean_.astype(np.float64)
            return np.full(len(self.movies_), float(np.mean(ratings)))
        bias = fold_in_user_bias(self.global_mean_, self.movie_bias_, movie_idx, ratings, self.reg_user)
        return self.global_mean_ + bias + self.movie_bias_


@register(family="classic", summary="user-user kNN (KNNBaseline): shrunk correlation of baseline residuals, "
          "the most similar users who rated the movie")
class UserKNN(_NeighbourKNN):
    """User-user kNN: a user's rating is moved by what the most similar users who rated the movie thought."""

    name = "user_knn"
    compares = "users"

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        every = np.arange(len(self.movies_))
        return np.vstack([
            self._score_from(self.neighbors_[i], self.weights_[i], self._centre(np.full(len(every), i), every))
            for i in np.asarray(user_idx)
        ])

    def _used_neighbours(self, candidates: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(candidate rank, movie, rating, weight) of every rating the prediction rule uses, by movie."""
        valid = candidates >= 0
        candidates, weights = candidates[valid], weights[valid].astype(np.float64)
        rows = sp.csr_matrix(self.seen_[candidates]).tocoo()
        order = np.lexsort((rows.row, rows.col))  # by movie, then candidate rank (best first)
        rank, movie, rating = rows.row[order], rows.col[order], rows.data[order].astype(np.float64)
        starts = np.r_[0, np.flatnonzero(np.diff(movie)) + 1]
        position = np.arange(len(movie)) - np.repeat(starts, np.diff(np.r_[starts, len(movie)]))
        keep = position < int(self.n_neighbors)
        return candidates[rank[keep]], movie[keep], rating[keep], weights[rank[keep]]

    def _score_from(self, candidates: np.ndarray, weights: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """Every movie scored from one user's candidates: the first n_neighbors who rated each movie."""
        users, movies, ratings, w = self._used_neighbours(candidates, weights)
        n = len(self.movies_)
        residual = ratings - self._centre(users, movies)
        numerator = np.bincount(movies, w * residual, minlength=n)
        denominator = np.bincount(movies, w, minlength=n)
        return centre + self._adjustment(numerator, denominator)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        centre = self._folded_centre(movie_idx, ratings)
        own = sp.csr_matrix((ratings - centre[movie_idx])[None, :])
        # the other users' residuals on the rated movies only: one column block of the seen matrix
        rated = sp.csr_matrix(self.seen_[:, movie_idx]).tocoo()
        residual = rated.data - self._centre(rated.row, movie_idx[rated.col])
        others = sp.csr_matrix((residual, (rated.row, rated.col)), shape=rated.shape)
        similarity = shrunk_correlation(own, shared_columns(others), float(self.shrinkage)).toarray().ravel()
        best = np.argsort(-similarity, kind="stable")[: int(self.n_candidates)]
        best = best[similarity[best] > 1e-9]
        return self._score_from(best.astype(np.int32), similarity[best], centre)

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """How many of the user's nearest neighbours who rated each movie rated it above expectation."""
        index = self._known_user(user)
        users, movie, ratings, w = self._used_neighbours(self.neighbors_[index], self.weights_[index])
        residual = ratings - self._centre(users, movie)
        out: list[dict[str, Any] | None] = []
        for m in self.movies_.index_of(np.atleast_1d(np.asarray(movies))).tolist():
            here = movie == m
            # a reason only where the neighbours pushed this movie up
            if m < 0 or not here.any() or float((w[here] * residual[here]).sum()) <= 0:
                out.append(None)
                continue
            count, mean = int(here.sum()), float(ratings[here].mean())
            out.append({"neighbours": count, "mean_rating": mean,
                        "text": f"{count} of the users most like you rated it, {mean:.1f} on average"})
        return out


@register(family="classic", summary="item-item kNN (KNNBaseline): shrunk correlation of baseline residuals, "
          "the user's most similar rated movies")
class ItemKNN(_NeighbourKNN):
    """Item-item kNN: a movie is scored by the user's ratings of the most similar movies they rated."""

    name = "item_knn"
    compares = "movies"

    def _candidate_slots(self) -> np.ndarray:
        """`neighbors_` with padding pointing one past the last movie (where a lookup finds NaN)."""
        return self._derived("candidate_slots", lambda: np.where(self.neighbors_ >= 0, self.neighbors_, len(self.movies_)))

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        every = np.arange(len(self.movies_))
        rows = []
        for i in np.asarray(user_idx):
            row = self.seen_[int(i)]
            centre = self._centre(np.full(len(every), i), every)
            rows.append(self._score_rated(row.indices, row.data.astype(np.float64), centre))
        return np.vstack(rows)

    def _lists_holding(self) -> sp.csr_matrix:
        """movies x movies: row j holds every movie whose candidate list has j, valued j's rank there + 1."""

        def build() -> sp.csr_matrix:
            n, width = self.neighbors_.shape
            valid = self.neighbors_ >= 0
            owner = np.repeat(np.arange(n), valid.sum(axis=1))
            rank = np.broadcast_to(np.arange(width), (n, width))[valid]
            return sp.csr_matrix((rank + 1, (self.neighbors_[valid], owner)), shape=(n, n))

        return self._derived("lists_holding", build)

    def _score_rated(self, movie_idx: np.ndarray, ratings: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """Every movie scored from one user's ratings: the n_neighbors most similar rated candidates each.

        Only the candidate lists that hold a rated movie are read (the rows of `_lists_holding`),
        so the work follows the user's ratings, not the catalogue size.
        """
        n, k = len(self.movies_), int(self.n_neighbors)
        holding = self._lists_holding()
        if (holding.indptr[movie_idx + 1] - holding.indptr[movie_idx]).sum() > self.neighbors_.size // 8:
            return self._score_rated_dense(movie_idx, ratings, centre)
        entries = holding[movie_idx].tocoo()
        source, owner, rank = entries.row, entries.col, entries.data.astype(np.int64) - 1
        crowded = np.bincount(owner, minlength=n)[owner] > k
        if crowded.any():  # a movie with more than k rated candidates keeps its k best ranked
            order = np.flatnonzero(crowded)
            order = order[np.lexsort((rank[order], owner[order]))]
            grouped = owner[order]
            starts = np.r_[0, np.flatnonzero(np.diff(grouped)) + 1]
            position = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
            keep = np.ones(len(owner), dtype=bool)
            keep[order[position >= k]] = False
            source, owner, rank = source[keep], owner[keep], rank[keep]
        weights = self.weights_[owner, rank].astype(np.float64)
        residual = (ratings - centre[movie_idx])[source]
        numerator = np.bincount(owner, weights * residual, minlength=n)
        denominator = np.bincount(owner, weights, minlength=n)
        return centre + self._adjustment(numerator, denominator)

    def _score_rated_dense(self, movie_idx: np.ndarray, ratings: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """`_score_rated` for a user who rated much of the catalogue: one pass over every candidate list.

        Lists are ordered best first, so a running count of rated candidates along each list keeps
        the n_neighbors best; the cost is the size of `neighbors_`, whatever the number of ratings.
        """
        n = len(self.movies_)
        slots = self._candidate_slots()
        rated = np.zeros(n + 1, dtype=bool)
        rated[movie_idx] = True
        residual = np.zeros(n + 1)
        residual[movie_idx] = ratings - centre[movie_idx]
        hit = rated[slots]
        weights = np.where(hit & (np.cumsum(hit, axis=1) <= int(self.n_neighbors)), self.weights_.astype(np.float64), 0.0)
        numerator = np.einsum("ij,ij->i", weights, residual[slots])
        return centre + self._adjustment(numerator, weights.sum(axis=1))

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        return self._score_rated(movie_idx, ratings, self._folded_centre(movie_idx, ratings))

    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        # the stored candidates are the top of the exact row: enough whenever k fits in them
        if k > self.neighbors_.shape[1] or self.max_shared is not None:
            return self._exact_similar_scores(movie_idx)
        scores = np.full(len(self.movies_), np.nan)
        valid = self.neighbors_[movie_idx] >= 0
        scores[self.neighbors_[movie_idx][valid]] = self.weights_[movie_idx][valid]
        return scores

    def _exact_similar_scores(self, movie_idx: int) -> np.ndarray:
        """One movie's shrunk correlation with every movie, computed on demand."""
        residuals = self._derived("residuals", self._residuals)
        columns = self._derived("shared_columns", lambda: shared_columns(residuals))
        row = shrunk_correlation(residuals[movie_idx], columns, float(self.shrinkage))
        scores = row.toarray().ravel()
        scores[scores <= 1e-9] = np.nan
        return scores

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """Per movie, the rated neighbours that raised its score most: {movie, rating, similarity, because}.

        Only neighbours the prediction used count, weighted by similarity x residual; a reason
        names movies the user liked (above their own mean and the scale's midpoint), else None.
        """
        index = self._known_user(user)
        row = self.seen_[index]
        rating_of = np.full(len(self.movies_) + 1, np.nan)  # slot n: padding of the candidate lists
        rating_of[row.indices] = row.data
        expected = self._centre(np.full(len(self.movies_) + 1, index), np.r_[np.arange(len(self.movies_)), -1])
        liked_from = max(self.user_mean_[index], sum(self.rating_range_) / 2)
        out: list[dict[str, Any] | None] = []
        for m in self.movies_.index_of(np.atleast_1d(np.asarray(movies))).tolist():
            if m < 0:
                out.append(None)
                continue
            slots = self._candidate_slots()[m]
            used = np.flatnonzero(~np.isnan(rating_of[slots]))[: int(self.n_neighbors)]  # as the prediction does
            ratings, weights = rating_of[slots[used]], self.weights_[m][used].astype(np.float64)
            push = weights * (ratings - expected[slots[used]])
            named = [j for j in np.argsort(-push, kind="stable") if push[j] > 0 and ratings[j] >= liked_from][:3]
            because = [{"movie": int(self.movies_.ids[slots[used[j]]]), "rating": float(ratings[j]),
                        "similarity": float(weights[j]), "contribution": float(push[j])} for j in named]
            out.append({**because[0], "because": because} if because else None)
        return out


def _with_data(matrix: sp.csr_matrix, data: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)


def _means(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    counts = np.bincount(index, minlength=n).astype(np.float64)
    sums = np.bincount(index, values.astype(np.float64), minlength=n)
    return np.divide(sums, counts, out=np.full(n, np.nan), where=counts > 0)
