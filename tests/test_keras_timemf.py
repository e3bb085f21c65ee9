"""`keras_timemf`: factors over time-aware biases; dates in predict, recommend and fold-in at the latest date."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from movierec.core.data.split import holdout_split  # noqa: E402
from movierec.core.data.synthetic import time_effect_ratings  # noqa: E402
from movierec.core.evaluation import rmse  # noqa: E402
from movierec.core.models import create_engine  # noqa: E402

FAST = {"n_factors": 8, "n_epochs": 4, "validation_fraction": 0.1, "patience": 2}


@pytest.fixture(scope="module")
def split():
    return holdout_split(time_effect_ratings(n_users=300, n_movies=150)[0], 0.2, seed=5)


@pytest.fixture(scope="module")
def fitted(split):
    return create_engine("keras_timemf", **FAST).fit(split[0])


def test_time_effects_lower_the_error_against_keras_mf(split, fitted):
    train, test = split
    static = create_engine("keras_mf", **FAST).fit(train)
    actual = test["rating"].to_numpy()
    dated = fitted.predict(test["user"], test["movie"], test["date"].to_numpy())
    assert rmse(actual, dated) < 0.95 * rmse(actual, static.predict(test["user"], test["movie"]))
    # the dates matter: the same pairs at each user's latest day score worse
    assert rmse(actual, dated) < rmse(actual, fitted.predict(test["user"], test["movie"]))


def test_prediction_is_the_time_biases_plus_the_factor_model(split, fitted):
    test = split[1].head(30)
    users, movies = fitted.users_.index_of(test["user"].to_numpy()), fitted.movies_.index_of(test["movie"].to_numpy())
    from movierec.core.models.base import rating_days

    days = rating_days(test["date"].to_numpy(), len(test))
    b = fitted.biases_
    factors = (fitted.user_vectors_[users] * fitted.movie_vectors_[movies]).sum(axis=1)
    expected = b.predict(users, movies, days) + fitted.user_bias_[users] + fitted.movie_bias_[movies] + factors
    np.testing.assert_allclose(fitted.predict(test["user"], test["movie"], test["date"]),
                               np.clip(expected, 1, 5), atol=1e-4)


def test_without_a_date_the_users_latest_training_date_is_used(split, fitted):
    train = split[0]
    pairs = train.sample(30, random_state=2)
    latest = train.groupby("user")["date"].max().loc[pairs["user"]].to_numpy()
    np.testing.assert_allclose(fitted.predict(pairs["user"], pairs["movie"]),
                               fitted.predict(pairs["user"], pairs["movie"], latest))
    user = int(pairs["user"].iloc[0])
    top = fitted.recommend(user, k=5)
    when = np.full(5, train.loc[train["user"] == user, "date"].max())
    np.testing.assert_allclose(top["predicted_rating"], fitted.predict(np.full(5, user), top["movie"], when), atol=1e-4)


def test_a_folded_in_user_gets_the_movie_side_at_the_latest_date(fitted, split):
    liked = split[0].groupby("movie").size().sort_values().index[-3:]
    top = fitted.recommend_for_ratings({int(m): 5.0 for m in liked}, k=5)
    assert len(top) == 5 and not set(top["movie"]) & set(int(m) for m in liked)
    assert np.isfinite(top["score"]).all()
