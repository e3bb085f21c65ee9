"""Filters that drop rarely rated movies and rarely rating users, and say what they removed."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class FilterReport:
    """What a filter kept and removed."""

    ratings_before: int
    ratings_after: int
    users_before: int
    users_after: int
    movies_before: int
    movies_after: int

    def sentence(self) -> str:
        return (
            f"kept {self.ratings_after:,} of {self.ratings_before:,} ratings, "
            f"{self.users_after:,} of {self.users_before:,} users, "
            f"{self.movies_after:,} of {self.movies_before:,} movies"
        )


def default_thresholds(ratings: pd.DataFrame) -> tuple[int, int]:
    """(min_movie_ratings, min_user_ratings) that suit the dataset's size.

    The notebook kept movies with more than 10,000 and users with more than 200 ratings of the
    24M-rating Netflix file; those bounds scale down with the mean counts, never below 1.
    """
    if len(ratings) == 0:
        return 1, 1
    per_movie = len(ratings) / max(ratings["movie"].nunique(), 1)
    per_user = len(ratings) / max(ratings["user"].nunique(), 1)
    # Netflix file 1: ~5,350 ratings per movie and ~51 per user on average.
    return max(1, int(round(per_movie * 10_000 / 5_350 / 10))), max(1, int(round(per_user * 200 / 51 / 10)))


def filter_min_counts(
    ratings: pd.DataFrame, min_movie_ratings: int = 1, min_user_ratings: int = 1
) -> tuple[pd.DataFrame, FilterReport]:
    """Keep movies with at least `min_movie_ratings` and users with at least `min_user_ratings`.

    Both counts are taken on the unfiltered table, as the notebook did (one pass, no iteration).
    """
    movie_counts = ratings["movie"].value_counts()
    user_counts = ratings["user"].value_counts()
    keep_movies = movie_counts.index[movie_counts >= min_movie_ratings]
    keep_users = user_counts.index[user_counts >= min_user_ratings]
    mask = ratings["movie"].isin(keep_movies) & ratings["user"].isin(keep_users)
    kept = ratings[mask].reset_index(drop=True)
    report = FilterReport(
        ratings_before=len(ratings),
        ratings_after=len(kept),
        users_before=int(ratings["user"].nunique()),
        users_after=int(kept["user"].nunique()),
        movies_before=int(ratings["movie"].nunique()),
        movies_after=int(kept["movie"].nunique()),
    )
    return kept, report
