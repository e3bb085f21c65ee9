"""`time_item_knn`: item-item kNN over the residuals of the time-aware baseline, favouring the same sitting.

    r(u, i, t) = time_baseline(u, i, t) + sum_j w_j e_uj / (sum_j w_j + damping),  w_j = s_ij d_j

e_uj = r_uj - time_baseline(u, j, t_uj) is what the time-aware baseline (see `time_baseline`)
leaves of the user's rating of a neighbour j on its own day, so the day's mood and the movie's
period are taken out before movies are compared. s_ij is the shrunk correlation of those residuals
(as item_knn's, `shrinkage`); j runs over the `n_neighbors` most similar movies among i's
`n_candidates` that the user rated, as in item_knn. d_j is 1 for a neighbour rated on the day of
the predicted rating and `same_day_weight` otherwise: movies rated in one sitting tell more about
each other (Koren's time-aware neighbourhood model decays a neighbour's weight with the gap
between the two dates; a sitting is where ml-latest-small's gap is 0).

`predict(users, movies, dates)` uses the rating dates; without one (no `dates`, or NaT) the
user's latest training date stands in, and `recommend` scores at that date. A folded-in user's
ratings count as one sitting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.errors import DataError
from movierec.core.models.classic.knn import ItemKNN, _means
from movierec.core.models.classic.neighbours import top_neighbours
from movierec.core.models.classic.time_baseline import TimeBiases, fit_engine_time_biases, training_days
from movierec.core.models.params import renamed_params
from movierec.core.models.registry import register

_GATHER_ENTRIES = 2_000_000  # (pairs x candidates) looked up per vectorized step: bounds the temporaries
_PREFIX = "time_"


@register(family="classic", summary="item-item kNN over time_baseline's residuals, neighbours rated the same day "
          "weighing most")
class TimeItemKNN(ItemKNN):
    """item_knn centred on the time-aware baseline, its neighbours from the same sitting weighted up."""

    name = "time_item_knn"
    uses_dates = True

    @renamed_params(seed="random_state")
    def __init__(
        self,
        n_neighbors: int = 40,
        shrinkage: float = 100.0,
        n_candidates: int = 100,
        damping: float = 0.5,
        same_day_weight: float = 0.3,
        n_bins: int = 30,
        beta: float = 0.4,
        reg_movie: float = 3.0,
        reg_bin: float = 50.0,
        reg_user: float = 15.0,
        reg_alpha: float = 1000.0,
        reg_day: float = 6.0,
        bias_epochs: int = 8,
        block_budget: int = 8_000_000,
        max_shared: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.n_candidates = n_candidates
        self.damping = damping
        self.same_day_weight = same_day_weight
        self.n_bins = n_bins
        self.beta = beta
        self.reg_movie = reg_movie
        self.reg_bin = reg_bin
        self.reg_user = reg_user
        self.reg_alpha = reg_alpha
        self.reg_day = reg_day
        self.bias_epochs = bias_epochs
        self.block_budget = block_budget
        self.max_shared = max_shared
        self.random_state = random_state

    # ----------------------------------------------------------------- fitting
    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        for name in ("n_neighbors", "n_candidates", "bias_epochs"):
            if int(getattr(self, name)) < 1:
                raise DataError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if float(self.shrinkage) < 0:
            raise DataError(f"shrinkage must be >= 0, got {self.shrinkage!r}")
        if not 0 <= float(self.same_day_weight) <= 1:
            raise DataError(f"same_day_weight must be between 0 and 1, got {self.same_day_weight!r}")
        user_idx = self.users_.index_of(ratings["user"].to_numpy())
        movie_idx = self.movies_.index_of(ratings["movie"].to_numpy())
        days = training_days(ratings)
        self.biases_ = fit_engine_time_biases(self, user_idx, movie_idx, days, ratings["rating"].to_numpy(),
                                              int(self.bias_epochs))
        residual = ratings["rating"].to_numpy(np.float64) - self.biases_.predict(user_idx, movie_idx, days)
        # both arrays follow seen_'s entries; a pair rated twice keeps its last rating, as seen_ does
        position = np.searchsorted(self._seen_keys(), user_idx.astype(np.int64) * len(self.movies_) + movie_idx)
        self.residual_ = np.zeros(self.seen_.nnz)
        self.rating_day_ = np.full(self.seen_.nnz, np.nan)
        self.residual_[position] = residual
        self.rating_day_[position] = days
        self._set_means()
        self.neighbors_, self.weights_ = top_neighbours(
            self._residuals(), int(self.n_candidates), float(self.shrinkage), int(self.block_budget),
            self.max_shared, self.random_state,
        )

    def _set_means(self) -> None:
        """Each user's and movie's mean rating (`reasons` reads the user's)."""
        seen = self.seen_.tocoo()
        self.user_mean_ = _means(seen.row, seen.data, len(self.users_))
        self.movie_mean_ = _means(seen.col, seen.data, len(self.movies_))

    def _seen_keys(self) -> np.ndarray:
        """user * n_movies + movie of each seen_ entry, ascending (CSR with sorted columns)."""
        def build() -> np.ndarray:
            seen = self.seen_
            seen.sort_indices()
            rows = np.repeat(np.arange(seen.shape[0], dtype=np.int64), np.diff(seen.indptr))
            return rows * seen.shape[1] + seen.indices
        return self._derived("seen_keys", build)

    def _residuals(self) -> sp.csr_matrix:
        """The time-aware residuals, movies x users."""
        by_user = sp.csr_matrix((self.residual_, self.seen_.indices, self.seen_.indptr), shape=self.seen_.shape)
        return sp.csr_matrix(by_user.T)

    def _centre(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        """time_baseline at each user's latest training day; -1 marks unknown ids."""
        return self.biases_.predict(np.asarray(user_idx), np.asarray(movie_idx), None)

    # ----------------------------------------------------------------- prediction
    def _lookup(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(present, residual, day) of known index pairs in the training ratings."""
        keys = self._seen_keys()
        wanted = user_idx.astype(np.int64) * len(self.movies_) + movie_idx
        at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        present = keys[at] == wanted
        return present, np.where(present, self.residual_[at], 0.0), np.where(present, self.rating_day_[at], np.nan)

    def _day_weights(self, rating_days: np.ndarray, day: np.ndarray) -> np.ndarray:
        """1 for a neighbour rated on `day` (the same sitting), `same_day_weight` otherwise."""
        return np.where(np.abs(rating_days - day) < 0.5, 1.0, float(self.same_day_weight))

    def _predict_dated(self, user_idx: np.ndarray, movie_idx: np.ndarray, days: np.ndarray | None) -> np.ndarray:
        user_idx, movie_idx = np.asarray(user_idx, dtype=np.int64), np.asarray(movie_idx, dtype=np.int64)
        days = self.biases_.user_days(user_idx, days)
        estimate = self.biases_.predict(user_idx, movie_idx, days)
        known = np.flatnonzero((user_idx >= 0) & (movie_idx >= 0))
        width = self.neighbors_.shape[1]
        step = max(1, _GATHER_ENTRIES // width)
        numerator, denominator = np.zeros(len(known)), np.zeros(len(known))
        for start in range(0, len(known), step):
            part = known[start:start + step]
            candidates = self.neighbors_[movie_idx[part]]
            valid = candidates >= 0
            present, residual, rated_on = self._lookup(np.repeat(user_idx[part], width),
                                                       np.where(valid, candidates, 0).ravel())
            present = present.reshape(-1, width) & valid
            # candidates are stored best first: the first n_neighbors rated ones are the k nearest
            used = present & (np.cumsum(present, axis=1) <= int(self.n_neighbors))
            weights = self.weights_[movie_idx[part]] * self._day_weights(rated_on.reshape(-1, width), days[part, None])
            weights = np.where(used, weights, 0.0)
            numerator[start:start + len(part)] = (weights * residual.reshape(-1, width)).sum(axis=1)
            denominator[start:start + len(part)] = weights.sum(axis=1)
        estimate[known] += self._adjustment(numerator, denominator)
        return estimate

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return self._predict_dated(user_idx, movie_idx, None)

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        """Every movie for each user at the user's latest training day, as `predict` scores it."""
        n, slots = len(self.movies_), self._candidate_slots()
        rows = []
        for i in np.asarray(user_idx, dtype=np.int64):
            every = np.full(n, i)
            day = self.biases_.user_days(every[:1], None)
            entries = slice(self.seen_.indptr[i], self.seen_.indptr[i + 1])
            rated = self.seen_.indices[entries]
            residual, weight = np.zeros(n + 1), np.zeros(n + 1)  # slot n: padding of the candidate lists
            present = np.zeros(n + 1, dtype=bool)
            present[rated] = True
            residual[rated] = self.residual_[entries]
            weight[rated] = self._day_weights(self.rating_day_[entries], day)
            hit = present[slots]
            used = hit & (np.cumsum(hit, axis=1) <= int(self.n_neighbors))
            weights = np.where(used, self.weights_ * weight[slots], 0.0)
            numerator = np.einsum("ij,ij->i", weights, residual[slots])
            centre = self.biases_.predict(every, np.arange(n), np.full(n, day[0]))
            rows.append(centre + self._adjustment(numerator, weights.sum(axis=1)))
        return np.vstack(rows)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        centre = self.biases_.new_user(movie_idx, ratings, float(self.reg_user))
        return self._score_rated(movie_idx, np.asarray(ratings, dtype=np.float64), centre)

    # ----------------------------------------------------------------- persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {"neighbors": self.neighbors_, "weights": self.weights_, "residual": self.residual_,
                "rating_day": self.rating_day_, **self.biases_.state(_PREFIX)}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.neighbors_, self.weights_ = state["neighbors"], state["weights"]
        self.residual_, self.rating_day_ = state["residual"], state["rating_day"]
        if self.residual_.shape != (self.seen_.nnz,) or self.rating_day_.shape != (self.seen_.nnz,):
            raise ValueError(f"{self.residual_.shape} residuals and {self.rating_day_.shape} days "
                             f"for {self.seen_.nnz} training ratings")
        self.biases_ = TimeBiases.from_state(state, _PREFIX)
        self._set_means()
