"""`time_baseline`: the time effects it recovers from generated ratings, its date handling and fallbacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.core.data.split import holdout_split
from movierec.core.data.synthetic import time_effect_ratings
from movierec.core.data.tables import Dataset, make_movies
from movierec.core.errors import DataError
from movierec.core.evaluation import rmse, run_benchmark
from movierec.core.models import create_engine
from movierec.core.models.base import rating_days


@pytest.fixture(scope="module")
def generated():
    return time_effect_ratings()


@pytest.fixture(scope="module")
def split(generated):
    return holdout_split(generated[0], 0.2, seed=3)


@pytest.fixture(scope="module")
def fitted(split):
    return create_engine("time_baseline").fit(split[0])


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def test_generated_ratings_carry_the_effects_they_report(generated):
    ratings, effects = generated
    assert set(ratings["rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    sittings = ratings.groupby(["user", "date"]).size()
    assert len(sittings) == len(effects.session_bias)
    assert sittings.mean() > 3  # several ratings per sitting: day biases are learnable


def test_day_biases_are_recovered(generated, fitted):
    sessions = generated[1].session_bias
    users = fitted.users_.index_of(sessions["user"].to_numpy())
    learned = fitted.biases_._day_bias(users, rating_days(sessions["date"].to_numpy(), len(sessions)))
    assert _correlation(learned, sessions["bias"].to_numpy()) > 0.6


def test_user_drift_and_bias_are_recovered(generated, fitted):
    effects = generated[1]
    users = fitted.users_.index_of(np.arange(1, len(effects.drift) + 1))
    assert _correlation(fitted.biases_.alpha[users], effects.drift) > 0.6
    assert _correlation(fitted.biases_.user_bias[users], effects.user_bias) > 0.6


def test_movie_bias_moves_with_the_period(generated, fitted):
    effects = generated[1]
    positions = fitted.movies_.index_of(np.arange(1, len(effects.movie_trend) + 1))
    known = positions >= 0
    bins = fitted.biases_.bin_bias[positions[known]]
    learned_trend = bins[:, -5:].mean(axis=1) - bins[:, :5].mean(axis=1)
    assert _correlation(learned_trend, effects.movie_trend[known]) > 0.4


def test_time_effects_lower_the_error_against_the_static_baseline(split, fitted):
    train, test = split
    static = create_engine("baseline").fit(train)
    users, movies, dates = test["user"].to_numpy(), test["movie"].to_numpy(), test["date"].to_numpy()
    static_rmse = rmse(test["rating"].to_numpy(), static.predict(users, movies))
    time_rmse = rmse(test["rating"].to_numpy(), fitted.predict(users, movies, dates))
    assert time_rmse < 0.92 * static_rmse


def test_without_a_date_the_users_latest_training_date_is_used(split, fitted):
    train = split[0]
    latest = train.groupby("user")["date"].max()
    pairs = train.sample(40, random_state=1)
    dates = latest.loc[pairs["user"]].to_numpy()
    without = fitted.predict(pairs["user"], pairs["movie"])
    np.testing.assert_allclose(without, fitted.predict(pairs["user"], pairs["movie"], dates))
    with_nat = np.array(dates, copy=True)
    with_nat[::2] = np.datetime64("NaT")
    np.testing.assert_allclose(fitted.predict(pairs["user"], pairs["movie"], with_nat), without)


def test_an_unseen_day_falls_back_to_the_static_parts(split, fitted):
    train = split[0]
    user, movie = int(train["user"].iloc[0]), int(train["movie"].iloc[0])
    rated_days = set(rating_days(train.loc[train["user"] == user, "date"].to_numpy(), int((train["user"] == user).sum())))
    first = int(min(rated_days))
    day = next(d for d in range(first + 1, first + 400) if d not in rated_days)
    b, u, m = fitted.biases_, fitted.users_.position(user), fitted.movies_.position(movie)
    expected = (b.mu + b.movie_bias[m] + b.bin_bias[m, b._bin(np.array([day]))[0]] + b.user_bias[u]
                + b.alpha[u] * b._dev(np.array([u]), np.array([float(day)]))[0])
    date = np.datetime64("1970-01-01") + np.timedelta64(day, "D")
    predicted = fitted.predict([user], [movie], [date])[0]
    assert predicted == pytest.approx(np.clip(expected, 1, 5), abs=1e-5)


def test_unknown_users_and_movies_get_the_known_parts(fitted, split):
    train = split[0]
    movie = int(train["movie"].iloc[0])
    unknown_user = fitted.predict([10**8], [movie], ["2003-05-01"])[0]
    b, m = fitted.biases_, fitted.movies_.position(movie)
    day = rating_days(np.array(["2003-05-01"]), 1)
    assert unknown_user == pytest.approx(b.mu + b.movie_bias[m] + b.bin_bias[m, b._bin(day)[0]], abs=1e-5)
    assert fitted.predict([10**8], [10**8])[0] == pytest.approx(b.mu, abs=1e-5)


def test_without_dates_it_is_the_static_baseline(split):
    undated = split[0].assign(date=np.datetime64("NaT"))
    params = {"reg_user": 15.0, "reg_movie": 10.0, "n_epochs": 10}
    timed = create_engine("time_baseline", **params).fit(undated)
    static = create_engine("baseline", **params).fit(undated)
    test = split[1]
    np.testing.assert_allclose(timed.predict(test["user"], test["movie"], test["date"]),
                               static.predict(test["user"], test["movie"]), atol=1e-5)
    np.testing.assert_allclose(timed.recommend(int(test["user"].iloc[0]), k=5)["movie"],
                               static.recommend(int(test["user"].iloc[0]), k=5)["movie"])


def test_recommend_scores_at_the_users_latest_date(fitted, split):
    user = int(split[0]["user"].iloc[0])
    top = fitted.recommend(user, k=5)
    latest = split[0].loc[split[0]["user"] == user, "date"].max()
    dated = fitted.predict(np.full(5, user), top["movie"], np.full(5, latest))
    np.testing.assert_allclose(top["predicted_rating"], dated, atol=1e-5)


def test_the_benchmark_predicts_on_the_test_dates(generated, split):
    ratings = generated[0]
    ids = np.unique(ratings["movie"])
    dataset = Dataset("time-effects", ratings, make_movies(ids, [f"movie {i}" for i in ids]))
    result = run_benchmark(dataset, "holdout:0.2", ["time_baseline"], seed=3)
    train, test = split
    by_hand = create_engine("time_baseline").fit(train).predict(test["user"], test["movie"], test["date"])
    table = result.table
    measured = float(table.loc[table["metric"] == "rmse", "value"].iloc[0])
    assert measured == pytest.approx(rmse(test["rating"].to_numpy(), by_hand), abs=1e-6)


def test_rating_days_reads_dates_text_and_nat():
    days = rating_days(np.array(["1970-01-02", "NaT", "2005-12-31"], dtype="datetime64[s]"), 3)
    assert days[0] == 1 and np.isnan(days[1]) and days[2] == 13148
    assert rating_days(pd.Series(["1999-11-11"]).to_numpy(), 1)[0] == 10906
    with pytest.raises(ValueError, match="one entry per pair"):
        rating_days(np.array(["1999-11-11"]), 2)
    with pytest.raises(DataError, match="dates must be dates"):
        rating_days(np.array(["yesterday"]), 1)


@pytest.mark.parametrize("params, message", [({"n_bins": 0}, "n_bins"), ({"beta": 0}, "beta"),
                                             ({"reg_day": -1}, "reg_day")])
def test_bad_parameters_are_named(split, params, message):
    with pytest.raises(DataError, match=message):
        create_engine("time_baseline", **params).fit(split[0])


def test_a_blend_passes_the_dates_to_its_time_aware_members(split):
    train, test = split
    # without support features the prediction is the plain weighted sum checked below
    blend = create_engine("blend", members=("baseline", "time_baseline"), support=()).fit(train)
    assert blend.uses_dates and not create_engine("blend", members=("baseline", "user_knn"), support=("user", "movie")).uses_dates
    users, movies, dates = test["user"].to_numpy(), test["movie"].to_numpy(), test["date"].to_numpy()
    static, timed = (member.predict(users, movies, dates).astype(np.float64) for member in blend.members_)
    weights = blend.member_weights()
    expected = weights["intercept"] + weights["baseline"] * static + weights["time_baseline"] * timed
    # members clip their own predictions in `predict`; inside the blend they are unclipped
    inside = (static > 1) & (static < 5) & (timed > 1) & (timed < 5)
    np.testing.assert_allclose(blend.predict(users, movies, dates)[inside], np.clip(expected, 1, 5)[inside], atol=1e-4)
    assert weights["time_baseline"] > weights["baseline"]
