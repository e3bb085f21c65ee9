"""The blend's support features: how much the training ratings say about a (user, movie) pair on a day.

A support feature is log(1 + a count of training ratings): the user's (`user`), the movie's
(`movie`), or the user's on the day of the rating (`day`, Koren's rating frequency: people who rate
many movies in one sitting rate them differently). The blend's weights vary with these columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: what a support feature counts: the user's training ratings, the movie's, the user's on the rating's day
SUPPORTS = ("user", "movie", "day")
#: (user, day) keys are user * _DAY_SLOTS + day number: room for 2,800 years of days
_DAY_SLOTS = 1 << 20


def counts_of(seen: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Training ratings per user (rows) and per movie (columns) of a seen-ratings matrix."""
    per_movie = np.bincount(seen.indices, minlength=seen.shape[1])
    return np.diff(seen.indptr).astype(np.float64), per_movie.astype(np.float64)


def _lookup(counts: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """counts[idx], 0 where idx is -1 (unseen at fit time)."""
    idx = np.asarray(idx)
    return np.where(idx >= 0, counts[np.maximum(idx, 0)], 0.0)


@dataclass
class SupportCounts:
    """How much the training ratings say about a pair: ratings per user, per movie, per (user, day)."""

    user: np.ndarray  # ratings per user position
    movie: np.ndarray  # ratings per movie position
    day_keys: np.ndarray  # sorted user * _DAY_SLOTS + day of every (user, day) with dated ratings
    day: np.ndarray  # ratings on each of those (user, day)s
    user_last_day: np.ndarray  # each user's latest rating day (NaN: no dated rating)

    @classmethod
    def of(cls, user_idx: np.ndarray, movie_idx: np.ndarray, days: np.ndarray, n_users: int,
           n_movies: int) -> SupportCounts:
        """The counts of ratings given as positions and day numbers (NaN: undated, counted by no day)."""
        dated = ~np.isnan(days)
        keys, per_day = np.unique(_day_keys(user_idx[dated], days[dated]), return_counts=True)
        last_day = np.full(n_users, -np.inf)
        np.maximum.at(last_day, user_idx[dated], days[dated])
        return cls(np.bincount(user_idx, minlength=n_users).astype(np.float64),
                   np.bincount(movie_idx, minlength=n_movies).astype(np.float64),
                   keys, per_day.astype(np.float64), np.where(np.isfinite(last_day), last_day, np.nan))

    def on_day(self, user_idx: np.ndarray, days: np.ndarray | None) -> np.ndarray:
        """The user's ratings on each day (None or NaN: the user's latest day); 0 for an unseen user or day."""
        user_idx = np.asarray(user_idx)
        latest = np.where(user_idx >= 0, self.user_last_day[np.maximum(user_idx, 0)], np.nan)
        days = latest if days is None else np.where(np.isnan(np.asarray(days, dtype=np.float64)), latest, days)
        if len(self.day_keys) == 0:
            return np.zeros(np.broadcast(user_idx, days).shape)
        known = (user_idx >= 0) & ~np.isnan(days)
        keys = _day_keys(np.maximum(user_idx, 0), np.where(known, days, 0.0))
        at = np.minimum(np.searchsorted(self.day_keys, keys), len(self.day_keys) - 1)
        return np.where(known & (self.day_keys[at] == keys), self.day[at], 0.0)

    def features(self, names: list[str], degree: int, user_idx: np.ndarray | None, movie_idx: np.ndarray | None,
                 days: np.ndarray | None, user_count: float | None = None) -> list[np.ndarray]:
        """log(1 + count) of each support feature, then its powers up to `degree`: the raw support columns.

        Index arrays broadcast against each other; `user_idx=None` stands for a new user who gave
        `user_count` ratings in one sitting.
        """
        logs = []
        for name in names:
            if name == "movie":
                n = _lookup(self.movie, movie_idx)
            elif user_idx is None:
                n = np.asarray(float(user_count))
            else:
                n = _lookup(self.user, user_idx) if name == "user" else self.on_day(user_idx, days)
            logs.append(np.log1p(n))
        return [column ** power for power in range(1, degree + 1) for column in logs]


def _day_keys(user_idx: np.ndarray, days: np.ndarray) -> np.ndarray:
    """user * _DAY_SLOTS + day number: one int64 key per (user, day)."""
    return np.asarray(user_idx, dtype=np.int64) * _DAY_SLOTS + np.round(days).astype(np.int64)
