"""The one interface: every classic engine answers the same questions the same way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.core.data.split import holdout_split
from movierec.core.errors import DataError, NotFittedError, UnknownMovieError, UnknownUserError, UnsupportedError
from movierec.core.models import create_engine, load_engine, top_k
from movierec.core.models.base import movie_reference, render_reason
from movierec.core.models.registry import CLASSIC_ENGINES


@pytest.fixture(scope="module")
def train(sample) -> pd.DataFrame:
    return holdout_split(sample.ratings, 0.2, seed=1)[0]


@pytest.fixture(scope="module")
def fitted(sample, train) -> dict:
    return {name: create_engine(name).fit(train, sample.movies) for name in CLASSIC_ENGINES}


@pytest.fixture(scope="module")
def a_user(train) -> int:
    return int(train["user"].iloc[0])


@pytest.mark.parametrize("name", CLASSIC_ENGINES)
def test_unknown_user_is_a_clear_error(fitted, name):
    with pytest.raises(UnknownUserError, match="unknown user 123456789"):
        fitted[name].recommend(123456789)


@pytest.mark.parametrize("name", CLASSIC_ENGINES)
@pytest.mark.parametrize("k", [0, -3, 2.5, True, "10"])
def test_k_must_be_a_positive_integer(fitted, a_user, name, k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        fitted[name].recommend(a_user, k=k)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        fitted[name].recommend_many([a_user], k=k)


@pytest.mark.parametrize("name", CLASSIC_ENGINES)
def test_exclude_seen_really_excludes_training_movies(fitted, train, name):
    engine = fitted[name]
    heavy = int(train["user"].value_counts().index[0])
    rated = set(train.loc[train["user"] == heavy, "movie"].tolist())
    top = engine.recommend(heavy, k=50)
    assert len(top) == 50
    assert not rated & set(top["movie"].tolist())
    everything = engine.recommend(heavy, k=len(engine.movies_), exclude_seen=False)
    assert rated <= set(everything["movie"].tolist())


@pytest.mark.parametrize("name", CLASSIC_ENGINES)
def test_recommend_many_matches_recommend(fitted, train, name):
    engine = fitted[name]
    users = train["user"].drop_duplicates().to_numpy()[:20]
    many = engine.recommend_many(np.r_[users, 987654321], k=7)
    assert set(many) == set(users.tolist())  # unknown users are left out, not guessed
    for user in users.tolist():
        assert many[user].tolist() == engine.recommend(user, k=7)["movie"].tolist()


@pytest.mark.parametrize("name", CLASSIC_ENGINES)
def test_recommendations_are_sorted_best_first(fitted, a_user, name):
    scores = fitted[name].recommend(a_user, k=20)["score"].to_numpy()
    assert np.all(np.diff(scores) <= 0)


@pytest.mark.parametrize("name", CLASSIC_ENGINES)
def test_save_and_load_give_identical_answers(fitted, sample, a_user, tmp_path, name):
    engine = fitted[name]
    folder = engine.save(tmp_path / name)
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "engine.json"]
    again = load_engine(folder)
    assert type(again) is type(engine) and again.get_params() == engine.get_params()
    pd.testing.assert_frame_equal(again.recommend(a_user, k=15), engine.recommend(a_user, k=15))
    if engine.predicts_ratings:
        users = sample.ratings["user"].to_numpy()[:500]
        movies = sample.ratings["movie"].to_numpy()[::-1][:500]
        np.testing.assert_array_equal(again.predict(users, movies), engine.predict(users, movies))
    if engine.has_similar_movies:
        pd.testing.assert_frame_equal(again.similar_movies(3, k=5), engine.similar_movies(3, k=5))
    if engine.supports_fold_in:
        liked = {3: 5.0, 7: 4.0, 11: 1.0}
        pd.testing.assert_frame_equal(again.recommend_for_ratings(liked, k=5), engine.recommend_for_ratings(liked, k=5))


@pytest.mark.parametrize("name", CLASSIC_ENGINES)
def test_predictions_for_unseen_ids_fall_back_instead_of_failing(fitted, a_user, name):
    engine = fitted[name]
    if not engine.predicts_ratings:
        with pytest.raises(UnsupportedError):
            engine.predict([a_user], [1])
        return
    predicted = engine.predict([a_user, 987654321, a_user, 987654321], [1, 1, 987654321, 987654321])
    assert np.isfinite(predicted).all()
    low, high = engine.rating_range_
    assert ((predicted >= low) & (predicted <= high)).all()


#: every classic engine that answers for a user unseen at fit time (a new one joins without an edit here)
FOLD_IN = [name for name in CLASSIC_ENGINES if create_engine(name).supports_fold_in]


def test_the_classic_engines_with_fold_in_are_still_there():
    assert {"baseline", "user_knn", "item_knn", "content_tfidf", "ease"} <= set(FOLD_IN)


@pytest.mark.parametrize("name", FOLD_IN)
def test_fold_in_gives_recommendations_without_the_rated_movies(fitted, name):
    engine = fitted[name]
    rated = {3: 5.0, 7: 4.5, 11: 1.0}
    top = engine.recommend_for_ratings(rated, k=10)
    assert len(top) == 10 and not set(rated) & set(top["movie"].tolist())
    with pytest.raises(DataError, match="outside"):
        engine.recommend_for_ratings({3: 9.0}, k=5)
    with pytest.raises(UnknownMovieError):
        engine.recommend_for_ratings({987654321: 4.0}, k=5)


def test_popularity_engines_do_not_claim_fold_in(fitted):
    with pytest.raises(UnsupportedError):
        fitted["mean"].recommend_for_ratings({3: 5.0})


def test_questions_before_fit_are_a_clear_error():
    with pytest.raises(NotFittedError, match="call fit"):
        create_engine("baseline").recommend(1)


def test_explanations_name_movies_by_placeholder_that_render_to_titles(fitted, sample, a_user):
    engine = fitted["item_knn"]
    top = engine.recommend(a_user, k=5)["movie"].to_numpy()
    texts = engine.explain(a_user, top)
    assert len(texts) == 5 and any(texts)
    reasons = engine.reasons(a_user, top)
    for text, reason in zip(texts, reasons):
        if reason is not None:
            assert movie_reference(reason["movie"]) in text
            rendered = render_reason(text, sample.title_of)
            assert sample.title_of(reason["movie"]) in rendered and "{movie:" not in rendered


def test_top_k_skips_excluded_positions_and_nans():
    scores = np.array([0.5, np.nan, 0.9, 0.1, 0.9])
    assert top_k(scores, 3).tolist() == [2, 4, 0]
    assert top_k(scores, 10, exclude=np.array([2])).tolist() == [4, 0, 3]


def test_top_k_breaks_ties_at_the_cut_by_lowest_position():
    scores = np.array([1.0] * 50 + [2.0])
    assert top_k(scores, 3).tolist() == [50, 0, 1]
    assert top_k(np.array([np.inf, 1.0, np.inf, 0.5]), 3).tolist() == [0, 2, 1]
