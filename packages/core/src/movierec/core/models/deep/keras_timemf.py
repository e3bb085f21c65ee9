"""`keras_timemf`: keras_mf over time-aware biases (Koren's baseline predictor with temporal dynamics).

    r(u, i, t) = time_baseline(u, i, t) + b'_u + b'_i + p_u . q_i

The time-aware biases (movie bias per period, drifting user bias, a bias per user and day: see
`time_baseline`) are fitted first in closed form; keras_mf's factors and its own biases are then
trained on what they leave, in the same sparse Keras training path as keras_mf. Fitting the
biases first keeps that path unchanged (one user and one movie index per rating) while the
factors learn the taste the time effects do not explain.

`predict(users, movies, dates)` uses the rating dates; without one (no `dates`, or NaT) the
user's latest training date stands in (the latest of all for an unknown user), and `recommend`
and fold-in score at that date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.core.models.classic.time_baseline import TimeBiases, fit_engine_time_biases, training_days
from movierec.core.models.deep.keras_common import keras_training
from movierec.core.models.deep.keras_mf import KerasMF
from movierec.core.models.params import renamed_params
from movierec.core.models.registry import register

_PREFIX = "time_"


@register(
    family="deep",
    summary="keras_mf over time-aware biases (time_baseline's terms, then factors on what they leave)",
    requires="tensorflow",
)
class KerasTimeMF(KerasMF):
    """keras_mf trained on the residuals of the time-aware baseline; predictions add both."""

    name = "keras_timemf"
    uses_dates = True

    @renamed_params(factors="n_factors")
    @keras_training(n_epochs=40, reg=0.1)
    def __init__(
        self,
        n_factors: int = 64,
        initializer: str = "random_normal",
        n_bins: int = 30,
        beta: float = 0.4,
        reg_movie: float = 3.0,
        reg_bin: float = 50.0,
        reg_user: float = 15.0,
        reg_alpha: float = 1000.0,
        reg_day: float = 6.0,
        bias_epochs: int = 8,
    ) -> None:
        self.n_factors = n_factors
        self.initializer = initializer
        self.n_bins = n_bins
        self.beta = beta
        self.reg_movie = reg_movie
        self.reg_bin = reg_bin
        self.reg_user = reg_user
        self.reg_alpha = reg_alpha
        self.reg_day = reg_day
        self.bias_epochs = bias_epochs

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        user_idx = self.users_.index_of(ratings["user"].to_numpy())
        movie_idx = self.movies_.index_of(ratings["movie"].to_numpy())
        days = training_days(ratings)
        target = ratings["rating"].to_numpy(np.float64)
        # keras_mf's validation rows (the draw KerasRecommender._fit makes) stay out of the first
        # bias fit: day biases fitted on them would leave them no residual, and early stopping
        # would read a validation RMSE the factors cannot improve
        _, fitted_on = self._validation_split(len(target))
        first = self._fit_biases(user_idx[fitted_on], movie_idx[fitted_on], days[fitted_on], target[fitted_on])
        residual = target - first.predict(user_idx, movie_idx, days)
        del first, fitted_on
        shifted = pd.DataFrame({"user": ratings["user"].to_numpy(), "movie": ratings["movie"].to_numpy(),
                                "rating": (residual + self.global_mean_).astype(np.float32)})
        del residual
        # keras_mf's training subtracts global_mean_ again: its targets are the residuals
        super()._fit(shifted, movies)
        del shifted
        # the answers use biases from every rating (the factors learned what such biases leave)
        self.biases_ = self._fit_biases(user_idx, movie_idx, days, target)

    def _fit_biases(self, user_idx: np.ndarray, movie_idx: np.ndarray, days: np.ndarray, target: np.ndarray) -> TimeBiases:
        return fit_engine_time_biases(self, user_idx, movie_idx, days, target, self.bias_epochs)

    # ------------------------------------------------------------------ answers
    def _predict_dated(self, user_idx: np.ndarray, movie_idx: np.ndarray, days: np.ndarray | None) -> np.ndarray:
        time_part = self.biases_.predict(user_idx, movie_idx, days) - self.global_mean_
        return time_part + super()._predict_indexed(user_idx, movie_idx)

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return self._predict_dated(user_idx, movie_idx, None)

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        time_part = self.biases_.score_users(np.asarray(user_idx, dtype=np.int64)) - self.global_mean_
        return time_part + super()._score_users(user_idx)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        time_scores = self.biases_.new_user(movie_idx, ratings, float(self.reg_user))
        residual = np.asarray(ratings, dtype=np.float64) - time_scores[movie_idx]
        return time_scores - self.global_mean_ + super()._score_new_user(movie_idx, residual + self.global_mean_)

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {**super()._state(), **self.biases_.state(_PREFIX)}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        super()._set_state(state)
        self.biases_ = TimeBiases.from_state(state, _PREFIX)
