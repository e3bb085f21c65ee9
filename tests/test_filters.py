"""Minimum-count filters: inclusive thresholds, a report of what went, sensible defaults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.core.data import default_thresholds, filter_min_counts, make_ratings
from movierec.core.errors import DataError


@pytest.fixture
def ratings() -> pd.DataFrame:
    # movie 1: 3 ratings, movie 2: 2, movie 3: 1; user 10: 3 ratings, user 20: 2, user 30: 1
    return make_ratings([10, 10, 10, 20, 20, 30], [1, 2, 3, 1, 2, 1], [5, 4, 3, 2, 1, 5])


def test_thresholds_are_inclusive_and_the_report_says_what_went(ratings: pd.DataFrame) -> None:
    kept, report = filter_min_counts(ratings, min_movie_ratings=2, min_user_ratings=2)
    assert sorted(zip(kept["user"], kept["movie"])) == [(10, 1), (10, 2), (20, 1), (20, 2)]
    assert (report.ratings_removed, report.users_removed, report.movies_removed) == (2, 1, 1)
    assert (report.users_before, report.movies_before) == (3, 3)
    assert "removed 2 ratings, 1 users, 1 movies" in report.sentence()


def test_the_notebooks_strict_bounds_are_one_more(ratings: pd.DataFrame) -> None:
    # the notebook kept counts greater than the bound: '> 2' is 'at least 3' here
    kept, _ = filter_min_counts(ratings, min_movie_ratings=3, min_user_ratings=1)
    assert set(kept["movie"]) == {1}


def test_counts_come_from_the_unfiltered_table(ratings: pd.DataFrame) -> None:
    kept, _ = filter_min_counts(ratings, min_movie_ratings=3, min_user_ratings=2)
    assert sorted(zip(kept["user"], kept["movie"])) == [(10, 1), (20, 1)]


def test_ids_that_cannot_be_counted_by_bincount_work_too() -> None:
    table = pd.DataFrame({"user": np.array([-5, -5, 3_000_000_000, 7], dtype=np.int64), "movie": [1, 1, 1, 2], "rating": [1.0] * 4})
    kept, report = filter_min_counts(table, min_movie_ratings=2, min_user_ratings=2)
    assert kept["user"].tolist() == [-5, -5] and report.users_before == 3


def test_defaults_trim_the_long_tail_only(movielens_small) -> None:
    min_movie, min_user = default_thresholds(movielens_small.ratings)
    assert (min_movie, min_user) == (1, 17)
    kept, report = filter_min_counts(movielens_small.ratings, min_movie, min_user)
    assert report.users_removed == 0  # every ml-latest-small user rated 20 movies or more
    assert report.ratings_after == len(movielens_small.ratings)


def test_defaults_scale_with_the_mean_counts() -> None:
    rng = np.random.default_rng(0)
    users = rng.integers(1, 1_001, 200_000)
    movies = rng.integers(1, 101, 200_000)
    table = make_ratings(users, movies, np.full(200_000, 3))
    assert default_thresholds(table) == (200, 20)  # 2,000 per movie, 200 per user on average
    assert default_thresholds(table.iloc[:0]) == (1, 1)


def test_thresholds_below_one_are_refused(ratings: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="must be >= 1"):
        filter_min_counts(ratings, 0, 1)
