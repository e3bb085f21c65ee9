"""`baseline`: global mean plus regularized user and movie biases (Koren's baseline predictor).

The biases are fitted by alternating least squares, as Surprise's BaselineOnly does:
b_movie = sum(r - mu - b_user) / (reg_movie + n_movie), then b_user likewise, `n_epochs` times.
The kNN engines reuse `fit_biases` as their fallback and centring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.core.models.base import Recommender
from movierec.core.models.registry import register


def fit_biases(
    user_idx: np.ndarray,
    movie_idx: np.ndarray,
    ratings: np.ndarray,
    n_users: int,
    n_movies: int,
    reg_user: float,
    reg_movie: float,
    n_epochs: int,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Global mean, user biases and movie biases of index-coded ratings (vectorized ALS)."""
    ratings = np.asarray(ratings, dtype=np.float64)
    mu = float(ratings.mean())
    residual = ratings - mu
    user_count = np.bincount(user_idx, minlength=n_users).astype(np.float64)
    movie_count = np.bincount(movie_idx, minlength=n_movies).astype(np.float64)
    user_bias = np.zeros(n_users)
    movie_bias = np.zeros(n_movies)
    for _ in range(max(int(n_epochs), 1)):
        movie_sum = np.bincount(movie_idx, residual - user_bias[user_idx], minlength=n_movies)
        movie_bias = movie_sum / (reg_movie + movie_count)
        user_sum = np.bincount(user_idx, residual - movie_bias[movie_idx], minlength=n_users)
        user_bias = user_sum / (reg_user + user_count)
    return mu, user_bias, movie_bias


def fold_in_user_bias(
    mu: float, movie_bias: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray, reg_user: float
) -> float:
    """The bias of a new user from their ratings, holding the movie biases fixed."""
    residual = np.asarray(ratings, dtype=np.float64) - mu - movie_bias[movie_idx]
    return float(residual.sum() / (reg_user + len(residual)))


@register(family="classic", summary="global mean plus regularized user and movie biases")
class Baseline(Recommender):
    """Predicts mu + b_user + b_movie; unknown users or movies contribute a zero bias."""

    name = "baseline"

    def __init__(self, reg_user: float = 15.0, reg_movie: float = 10.0, n_epochs: int = 10) -> None:
        self.reg_user = reg_user
        self.reg_movie = reg_movie
        self.n_epochs = n_epochs

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        _, self.user_bias_, self.movie_bias_ = fit_biases(
            self.users_.index_of(ratings["user"].to_numpy()),
            self.movies_.index_of(ratings["movie"].to_numpy()),
            ratings["rating"].to_numpy(),
            len(self.users_),
            len(self.movies_),
            self.reg_user,
            self.reg_movie,
            self.n_epochs,
        )

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        user_term = np.where(user_idx >= 0, self.user_bias_[np.maximum(user_idx, 0)], 0.0)
        movie_term = np.where(movie_idx >= 0, self.movie_bias_[np.maximum(movie_idx, 0)], 0.0)
        return np.clip(self.global_mean_ + user_term + movie_term, *self.rating_range_)

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        return self.global_mean_ + self.user_bias_[user_idx, None] + self.movie_bias_[None, :]

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        bias = fold_in_user_bias(self.global_mean_, self.movie_bias_, movie_idx, ratings, self.reg_user)
        return self.global_mean_ + bias + self.movie_bias_

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_bias": self.user_bias_, "movie_bias": self.movie_bias_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.user_bias_ = state["user_bias"]
        self.movie_bias_ = state["movie_bias"]
