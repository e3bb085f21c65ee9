"""`time_baseline`: Koren's time-aware baseline predictor (Collaborative Filtering with Temporal Dynamics, 2009).

    r(u, i, t) = mu + b_i + b_i,bin(t) + b_u + alpha_u * dev_u(t) + b_u,t

b_i,bin(t) is a movie's bias in one of `n_bins` equal periods of the training date range;
dev_u(t) = sign(t - t_u) |t - t_u|^beta (days) is the distance from the user's mean rating day
t_u; b_u,t is a bias per (user, day), the mood of one sitting. Every term is a shrunk mean of the
residual the other terms leave, fitted by alternating closed-form updates (one `np.bincount` per
term and round), so a fit costs a few passes over the ratings: the whole Netflix Prize fits
in minutes. A (user, day) or movie period without training ratings contributes 0 (the static
parts answer); the drift is not extrapolated beyond the user's first and last training day.

`predict(users, movies, dates)` uses the rating dates; where a date is missing (no `dates`, or
NaT) the user's latest training date stands in (the latest of all for an unknown user), and
`recommend` and fold-in score at that date as well.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from movierec.core.errors import DataError
from movierec.core.models.base import Recommender, rating_days
from movierec.core.models.registry import register

#: (user, day) keys are user * _DAY_SLOTS + day offset: room for 2,800 years of days
_DAY_SLOTS = 1 << 20


@dataclass
class TimeBiases:
    """The fitted terms of the time-aware baseline (arrays indexed by user / movie position)."""

    mu: float
    movie_bias: np.ndarray  # (n_movies,)
    bin_bias: np.ndarray  # (n_movies, n_bins)
    user_bias: np.ndarray  # (n_users,)
    alpha: np.ndarray  # (n_users,) drift per unit of dev_u
    user_mean_day: np.ndarray  # (n_users,) float, NaN for a user without dated ratings
    user_first_day: np.ndarray
    user_last_day: np.ndarray
    day_keys: np.ndarray  # sorted int64 (user, day) keys
    day_bias: np.ndarray  # bias of each key
    first_day: int  # day number (days since 1970-01-01) of the earliest training rating
    bin_days: float  # days per bin
    latest_day: int
    beta: float

    # ------------------------------------------------------------------ answers
    def _bin(self, days: np.ndarray) -> np.ndarray:
        n_bins = self.bin_bias.shape[1]
        return np.clip(((days - self.first_day) / self.bin_days).astype(np.int64), 0, n_bins - 1)

    def _dev(self, user_idx: np.ndarray, days: np.ndarray) -> np.ndarray:
        """dev_u(t) with t clipped to the user's training days (0 for users without dates)."""
        t = np.clip(days, self.user_first_day[user_idx], self.user_last_day[user_idx])
        gap = t - self.user_mean_day[user_idx]
        return np.nan_to_num(np.sign(gap) * np.abs(gap) ** self.beta)

    def user_days(self, user_idx: np.ndarray, days: np.ndarray | None) -> np.ndarray:
        """Each pair's day: the given one, else the user's latest training day, else the latest of all."""
        fallback = np.where(user_idx >= 0, self.user_last_day[np.maximum(user_idx, 0)], np.nan)
        fallback = np.where(np.isnan(fallback), float(self.latest_day), fallback)
        if days is None:
            return fallback
        days = np.asarray(days, dtype=np.float64)
        return np.where(np.isnan(days), fallback, days)

    def predict(self, user_idx: np.ndarray, movie_idx: np.ndarray, days: np.ndarray | None) -> np.ndarray:
        """Predictions for index pairs on days (NaN or None: the user's latest day); -1 = unknown id."""
        user_idx = np.asarray(user_idx, dtype=np.int64)
        movie_idx = np.asarray(movie_idx, dtype=np.int64)
        days = self.user_days(user_idx, days)
        known_user, known_movie = user_idx >= 0, movie_idx >= 0
        users, films = np.maximum(user_idx, 0), np.maximum(movie_idx, 0)
        out = np.full(len(user_idx), self.mu, dtype=np.float64)
        out += np.where(known_movie, self.movie_bias[films] + self.bin_bias[films, self._bin(days)], 0.0)
        user_part = self.user_bias[users] + self.alpha[users] * self._dev(users, days) + self._day_bias(users, days)
        out += np.where(known_user, user_part, 0.0)
        return out

    def _day_bias(self, users: np.ndarray, days: np.ndarray) -> np.ndarray:
        if len(self.day_keys) == 0:
            return np.zeros(len(users))
        keys = users * _DAY_SLOTS + (np.round(days).astype(np.int64) - self.first_day)
        at = np.minimum(np.searchsorted(self.day_keys, keys), len(self.day_keys) - 1)
        return np.where(self.day_keys[at] == keys, self.day_bias[at], 0.0)

    def movie_scores(self, day: float) -> np.ndarray:
        """mu + b_i + b_i,bin(day) for every movie: the movie side at one day."""
        bin_index = int(self._bin(np.array([day]))[0])
        return self.mu + self.movie_bias + self.bin_bias[:, bin_index]

    def user_offset(self, user_idx: np.ndarray) -> np.ndarray:
        """b_u + alpha_u dev_u + b_u,t at each user's latest training day."""
        days = self.user_days(user_idx, None)
        return self.user_bias[user_idx] + self.alpha[user_idx] * self._dev(user_idx, days) + self._day_bias(user_idx, days)

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        """Predictions of every movie for known users, each at their latest training day."""
        user_idx = np.asarray(user_idx, dtype=np.int64)
        days = self.user_days(user_idx, None)
        movie_side = self.mu + self.movie_bias[None, :] + self.bin_bias[:, self._bin(days)].T
        return movie_side + self.user_offset(user_idx)[:, None]

    def new_user(self, movie_idx: np.ndarray, ratings: np.ndarray, reg_user: float) -> np.ndarray:
        """Predictions of every movie for a new user (shrunk bias on the movie side at the latest day)."""
        movie_side = self.movie_scores(float(self.latest_day))
        residual = np.asarray(ratings, dtype=np.float64) - movie_side[movie_idx]
        return movie_side + residual.sum() / (reg_user + len(residual))

    # ------------------------------------------------------------------ persistence
    def state(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The terms as named arrays (scalars as 0-d arrays)."""
        return {prefix + f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], prefix: str = "") -> TimeBiases:
        """The terms back from `state`; a missing array raises KeyError (a damaged file)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            array = np.asarray(state[prefix + f.name])
            values[f.name] = array.item() if array.ndim == 0 else array
        return cls(**values)


@dataclass(frozen=True)
class TimeRegs:
    """Shrinkage of each term: a term with n ratings is sum(residual) / (reg + n)."""

    movie: float
    bin: float
    user: float
    alpha: float
    day: float


def fit_time_biases(
    user_idx: np.ndarray,
    movie_idx: np.ndarray,
    days: np.ndarray,
    ratings: np.ndarray,
    n_users: int,
    n_movies: int,
    regs: TimeRegs,
    n_bins: int,
    beta: float,
    n_epochs: int,
) -> TimeBiases:
    """Fit every term by alternating closed-form shrunk means; `days` is float with NaN for undated ratings.

    Per rating it keeps 4-byte group numbers, the 4-byte drift distance and one float64 running
    fit (about 30 bytes a rating besides the inputs), so the whole Prize fits in a few GiB.
    """
    if int(n_bins) < 1:
        raise DataError(f"n_bins must be a positive integer, got {n_bins!r}")
    if not 0.0 < float(beta) <= 1.0:
        raise DataError(f"beta must be in (0, 1], got {beta!r}")
    n_bins = int(n_bins)
    user_idx = np.asarray(user_idx).astype(np.int32, copy=False)
    movie_idx = np.asarray(movie_idx).astype(np.int32, copy=False)
    days = np.asarray(days, dtype=np.float64)
    target = np.asarray(ratings, dtype=np.float32)
    dated = ~np.isnan(days)
    mu = float(target.mean(dtype=np.float64))
    if dated.any():
        first_day, latest_day = int(np.nanmin(days)), int(np.nanmax(days))
    else:
        first_day = latest_day = 0

    # per-user day statistics over dated ratings
    dated_count = np.bincount(user_idx, weights=dated, minlength=n_users)
    with np.errstate(invalid="ignore", divide="ignore"):
        user_mean_day = np.bincount(user_idx, weights=np.where(dated, days, 0.0), minlength=n_users) / dated_count
    user_first_day = np.full(n_users, np.inf)
    user_last_day = np.full(n_users, -np.inf)
    np.minimum.at(user_first_day, user_idx[dated], days[dated])
    np.maximum.at(user_last_day, user_idx[dated], days[dated])
    no_dates = dated_count == 0
    for array in (user_mean_day, user_first_day, user_last_day):
        array[no_dates] = np.nan

    biases = TimeBiases(
        mu=mu,
        movie_bias=np.zeros(n_movies),
        bin_bias=np.zeros((n_movies, n_bins)),
        user_bias=np.zeros(n_users),
        alpha=np.zeros(n_users),
        user_mean_day=user_mean_day,
        user_first_day=user_first_day,
        user_last_day=user_last_day,
        day_keys=np.empty(0, dtype=np.int64),
        day_bias=np.empty(0),
        first_day=first_day,
        bin_days=max(latest_day - first_day + 1, 1) / n_bins,
        latest_day=latest_day,
        beta=float(beta),
    )
    # the group of each rating for every term; undated ratings sit in a last group that stays 0
    filled_days = np.where(dated, days, float(first_day))
    bin_group = np.where(dated, movie_idx * n_bins + biases._bin(filled_days), n_movies * n_bins).astype(np.int32)
    dev = np.where(dated, biases._dev(user_idx, filled_days), 0.0).astype(np.float32)
    day_key = user_idx.astype(np.int64) * _DAY_SLOTS + (filled_days.astype(np.int64) - first_day)
    del filled_days
    day_key[~dated] = -1
    keys, day_group = np.unique(day_key, return_inverse=True)
    del day_key
    day_group = day_group.astype(np.int32).reshape(-1)
    undated_key = bool(len(keys) and keys[0] == -1)

    fitted = np.full(len(target), mu)

    def shrunk(group: np.ndarray, count: np.ndarray, reg: float, old: np.ndarray) -> np.ndarray:
        """A term's new values: the residual without its old values, as shrunk group means."""
        residual = target - fitted
        residual += old[group]
        total = np.bincount(group, weights=residual, minlength=len(count))
        return total / (reg + count)

    def apply(group: np.ndarray, change: np.ndarray) -> None:
        nonlocal fitted
        fitted += change[group]

    movie_count = np.bincount(movie_idx, minlength=n_movies)
    bin_count = np.bincount(bin_group, minlength=n_movies * n_bins + 1)
    user_count = np.bincount(user_idx, minlength=n_users)
    day_count = np.bincount(day_group, minlength=len(keys))
    dev_square = np.bincount(user_idx, weights=dev.astype(np.float64) ** 2, minlength=n_users)
    bins_flat = np.zeros(n_movies * n_bins + 1)
    day_values = np.zeros(len(keys))
    alpha = np.zeros(n_users)
    for _ in range(max(int(n_epochs), 1)):
        new = shrunk(movie_idx, movie_count, regs.movie, biases.movie_bias)
        apply(movie_idx, new - biases.movie_bias)
        biases.movie_bias = new

        new = shrunk(bin_group, bin_count, regs.bin, bins_flat)
        new[-1] = 0.0
        apply(bin_group, new - bins_flat)
        bins_flat = new

        new = shrunk(user_idx, user_count, regs.user, biases.user_bias)
        apply(user_idx, new - biases.user_bias)
        biases.user_bias = new

        residual = target - fitted
        residual += alpha[user_idx] * dev
        residual *= dev
        new = np.bincount(user_idx, weights=residual, minlength=n_users) / (regs.alpha + dev_square)
        del residual
        fitted += (new - alpha)[user_idx] * dev
        alpha = new

        new = shrunk(day_group, day_count, regs.day, day_values)
        if undated_key:
            new[0] = 0.0
        apply(day_group, new - day_values)
        day_values = new

    biases.bin_bias = bins_flat[:-1].reshape(n_movies, n_bins)
    biases.alpha = alpha
    start = 1 if undated_key else 0
    biases.day_keys = keys[start:]
    biases.day_bias = day_values[start:]
    return biases


def fit_engine_time_biases(
    engine: Recommender,
    user_idx: np.ndarray,
    movie_idx: np.ndarray,
    days: np.ndarray,
    ratings: np.ndarray,
    n_epochs: int,
) -> TimeBiases:
    """Fit the time biases with the engine's n_bins, beta and reg_* settings, checking each reg is >= 0."""
    regs = TimeRegs(engine.reg_movie, engine.reg_bin, engine.reg_user, engine.reg_alpha, engine.reg_day)
    for name, value in vars(regs).items():
        if not float(value) >= 0:
            raise DataError(f"reg_{name} must be a number >= 0, got {value!r}")
    return fit_time_biases(user_idx, movie_idx, days, ratings, len(engine.users_), len(engine.movies_),
                           regs, engine.n_bins, engine.beta, n_epochs)


def training_days(ratings: pd.DataFrame) -> np.ndarray:
    """The day number of each rating (NaN where the date is unknown or there is no date column)."""
    if "date" not in ratings.columns:
        return np.full(len(ratings), np.nan)
    return rating_days(ratings["date"].to_numpy(), len(ratings))


@register(
    family="classic",
    summary="time-aware baseline (Koren 2009): movie bias per period, drifting user bias, a bias per user and day",
)
class TimeBaseline(Recommender):
    """Predicts mu + b_i + b_i,bin(t) + b_u + alpha_u dev_u(t) + b_u,t (see the module docstring)."""

    name = "time_baseline"
    uses_dates = True

    def __init__(
        self,
        n_bins: int = 30,
        beta: float = 0.4,
        reg_movie: float = 3.0,
        reg_bin: float = 50.0,
        reg_user: float = 15.0,
        reg_alpha: float = 1000.0,
        reg_day: float = 6.0,
        n_epochs: int = 8,
    ) -> None:
        self.n_bins = n_bins
        self.beta = beta
        self.reg_movie = reg_movie
        self.reg_bin = reg_bin
        self.reg_user = reg_user
        self.reg_alpha = reg_alpha
        self.reg_day = reg_day
        self.n_epochs = n_epochs

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        self.biases_ = fit_engine_time_biases(
            self,
            self.users_.index_of(ratings["user"].to_numpy()),
            self.movies_.index_of(ratings["movie"].to_numpy()),
            training_days(ratings),
            ratings["rating"].to_numpy(),
            self.n_epochs,
        )

    def _predict_dated(self, user_idx: np.ndarray, movie_idx: np.ndarray, days: np.ndarray | None) -> np.ndarray:
        return self.biases_.predict(user_idx, movie_idx, days)

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return self.biases_.predict(user_idx, movie_idx, None)

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        return self.biases_.score_users(user_idx)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        return self.biases_.new_user(movie_idx, ratings, float(self.reg_user))

    def _state(self) -> dict[str, np.ndarray]:
        return self.biases_.state()

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.biases_ = TimeBiases.from_state(state)
