"""Filters that drop rarely rated movies and rarely rating users, and say what they removed.

Thresholds are inclusive: `min_movie_ratings=50` keeps movies with 50 ratings or more. The
notebook kept movies with *more than* 10,000 and users with *more than* 200 ratings of Netflix
file 1; in our terms that is `min_movie_ratings=10_001, min_user_ratings=201`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.core.errors import DataError


@dataclass
class FilterReport:
    """What a filter kept and removed, and the thresholds it used."""

    ratings_before: int
    ratings_after: int
    users_before: int
    users_after: int
    movies_before: int
    movies_after: int
    min_movie_ratings: int = 1
    min_user_ratings: int = 1

    @property
    def ratings_removed(self) -> int:
        return self.ratings_before - self.ratings_after

    @property
    def users_removed(self) -> int:
        return self.users_before - self.users_after

    @property
    def movies_removed(self) -> int:
        return self.movies_before - self.movies_after

    def sentence(self) -> str:
        """One line for logs and notes."""
        return (
            f"kept movies with >= {self.min_movie_ratings:,} and users with >= {self.min_user_ratings:,} "
            f"ratings: {self.ratings_after:,} of {self.ratings_before:,} ratings, "
            f"{self.users_after:,} of {self.users_before:,} users, "
            f"{self.movies_after:,} of {self.movies_before:,} movies "
            f"(removed {self.ratings_removed:,} ratings, {self.users_removed:,} users, "
            f"{self.movies_removed:,} movies)"
        )


def default_thresholds(ratings: pd.DataFrame) -> tuple[int, int]:
    """(min_movie_ratings, min_user_ratings): a tenth of the mean ratings per movie and per user.

    The notebook's bounds (about 1.9x the mean per movie and 3.9x the mean per user of Netflix
    file 1) kept only a dense corner, which its dense pivot needed; with sparse matrices a tenth
    of the means trims the long tail only: Netflix file 1 gives (535, 5), ml-latest-small
    (1, 17) (every user there has 20 or more, so none is removed).
    """
    if len(ratings) == 0:
        return 1, 1
    per_movie = len(ratings) / _distinct(ratings["movie"].to_numpy())
    per_user = len(ratings) / _distinct(ratings["user"].to_numpy())
    return max(1, int(round(per_movie / 10))), max(1, int(round(per_user / 10)))


def filter_min_counts(
    ratings: pd.DataFrame, min_movie_ratings: int = 1, min_user_ratings: int = 1
) -> tuple[pd.DataFrame, FilterReport]:
    """Keep ratings of movies with >= `min_movie_ratings` and users with >= `min_user_ratings`.

    Both counts are taken on the unfiltered table, as the notebook did (one pass, no
    iteration), so a kept user may end up below the bound once rare movies are gone.
    """
    if min_movie_ratings < 1 or min_user_ratings < 1:
        raise DataError(
            f"filter thresholds must be >= 1, got min_movie_ratings={min_movie_ratings}, "
            f"min_user_ratings={min_user_ratings}"
        )
    movie_count, movies_before = _count_per_row(ratings["movie"].to_numpy())
    user_count, users_before = _count_per_row(ratings["user"].to_numpy())
    mask = (movie_count >= min_movie_ratings) & (user_count >= min_user_ratings)
    kept = ratings[mask].reset_index(drop=True) if not mask.all() else ratings.reset_index(drop=True)
    report = FilterReport(
        ratings_before=len(ratings),
        ratings_after=len(kept),
        users_before=users_before,
        users_after=_distinct(kept["user"].to_numpy()),
        movies_before=movies_before,
        movies_after=_distinct(kept["movie"].to_numpy()),
        min_movie_ratings=int(min_movie_ratings),
        min_user_ratings=int(min_user_ratings),
    )
    return kept, report


def _small_ids(ids: np.ndarray) -> bool:
    """Ids that can be counted with bincount (non-negative integers below 2**26)."""
    return np.issubdtype(ids.dtype, np.integer) and int(ids.min()) >= 0 and int(ids.max()) < 1 << 26


def _count_per_row(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """For every row, how many rows share its id; and the number of distinct ids (O(n))."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64), 0
    if _small_ids(ids):
        counts = np.bincount(ids)
        return counts[ids], int(np.count_nonzero(counts))
    codes, uniques = pd.factorize(ids)
    return np.bincount(codes)[codes], len(uniques)


def _distinct(ids: np.ndarray) -> int:
    if len(ids) == 0:
        return 0
    return int(np.count_nonzero(np.bincount(ids))) if _small_ids(ids) else len(pd.unique(ids))
