"""Similar titles by several engines: combined by rank, ties and scales never decide, weak evidence kept down."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from movierec.core.cli import main
from movierec.core.errors import DataError, UnknownMovieError
from movierec.core.models import create_engine
from movierec.core.models.base import Recommender
from movierec.core.models.similarity import blended_similar

# movies 1..6; movie 6 is rated by one user only, the others by everyone
RATINGS = pd.DataFrame(
    [(u, m, float(1 + (u * m) % 5)) for u in range(1, 21) for m in range(1, 6)] + [(1, 6, 5.0)],
    columns=["user", "movie", "rating"],
)


class FixedSimilarity(Recommender):
    """An engine whose similarities to movie 1 are given: a real engine with a known answer."""

    name = "fixed"

    def __init__(self, scores: dict[int, float] | None = None) -> None:
        self.scores = scores

    def _fit(self, ratings: pd.DataFrame, movies: Any) -> None:
        self.row_ = np.array([np.nan if m not in self.scores else self.scores[m] for m in self.movies_.ids.tolist()])

    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        if self.movies_.ids[movie_idx] != 1:
            raise UnknownMovieError("this engine knows movie 1 only")
        return self.row_


def _fixed(scores: dict[int, float]) -> FixedSimilarity:
    return FixedSimilarity(scores).fit(RATINGS)


def test_a_movie_both_engines_list_beats_one_that_only_one_lists_first():
    first = _fixed({2: 0.99, 3: 0.98, 4: 0.10})
    second = _fixed({3: 0.02, 5: 0.03})  # another scale entirely
    blended = blended_similar([first, second], 1, k=4, evidence=0)
    assert blended["movie"].tolist()[0] == 3
    assert blended["rank_fixed"].tolist()[0] == 2.0 and blended["rank_fixed_2"].tolist()[0] == 2.0


def test_tied_scores_are_not_ordered_by_movie_id():
    # the first engine cannot tell 2 from 4; the second prefers 4, so 4 leads whatever the ids
    tied = _fixed({2: 0.5, 4: 0.5})
    prefers_four = _fixed({4: 0.9, 2: 0.1})
    assert blended_similar([tied, prefers_four], 1, k=2, evidence=0)["movie"].tolist() == [4, 2]
    prefers_two = _fixed({2: 0.9, 4: 0.1})
    assert blended_similar([tied, prefers_two], 1, k=2, evidence=0)["movie"].tolist() == [2, 4]
    # alone, tied movies share their mean rank
    alone = blended_similar([tied], 1, k=2, evidence=0)
    assert alone["score"].nunique() == 1 and (alone["rank_fixed"] == 1.5).all()


def test_a_movie_rated_once_is_kept_below_well_rated_ones():
    overviews = _fixed({6: 0.99, 2: 0.50})
    ratings = _fixed({3: 0.40, 2: 0.30})
    blended = blended_similar([overviews, ratings], 1, k=3)
    assert blended["movie"].tolist()[-1] == 6
    assert blended.set_index("movie")["ratings"].to_dict() == {2: 20, 3: 20, 6: 1}
    assert 6 not in blended_similar([overviews, ratings], 1, k=3, min_ratings=2)["movie"].tolist()


def test_weights_tilt_the_blend_and_bad_weights_are_named():
    first, second = _fixed({2: 0.9, 3: 0.1}), _fixed({3: 0.9, 2: 0.1})
    assert blended_similar([first, second], 1, k=1, weights=[1.0, 3.0], evidence=0)["movie"].tolist() == [3]
    assert blended_similar([first, second], 1, k=1, weights=[3.0, 1.0], evidence=0)["movie"].tolist() == [2]
    with pytest.raises(DataError, match="weights"):
        blended_similar([first, second], 1, weights=[1.0])
    with pytest.raises(DataError, match="at least one engine"):
        blended_similar([], 1)


def test_an_engine_that_cannot_answer_is_left_out_and_named():
    knows_movie_one = _fixed({2: 0.9})
    item_knn = create_engine("item_knn").fit(RATINGS)
    blended = blended_similar([knows_movie_one, item_knn], 3, k=2)
    assert len(blended) == 2 and list(blended.columns) == ["movie", "score", "ratings", "rank_item_knn"]
    assert len(blended.attrs["failures"]) == 1 and blended.attrs["failures"][0].startswith("fixed: ")
    with pytest.raises(UnknownMovieError, match="movie 1 only"):
        blended_similar([knows_movie_one], 3, k=1)


def test_item_knn_and_overviews_blend_on_the_sample(sample):
    engines = [create_engine("item_knn").fit(sample.ratings), create_engine("content_tfidf").fit(sample.ratings, sample.movies)]
    movie = int(sample.ratings["movie"].value_counts().index[0])
    blended = blended_similar(engines, movie, k=10, min_ratings=5)
    assert len(blended) == 10 and movie not in blended["movie"].tolist()
    assert (blended["ratings"] >= 5).all()
    assert blended["score"].is_monotonic_decreasing


def test_cli_similar_blends_engines_and_filters_rare_movies(capsys, sample):
    movie = int(sample.ratings["movie"].value_counts().index[0])
    counts = sample.ratings["movie"].value_counts()
    assert main(["similar", "sample", "--movie-id", str(movie), "--engine", "item_knn,content_tfidf",
                 "--min-ratings", "20", "-k", "5", "--json"]) == 0
    listed = [row["movie"] for row in json.loads(capsys.readouterr().out)["similar"]]
    assert len(listed) == 5 and all(counts[m] >= 20 for m in listed)


def test_cli_recommend_filters_rare_movies(capsys, sample):
    user = int(sample.ratings["user"].value_counts().index[0])
    counts = sample.ratings["movie"].value_counts()
    assert main(["recommend", "sample", "--user", str(user), "--engine", "item_knn", "--min-ratings", "30",
                 "-k", "5", "--json"]) == 0
    listed = [row["movie"] for row in json.loads(capsys.readouterr().out)["recommendations"]]
    assert len(listed) == 5 and all(counts[m] >= 30 for m in listed)
