"""Top-N charts: mean and weighted rating, recommendations for a user, similar movies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from movierec.core.data.tables import empty_ratings, make_movies, make_ratings
from movierec.viz.ranking_charts import (
    movie_rating_stats,
    top_mean_rating,
    top_recommendations,
    top_similar_movies,
    top_weighted_rating,
    weighted_ratings,
)


def scores_of(figure: go.Figure) -> np.ndarray:
    """The score each bar ends at (bars span base .. base + x)."""
    trace = figure.data[0]
    return np.asarray(trace.x, dtype=float) + float(trace.base)


def test_top_mean_rating_ranks_movies_with_enough_ratings_best_first(sample):
    figure = top_mean_rating(sample.ratings, sample.movies, n=10, min_ratings=100, rmse=0.98741)
    trace = figure.data[0]
    assert isinstance(trace, go.Bar) and trace.orientation == "h"
    assert figure.layout.title.text.startswith("Ranking Of Top 10 Mean-Movie-Ratings: 0.9874 RMSE")
    stats = movie_rating_stats(sample.ratings)
    expected = stats[stats["ratings"] >= 100].nlargest(10, "mean")
    np.testing.assert_allclose(scores_of(figure), expected["mean"].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(trace.customdata, expected["mean"].to_numpy(), rtol=1e-6)
    assert list(trace.y) == list(range(1, 11)) and figure.layout.yaxis.autorange == "reversed"
    first = expected.iloc[0]
    assert trace.text[0] == f"{sample.title_of(int(first['movie']))}: {int(first['ratings']):,} Ratings"


def test_weighted_rating_pulls_rarely_rated_movies_to_the_global_mean():
    # movie 1: one 5-star rating; movie 2: fifty ratings averaging 4.5; movie 3: fifty 2-star ratings
    users = np.arange(101)
    ratings = make_ratings(users, [1] + [2] * 50 + [3] * 50, [5.0] + [4.0, 5.0] * 25 + [2.0] * 50)
    movies = make_movies([1, 2, 3], ["One Hit", "Steady", "Flop"])
    by_mean = top_mean_rating(ratings, movies, n=2, min_ratings=1)
    by_weight = top_weighted_rating(ratings, movies, n=2, min_votes=10)
    assert by_mean.data[0].text[0].startswith("One Hit")
    assert by_weight.data[0].text[0].startswith("Steady")
    assert "m = 10" in by_weight.layout.title.text
    table = weighted_ratings(ratings, 10).set_index("movie")
    c = ratings["rating"].mean()
    assert table.loc[1, "score"] == pytest.approx(1 / 11 * 5.0 + 10 / 11 * c)


def test_weighted_top_list_on_movielens_holds_well_known_titles(movielens_small):
    figure = top_weighted_rating(movielens_small.ratings, movielens_small.movies, n=10)
    titles = [text.split(":")[0] for text in figure.data[0].text]
    assert "Shawshank Redemption, The" in titles
    assert list(scores_of(figure)) == sorted(scores_of(figure), reverse=True)


def test_recommendations_show_titles_and_scores_best_first():
    recs = pd.DataFrame({"movie": [10, 11, 12], "score": [3.9, 4.6, 4.2], "title": ["C", "A", "B"]})
    figure = top_recommendations(recs, n=2, user=42, engine="svd", rmse=0.8712)
    trace = figure.data[0]
    assert figure.layout.title.text == "Ranking Of Top 2 Recommended Movies For User 42 By svd: 0.8712 RMSE"
    assert list(trace.text) == ["A: 4.600", "B: 4.200"]
    np.testing.assert_allclose(scores_of(figure), [4.6, 4.2])
    assert "4.6000" in trace.hovertext[0]


def test_titles_come_from_the_movies_table_or_fall_back_to_the_id(sample):
    recs = pd.DataFrame({"movie": [1, 99999], "score": [0.9, 0.8]})
    figure = top_recommendations(recs, sample.movies)
    assert list(figure.data[0].text) == [f"{sample.title_of(1)}: 0.900", "movie 99999: 0.800"]


def test_nan_scores_are_left_out_and_counted():
    recs = pd.DataFrame({"movie": [1, 2, 3, 4], "score": [0.5, np.nan, 0.7, np.inf], "title": list("abcd")})
    figure = top_recommendations(recs)
    assert list(figure.data[0].text) == ["c: 0.700", "a: 0.500"]
    assert figure.layout.title.text.endswith("(2 Without Score)")


def test_similar_movies_keep_only_top_n_of_thousands():
    rng = np.random.default_rng(0)
    similar = pd.DataFrame({"movie": np.arange(5000), "score": rng.random(5000)})
    similar["title"] = "movie #" + similar["movie"].astype(str)
    figure = top_similar_movies(similar, "Batman Begins", n=10, measure="Cosine TFIDF Description Similarity")
    assert len(figure.data[0].y) == 10
    np.testing.assert_allclose(scores_of(figure), np.sort(similar["score"].to_numpy())[::-1][:10])
    assert figure.layout.title.text == 'Ranking Of Top 10 Most Similar Movies To "Batman Begins"'
    assert figure.layout.xaxis.title.text == "Cosine TFIDF Description Similarity"
    assert figure.layout.height >= 10 * 40


def test_html_in_titles_is_escaped_in_text_hover_and_title():
    similar = pd.DataFrame({"movie": [1], "score": [0.4], "title": ["<b>Tom & Jerry</b>"]})
    figure = top_similar_movies(similar, "Fish <&> Chips")
    trace = figure.data[0]
    assert trace.text[0] == "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;: 0.400"
    assert "&lt;b&gt;Tom &amp; Jerry" in trace.hovertext[0]
    assert "Fish &lt;&amp;&gt; Chips" in figure.layout.title.text


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"movie": [], "score": []}),
    pd.DataFrame({"movie": [1, 2], "score": [np.nan, np.nan]}),
], ids=["empty", "all-nan"])
def test_rankings_without_scores_give_an_empty_chart(frame):
    for figure in (top_recommendations(frame), top_similar_movies(frame, "X")):
        assert figure.layout.height and not figure.data
        assert figure.layout.annotations[0].text


def test_one_rated_movie_and_no_ratings_do_not_crash():
    one = make_ratings([1], [5], [4.0])
    for chart in (top_mean_rating, top_weighted_rating):
        figure = chart(one)
        np.testing.assert_allclose(scores_of(figure), [4.0])
        assert figure.data[0].text[0] == "movie 5: 1 Ratings"
        assert not chart(empty_ratings()).data


def test_weighted_chart_scores_equal_the_weighted_engine(sample):
    from movierec.core.models import create_engine

    engine = create_engine("weighted").fit(sample.ratings)
    table = weighted_ratings(sample.ratings).set_index("movie")
    expected = engine.predict(np.zeros(len(table), dtype=np.int64), table.index.to_numpy())
    np.testing.assert_allclose(table["score"].to_numpy(), expected, rtol=1e-5)


def test_charts_carry_plotly_white_without_the_parts_movierec_never_draws():
    import json

    import plotly.io as pio

    from movierec.viz._style import layout

    template = go.Figure(layout=layout("t", "x", "y")).to_plotly_json()["layout"]["template"]
    white = pio.templates["plotly_white"].to_plotly_json()
    for key in ("plot_bgcolor", "paper_bgcolor", "xaxis", "yaxis", "font", "colorway"):
        assert template["layout"][key] == white["layout"][key]
    assert template["data"]["bar"] == white["data"]["bar"]
    assert "geo" not in template["layout"] and "surface" not in template["data"]
    assert len(json.dumps(template)) < len(json.dumps(white)) / 2  # sent with every chart
