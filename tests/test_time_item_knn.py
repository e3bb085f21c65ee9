"""`time_item_knn`: item kNN over time_baseline's residuals, neighbours of the same sitting weighted up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.core.data.split import holdout_split
from movierec.core.data.synthetic import time_effect_ratings
from movierec.core.errors import DataError
from movierec.core.evaluation import rmse
from movierec.core.models import create_engine
from movierec.core.models.base import rating_days


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generated ratings whose sittings each carry a taste of their own, on top of the time effects."""
    ratings, _ = time_effect_ratings(session_taste=0.8)
    return holdout_split(ratings, 0.2, seed=3)


@pytest.fixture(scope="module")
def fitted(split):
    return create_engine("time_item_knn").fit(split[0])


def _rmse(engine, test: pd.DataFrame) -> float:
    return rmse(test["rating"], engine.predict(test["user"], test["movie"], test["date"]))


def test_a_sittings_own_taste_is_recovered_by_weighting_its_neighbours_up(split, fitted):
    train, test = split
    same_day = _rmse(fitted, test)
    every_day_alike = _rmse(create_engine("time_item_knn", same_day_weight=1.0).fit(train), test)
    assert same_day < every_day_alike - 0.002
    assert same_day < _rmse(create_engine("time_baseline").fit(train), test) - 0.01
    assert same_day < _rmse(create_engine("item_knn").fit(train), test) - 0.01


def test_prediction_is_the_time_baseline_plus_the_weighted_residuals_of_the_rated_neighbours(split, fitted):
    train, test = split
    baseline = create_engine("time_baseline").fit(train)
    train_days = rating_days(train["date"].to_numpy(), len(train))
    residual = train["rating"].to_numpy() - baseline.biases_.predict(
        baseline.users_.index_of(train["user"].to_numpy()), baseline.movies_.index_of(train["movie"].to_numpy()),
        train_days)
    rated = {(u, m): (r, d) for u, m, r, d in zip(train["user"], train["movie"], residual, train_days)}
    for row in test.head(40).itertuples():
        day = rating_days(np.array([row.date]), 1)[0]
        movie_index = fitted.movies_.position(row.movie)
        numerator = denominator = 0.0
        used = 0
        for neighbour, similarity in zip(fitted.neighbors_[movie_index], fitted.weights_[movie_index]):
            key = (row.user, int(fitted.movies_.ids[neighbour])) if neighbour >= 0 else None
            if key not in rated or used == fitted.n_neighbors:
                continue
            used += 1
            weight = similarity * (1.0 if rated[key][1] == day else fitted.same_day_weight)
            numerator += weight * rated[key][0]
            denominator += weight
        centre = baseline.predict([row.user], [row.movie], [row.date])[0]
        expected = centre + (numerator / (denominator + fitted.damping) if denominator > 0 else 0.0)
        got = fitted.predict([row.user], [row.movie], [row.date])[0]
        assert got == pytest.approx(np.clip(expected, 1, 5), abs=1e-4)


def test_with_no_weight_off_the_day_a_day_without_ratings_gets_the_time_baseline(split):
    train, test = split
    engine = create_engine("time_item_knn", same_day_weight=0.0).fit(train)
    baseline = create_engine("time_baseline").fit(train)
    far = np.full(len(test), np.datetime64("2030-01-01"), dtype="datetime64[s]")
    np.testing.assert_allclose(engine.predict(test["user"], test["movie"], far),
                               baseline.predict(test["user"], test["movie"], far), atol=1e-5)


def test_recommend_scores_as_predict_does_at_the_users_latest_day(split, fitted):
    user = int(split[0]["user"].iloc[0])
    ranked = fitted.recommend(user, k=10, exclude_seen=False)
    np.testing.assert_allclose(ranked["predicted_rating"], fitted.predict(np.full(10, user), ranked["movie"]), atol=1e-5)
    latest = split[0].loc[split[0]["user"] == user, "date"].max()
    np.testing.assert_allclose(fitted.predict(np.full(10, user), ranked["movie"], np.full(10, latest)),
                               fitted.predict(np.full(10, user), ranked["movie"]))


def test_a_folded_in_user_gets_recommendations(split, fitted):
    mine = split[0][split[0]["user"] == split[0]["user"].iloc[0]]
    ranked = fitted.recommend_for_ratings(dict(zip(mine["movie"], mine["rating"])), k=5)
    assert len(ranked) == 5 and not set(ranked["movie"]) & set(mine["movie"])


@pytest.mark.parametrize(("params", "message"), [({"same_day_weight": 1.5}, "same_day_weight"),
                                                  ({"n_neighbors": 0}, "n_neighbors"),
                                                  ({"reg_day": -1}, "reg_day")])
def test_bad_parameters_are_named(split, params, message):
    with pytest.raises(DataError, match=message):
        create_engine("time_item_knn", **params).fit(split[0])
