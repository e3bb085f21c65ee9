"""Non-personalized engines: `mean` (per-movie mean rating) and `weighted` (IMDb weighted rating).

Both give every user the same scores; they are the floor every personalized engine must beat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.core.models.base import Recommender
from movierec.core.models.registry import register

DEFAULT_M_QUANTILE = 0.9


def default_m(ratings_per_movie: np.ndarray, quantile: float = DEFAULT_M_QUANTILE) -> float:
    """The weighted rating's `m`: a quantile of the ratings per movie (the 90th by default)."""
    counts = np.asarray(ratings_per_movie, dtype=np.float64)
    return float(np.quantile(counts, quantile)) if counts.size else 1.0


def weighted_score(
    ratings_per_movie: np.ndarray, movie_mean: np.ndarray, global_mean: float, m: float
) -> np.ndarray:
    """The IMDb weighted rating v/(v+m)*R + m/(v+m)*C of every movie."""
    v = np.asarray(ratings_per_movie, dtype=np.float64)
    return v / (v + m) * np.asarray(movie_mean, dtype=np.float64) + m / (v + m) * global_mean


class _PerMovieScore(Recommender):
    """One score per movie, the same for every user; unknown movies get the global mean."""

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        movie_idx = self.movies_.index_of(ratings["movie"].to_numpy())
        values = ratings["rating"].to_numpy(np.float64)
        self.movie_count_ = np.bincount(movie_idx, minlength=len(self.movies_)).astype(np.float64)
        self.movie_mean_ = np.bincount(movie_idx, values, minlength=len(self.movies_)) / self.movie_count_
        self.movie_score_ = self._movie_scores()

    def _movie_scores(self) -> np.ndarray:
        return self.movie_mean_

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return np.where(movie_idx >= 0, self.movie_score_[np.maximum(movie_idx, 0)], self.global_mean_)

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        return np.tile(self.movie_score_, (len(user_idx), 1))

    def _state(self) -> dict[str, np.ndarray]:
        return {"movie_count": self.movie_count_, "movie_mean": self.movie_mean_, "movie_score": self.movie_score_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.movie_count_ = state["movie_count"]
        self.movie_mean_ = state["movie_mean"]
        self.movie_score_ = state["movie_score"]


@register(family="classic", summary="per-movie mean rating")
class MeanRating(_PerMovieScore):
    """The notebook's "Mean Rating": each movie's mean rating."""

    name = "mean"

    def __init__(self) -> None:
        pass


@register(family="classic", summary="IMDb weighted rating v/(v+m)*R + m/(v+m)*C, C the mean of all ratings")
class WeightedRating(_PerMovieScore):
    """IMDb weighted rating v/(v+m)*R + m/(v+m)*C: a movie's mean shrunk towards the global mean C.

    `m` is the number of ratings at which a movie's own mean counts half; None takes the
    `m_quantile` quantile of ratings per movie (the 90th percentile is the usual choice).
    """

    name = "weighted"

    def __init__(self, m: float | None = None, m_quantile: float = DEFAULT_M_QUANTILE) -> None:
        self.m = m
        self.m_quantile = m_quantile

    def _movie_scores(self) -> np.ndarray:
        self.m_ = float(self.m) if self.m is not None else default_m(self.movie_count_, self.m_quantile)
        return weighted_score(self.movie_count_, self.movie_mean_, self.global_mean_, self.m_)

    def _state(self) -> dict[str, np.ndarray]:
        return {**super()._state(), "m": np.array(self.m_)}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        super()._set_state(state)
        self.m_ = float(state["m"])
