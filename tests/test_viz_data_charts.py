"""The notebook's dataset charts: releases per year, star values, ratings per day, per movie, per user."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from movierec.core.data.tables import empty_ratings, make_movies, make_ratings
from movierec.viz import data_charts
from movierec.viz._style import RED
from movierec.viz.data_charts import (
    default_bin_size,
    default_clip,
    movies_by_year,
    rating_distribution,
    ratings_by_day,
    ratings_per_movie,
    ratings_per_user,
)

ALL_CHARTS = (movies_by_year, rating_distribution, ratings_by_day, ratings_per_movie, ratings_per_user)


def _input(chart, ratings: pd.DataFrame, movies: pd.DataFrame) -> pd.DataFrame:
    return movies if chart is movies_by_year else ratings


def test_movies_by_year_counts_every_title_and_names_the_total(sample):
    figure = movies_by_year(sample.movies)
    trace = figure.data[0]
    assert isinstance(trace, go.Scatter)
    assert figure.layout.title.text.startswith(f"{len(sample.movies):,} Movies Grouped By Year Of Release")
    dated = int(sample.movies["year"].notna().sum())
    assert int(np.sum(trace.y)) == dated
    assert list(trace.x) == sorted(trace.x)
    assert trace.marker.color == RED
    assert figure.layout.height


def test_years_without_releases_are_zero_not_skipped():
    movies = make_movies([1, 2, 3], ["A", "B", "C"], year=[1990, 1990, 1995])
    trace = movies_by_year(movies).data[0]
    assert list(trace.x) == [1990, 1991, 1992, 1993, 1994, 1995]
    assert list(trace.y) == [2, 0, 0, 0, 0, 1]


def test_all_netflix_titles_are_counted_and_missing_years_are_named(netflix_dir):
    from movierec.core.data import load_dataset

    movies = load_dataset(f"netflix:{netflix_dir}").movies
    figure = movies_by_year(movies)
    assert figure.layout.title.text == "17,770 Movies Grouped By Year Of Release (7 Without Year)"
    assert int(np.sum(figure.data[0].y)) == 17_770 - 7


def test_rating_distribution_shows_each_star_share_highest_star_first(sample):
    figure = rating_distribution(sample.ratings, "Netflix")
    trace = figure.data[0]
    assert isinstance(trace, go.Bar)
    assert figure.layout.title.text == f"Distribution Of {len(sample.ratings):,} Netflix-Ratings"
    assert list(trace.x) == [5.0, 4.0, 3.0, 2.0, 1.0]
    assert int(np.sum(trace.y)) == len(sample.ratings)
    shares = [float(text.rstrip(" %")) for text in trace.text]
    assert sum(shares) == pytest.approx(100, abs=0.3)
    top_share = (sample.ratings["rating"] == 5).mean() * 100
    assert shares[0] == pytest.approx(top_share, abs=0.05)


def test_movielens_half_stars_each_get_a_bar_and_a_tick(movielens_small):
    figure = rating_distribution(movielens_small.ratings, "MovieLens")
    trace = figure.data[0]
    assert list(trace.x) == [5.0, 4.5, 4.0, 3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5]
    assert int(np.sum(trace.y)) == 100_836
    assert figure.layout.xaxis.dtick == 0.5
    assert figure.layout.title.text == "Distribution Of 100,836 MovieLens-Ratings"


def test_ratings_by_day_sums_to_all_dated_ratings(movielens_small):
    figure = ratings_by_day(movielens_small.ratings)
    trace = figure.data[0]
    assert figure.layout.title.text == "100,836 Movie-Ratings Grouped By Day"
    assert int(np.sum(trace.y)) == 100_836
    days = pd.to_datetime(pd.Series(trace.x))
    assert days.is_monotonic_increasing and (days == days.dt.floor("D")).all()


def test_ratings_by_month_groups_fewer_points_and_undated_ratings_are_counted():
    ratings = make_ratings([1, 2, 3, 4], [1, 1, 2, 2], [4, 5, 3, 2],
                           np.array(["2005-01-03", "2005-01-20", "2005-03-01", "NaT"], dtype="datetime64[s]"))
    figure = ratings_by_day(ratings, period="month")
    assert list(figure.data[0].y) == [2, 1]
    assert figure.layout.title.text == "4 Movie-Ratings Grouped By Month (1 Without Date)"


def test_default_clip_and_bins_reproduce_the_notebook_shapes():
    # the notebook: 9,999 with bins of 100 per movie, 199 with bins of 2 per user
    assert default_bin_size(9_999) == 100
    assert default_bin_size(199) == 2
    assert default_clip(np.arange(1, 180)) == 199
    assert default_clip(np.arange(1, 9_000, 7)) == 9_999


def test_ratings_per_user_clips_at_the_value_in_the_title(sample):
    per_user = sample.ratings.groupby("user").size()
    figure = ratings_per_user(sample.ratings, clip=30, bin_size=5)
    trace = figure.data[0]
    assert figure.layout.title.text == "Distribution Of Ratings Per User (Clipped At 30)"
    assert int(np.sum(trace.y)) == len(per_user)
    # everything above the clip value lies in the last bin
    assert trace.y[-1] == int((per_user >= 30).sum())
    assert trace.customdata[-1].endswith("or more")


def test_ratings_per_movie_defaults_come_from_the_data(movielens_small):
    per_movie = movielens_small.ratings.groupby("movie").size()
    figure = ratings_per_movie(movielens_small.ratings)
    clip = default_clip(per_movie)
    assert figure.layout.title.text == f"Distribution Of Ratings Per Movie (Clipped At {clip:,})"
    assert (per_movie > clip).sum() > 0, "the default clips the long tail"
    assert int(np.sum(figure.data[0].y)) == len(per_movie)
    assert len(figure.data[0].y) <= data_charts.DEFAULT_BINS + 1


@pytest.mark.parametrize("chart", ALL_CHARTS, ids=lambda c: c.__name__)
def test_charts_cope_with_empty_and_one_row_tables(chart):
    empty_movies = make_movies([], [])
    figure = chart(_input(chart, empty_ratings(), empty_movies))
    assert isinstance(figure, go.Figure) and figure.layout.height and figure.layout.title.text
    one_rating = make_ratings([7], [3], [4.5], np.array(["2001-02-03"], dtype="datetime64[s]"))
    one_movie = make_movies([3], ["Tom & Jerry <uncut>"], year=[2001])
    figure = chart(_input(chart, one_rating, one_movie))
    assert len(figure.data) == 1
    assert int(np.sum(figure.data[0].y)) == 1


def test_bad_clip_and_period_name_the_value():
    ratings = make_ratings([1], [1], [3.0])
    with pytest.raises(ValueError, match="clip 0"):
        ratings_per_movie(ratings, clip=0)
    with pytest.raises(ValueError, match="'fortnight'"):
        ratings_by_day(ratings, period="fortnight")
