"""recommend_many scores users in batches; engines with factor matrices use one matrix product."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.core.models import create_engine

ENGINES = {
    "keras_mf": {"n_factors": 8, "n_epochs": 2, "batch_size": 2048},
    "keras_timemf": {"n_factors": 8, "n_epochs": 2, "batch_size": 2048},
    "time_baseline": {},
    "time_item_knn": {},
    "surprise_svd": {"n_epochs": 5},
    "surprise_svdpp": {"n_epochs": 2},
    "lightfm_warp": {"epochs": 3},
}


@pytest.fixture(scope="module")
def train(sample):
    users = np.unique(sample.ratings["user"].to_numpy())[:300]
    return sample.ratings[sample.ratings["user"].isin(users)].reset_index(drop=True)


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_batched_recommend_many_matches_recommend(train, name):
    engine = create_engine(name, **ENGINES[name]).fit(train)
    users = np.unique(train["user"].to_numpy())[:40]
    many = engine.recommend_many(np.r_[users, 987654321], k=7, batch_size=16)
    assert sorted(many) == sorted(users.tolist())  # the unknown user is left out
    for user in users[:10]:
        single = engine.recommend(int(user), k=7)
        assert many[int(user)].tolist() == single["movie"].tolist()
        assert not set(many[int(user)]) & set(train.loc[train["user"] == user, "movie"])


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_batched_scores_equal_one_user_scores(train, name):
    engine = create_engine(name, **ENGINES[name]).fit(train)
    rows = np.array([0, 3, 5])
    batch = engine._score_users(rows)
    for i, row in enumerate(rows):
        np.testing.assert_allclose(batch[i], engine._score_users(np.array([row]))[0], rtol=1e-5, atol=1e-5)


RATING_ENGINES = {"item_knn": {}, "user_knn": {}, "surprise_svd": {}, "surprise_knnbaseline": {}}


@pytest.mark.parametrize("name", sorted(RATING_ENGINES))
def test_ties_at_the_top_of_the_scale_keep_their_true_order(train, name):
    engine = create_engine(name, **RATING_ENGINES[name]).fit(train)
    low, high = engine.rating_range_
    scores = engine._score_users(np.arange(len(engine.users_)))
    for row in range(len(scores)):
        scores[row, engine.seen_[row].indices] = -np.inf
    # the user whose unseen movies pass the top of the scale most often: clipped, they would all tie at 5
    row = int(np.argmax((scores > high).sum(axis=1)))
    assert (scores[row] > high).sum() >= 2
    frame = engine.recommend(int(engine.users_.ids[row]), k=10)
    assert frame["score"].iloc[0] > high and frame["score"].nunique() == len(frame)
    assert frame["movie"].tolist() == engine.movies_.ids[np.argsort(-scores[row], kind="stable")[:10]].tolist()
    assert frame["predicted_rating"].between(low, high).all()
    np.testing.assert_allclose(frame["predicted_rating"], np.clip(frame["score"], low, high))
    assert engine.predict(np.full(10, engine.users_.ids[row]), frame["movie"]).max() <= high


def test_ranking_only_engines_show_a_relevance_score_not_a_rating(train):
    frame = create_engine("lightfm_warp", epochs=3).fit(train).recommend(int(train["user"].iloc[0]), k=5)
    assert list(frame.columns) == ["movie", "score"]
