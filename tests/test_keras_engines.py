"""The Keras engines (keras_mf, keras_deep, keras_hybrid) on the embedded sample.

Each engine is trained once per module with few epochs and small layers; tests assert quality
relations (beats the per-movie mean), not figures from one machine.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from movierec.core.data.split import iter_folds
from movierec.core.errors import DataError
from movierec.core.models.registry import create_engine, load_engine

ENGINES = ("keras_mf", "keras_deep", "keras_hybrid")
SMALL = {
    "keras_mf": {"factors": 16, "epochs": 12, "batch_size": 1024, "learning_rate": 0.005},
    "keras_deep": {"epochs": 8, "batch_size": 1024, "learning_rate": 0.003},
    "keras_hybrid": {"hidden_units": (128,), "epochs": 6, "batch_size": 1024, "learning_rate": 0.003},
}


@pytest.fixture(scope="module")
def fold(sample):
    return next(iter_folds(sample, "holdout:0.1", seed=7))


@pytest.fixture(scope="module")
def progress_calls():
    return []


@pytest.fixture(scope="module")
def trained(sample, fold, progress_calls):
    engines = {}
    for name in ENGINES:
        progress = (lambda fraction, message: progress_calls.append((fraction, message))) if name == "keras_mf" else None
        engines[name] = create_engine(name, progress=progress, **SMALL[name]).fit(fold.train, sample.movies)
    return engines


def rmse(engine, test: pd.DataFrame) -> float:
    predicted = engine.predict(test["user"].to_numpy(), test["movie"].to_numpy())
    return float(np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2)))


def movie_mean_rmse(train: pd.DataFrame, test: pd.DataFrame) -> float:
    means = train.groupby("movie")["rating"].mean()
    predicted = test["movie"].map(means).fillna(train["rating"].mean()).to_numpy()
    return float(np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2)))


@pytest.mark.parametrize("name", ENGINES)
def test_engine_beats_the_per_movie_mean(trained, fold, name):
    assert rmse(trained[name], fold.test) < movie_mean_rmse(fold.train, fold.test) - 0.02


@pytest.mark.parametrize("name", ENGINES)
def test_numpy_answers_match_the_keras_model(trained, fold, name):
    from movierec.core.models.keras_common import import_keras, make_dataset

    engine = trained[name]
    tf, _ = import_keras()
    test = fold.test.head(3000)
    users = engine.users_.index_of(test["user"].to_numpy())
    movies = engine.movies_.index_of(test["movie"].to_numpy())
    users, movies = engine._unknown_to_last(users, movies)
    features = {"user": users.astype(np.int32), "movie": movies.astype(np.int32)}
    dataset = make_dataset(tf, features, None, 1024, False, 0, engine._batch_map(tf))
    keras_scores = engine.model_.predict(dataset, verbose=0)[:, 0] + engine.global_mean_
    expected = np.clip(keras_scores, *engine.rating_range_)
    np.testing.assert_allclose(engine.predict(test["user"], test["movie"]), expected, atol=1e-4)


@pytest.mark.parametrize("name", ENGINES)
def test_recommend_gives_unseen_movies_best_first(trained, fold, name):
    engine = trained[name]
    user = int(fold.train["user"].iloc[0])
    top = engine.recommend(user, k=10)
    seen = set(fold.train.loc[fold.train["user"] == user, "movie"])
    assert len(top) == 10 and not seen & set(top["movie"])
    assert top["score"].is_monotonic_decreasing
    # the batched scores agree with pairwise predictions
    np.testing.assert_allclose(top["score"], engine.predict(np.full(10, user), top["movie"]), atol=1e-5)


@pytest.mark.parametrize("name", ENGINES)
def test_similar_movies_are_cosine_neighbours_of_the_movie(trained, name):
    engine = trained[name]
    movie = int(engine.movies_.ids[5])
    similar = engine.similar_movies(movie, k=5)
    assert len(similar) == 5 and movie not in set(similar["movie"])
    assert similar["score"].is_monotonic_decreasing and similar["score"].between(-1, 1).all()


@pytest.mark.parametrize("name", ENGINES)
def test_fold_in_user_who_loves_one_genre_gets_that_genre(trained, sample, name):
    engine = trained[name]
    movies = sample.movies.dropna(subset=["genres"])
    movies = movies[movies["movie"].isin(engine.movies_.ids)]
    single = movies[~movies["genres"].str.contains("|", regex=False)]
    genre_of = dict(zip(movies["movie"], movies["genres"]))
    shares = []
    for genre in ("Horror", "Comedy", "Documentary"):
        loved = single.loc[single["genres"] == genre, "movie"].head(8).tolist()
        disliked = single.loc[single["genres"] != genre, "movie"].head(8).tolist()
        ratings = {**{m: 5.0 for m in loved}, **{m: 1.0 for m in disliked}}
        top = engine.recommend_for_ratings(ratings, k=10)
        assert not set(top["movie"]) & set(ratings)
        shares.append(np.mean([genre in genre_of[m] for m in top["movie"]]))
    # about a fifth of the movies carry each genre
    assert np.mean(shares) >= 0.5, shares


@pytest.mark.parametrize("name", ENGINES)
def test_save_and_load_give_identical_answers(trained, fold, tmp_path, name):
    engine = trained[name]
    engine.save(tmp_path / name)
    assert (tmp_path / name / "model.keras").exists()
    assert "progress" not in json.loads((tmp_path / name / "engine.json").read_text())["params"]
    loaded = load_engine(tmp_path / name)
    test = fold.test.head(2000)
    np.testing.assert_array_equal(loaded.predict(test["user"], test["movie"]), engine.predict(test["user"], test["movie"]))
    user = int(fold.train["user"].iloc[3])
    pd.testing.assert_frame_equal(loaded.recommend(user, 5), engine.recommend(user, 5))
    movie = int(engine.movies_.ids[0])
    pd.testing.assert_frame_equal(loaded.similar_movies(movie, 5), engine.similar_movies(movie, 5))
    rated = {int(m): 4.0 for m in engine.movies_.ids[:5]}
    pd.testing.assert_frame_equal(loaded.recommend_for_ratings(rated, 5), engine.recommend_for_ratings(rated, 5))


@pytest.mark.parametrize("name", ENGINES)
def test_unknown_users_and_movies_get_a_prediction(trained, name):
    predicted = trained[name].predict([10**9, int(trained[name].users_.ids[0])], [int(trained[name].movies_.ids[0]), 10**9])
    assert np.isfinite(predicted).all() and ((predicted >= 1) & (predicted <= 5)).all()


def test_hybrid_predicts_for_a_movie_without_overview(trained, sample, fold):
    engine = trained["keras_hybrid"]
    no_text = sample.movies.loc[sample.movies["overview"].isna(), "movie"]
    rated_without = [m for m in no_text if m in engine.movies_]
    assert rated_without, "the sample has rated movies without an overview"
    movie = int(rated_without[0])
    row = engine.overviews_[engine.movies_.position(movie)]
    assert row.nnz == 1 and row.indices[0] == engine.overviews_.shape[1] - 1  # only the indicator
    users = engine.users_.ids[:50]
    predicted = engine.predict(users, np.full(len(users), movie))
    assert np.isfinite(predicted).all() and predicted.std() > 0  # personalised, not a constant
    assert engine.overview_count_ > 0.8 * len(engine.movies_)


def test_hybrid_without_overviews_is_a_clear_error(fold):
    with pytest.raises(DataError, match="pass the movies table"):
        create_engine("keras_hybrid", epochs=1).fit(fold.train.head(500))


def test_progress_reports_fractions_up_to_one(trained, progress_calls):
    fractions = [fraction for fraction, _ in progress_calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("rmse" in message for _, message in progress_calls)
    assert trained["keras_mf"].epochs_run_ <= SMALL["keras_mf"]["epochs"]


def test_early_stopping_keeps_the_best_validation_epoch(trained):
    history = trained["keras_deep"].history_
    assert "val_rmse" in history and len(history["val_rmse"]) >= 1


def test_same_seed_gives_the_same_predictions(fold):
    train = fold.train.head(8000)
    first, second = (create_engine("keras_mf", factors=8, epochs=2, seed=3).fit(train) for _ in range(2))
    test = fold.test.head(500)
    np.testing.assert_array_equal(first.predict(test["user"], test["movie"]), second.predict(test["user"], test["movie"]))
