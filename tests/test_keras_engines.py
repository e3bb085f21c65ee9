"""The Keras engines (keras_mf, keras_deep, keras_hybrid) on the embedded sample.

Each engine is trained once per module with few epochs and small layers; tests assert quality
relations (beats the per-movie mean), not figures from one machine.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import check_factor_reasons
from movierec.core.data.split import iter_folds
from movierec.core.errors import DataError
from movierec.core.models.registry import create_engine, load_engine

ENGINES = ("keras_mf", "keras_deep", "keras_hybrid")
SMALL = {
    "keras_mf": {"n_factors": 16, "n_epochs": 12, "batch_size": 1024, "learning_rate": 0.005},
    "keras_deep": {"n_epochs": 8, "batch_size": 1024, "learning_rate": 0.003},
    "keras_hybrid": {"hidden_units": (128,), "n_epochs": 8, "batch_size": 1024, "learning_rate": 0.005},
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
    from movierec.core.models.deep.keras_common import import_keras

    engine = trained[name]
    tf, _ = import_keras()
    test = fold.test.head(3000)
    users = engine.users_.index_of(test["user"].to_numpy())
    movies = engine.movies_.index_of(test["movie"].to_numpy())
    users, movies = engine._unknown_to_last(users, movies)
    inputs = {"user": tf.constant(users, tf.int32), "movie": tf.constant(movies, tf.int32)}
    batch_map = engine._batch_map(tf)
    inputs = batch_map(inputs) if batch_map is not None else inputs
    keras_scores = np.asarray(engine.model_(inputs, training=False))[:, 0] + engine.global_mean_
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
def test_similar_movies_of_popular_movies_share_their_genres(trained, sample, name):
    # learned vectors put movies of a genre together; random vectors share genres only by chance
    engine = trained[name]
    genres = sample.movies.set_index("movie")["genres"].dropna().str.split("|").map(set).to_dict()
    counts = np.bincount(engine.seen_.indices, minlength=len(engine.movies_))
    popular = [int(m) for m in engine.movies_.ids[np.argsort(-counts)[:40]] if int(m) in genres]
    candidates = [int(m) for m in engine.movies_.ids[counts >= 10] if int(m) in genres]
    shared = [
        bool(genres[movie] & genres.get(int(other), set()))
        for movie in popular
        for other in engine.similar_movies(movie, k=10)["movie"]
        if int(other) in genres
    ]
    rng = np.random.default_rng(0)
    chance = [bool(genres[a] & genres[b]) for a, b in rng.choice(candidates, size=(4000, 2)) if a != b]
    assert np.mean(shared) > np.mean(chance) + 0.08, (np.mean(shared), np.mean(chance))


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


@pytest.mark.parametrize("name", ["keras_deep", "keras_hybrid"])
def test_fold_in_through_the_model_leaves_every_weight_as_trained(trained, name):
    engine = trained[name]
    before = [weight.copy() for weight in engine.model_.get_weights()]
    rated = {int(m): r for m, r in zip(engine.movies_.ids[:6], (5.0, 4.0, 1.0, 2.0, 5.0, 3.0))}
    first = engine.recommend_for_ratings(rated, k=10)
    again = engine.recommend_for_ratings({int(engine.movies_.ids[7]): 1.0}, k=10)
    for old, new in zip(before, engine.model_.get_weights()):
        np.testing.assert_array_equal(old, new)
    # the second user starts afresh: the first one's answer comes back unchanged
    pd.testing.assert_frame_equal(engine.recommend_for_ratings(rated, k=10), first)
    assert not again["movie"].equals(first["movie"])


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
        create_engine("keras_hybrid", n_epochs=1).fit(fold.train.head(500))


def test_progress_reports_fractions_up_to_one(trained, progress_calls):
    fractions = [fraction for fraction, _ in progress_calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("rmse" in message for _, message in progress_calls)
    assert trained["keras_mf"].epochs_run_ <= SMALL["keras_mf"]["n_epochs"]


def validation_part(train: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """The ratings the engine holds out for early stopping (its seeded permutation's head)."""
    order = np.random.default_rng(seed).permutation(len(train))
    return train.iloc[np.sort(order[: int(round(len(train) * fraction))])]


@pytest.fixture(scope="module")
def overfitted(fold):
    # no L2 and a high learning rate: validation RMSE bottoms out early and rises after
    params = {"n_factors": 32, "n_epochs": 10, "batch_size": 512, "learning_rate": 0.03, "reg": 0.0,
              "validation_fraction": 0.1, "patience": 10, "random_state": 11}
    train = fold.train.copy()
    # a movie and a user whose only rating falls into the validation part
    held_out = validation_part(train, params["validation_fraction"], params["random_state"]).index[:2]
    train.loc[held_out[0], "movie"] = 10**8
    train.loc[held_out[1], "user"] = 10**8
    return create_engine("keras_mf", **params).fit(train), params, train


def test_early_stopping_keeps_the_best_validation_epoch(overfitted):
    engine, params, train = overfitted
    val_rmse = engine.history_["val_rmse"]
    best = int(np.argmin(val_rmse))
    assert engine.best_epoch_ == best + 1 < engine.epochs_run_, val_rmse
    assert val_rmse[-1] > val_rmse[best] + 0.005  # the last epoch is worse: restoring matters
    valid = validation_part(train, params["validation_fraction"], params["random_state"])
    assert rmse(engine, valid) == pytest.approx(val_rmse[best], abs=1e-4)


def test_ids_whose_ratings_all_fell_into_validation_use_the_unknown_row(overfitted):
    engine, _, train = overfitted
    movie, user = engine.movies_.position(10**8), engine.users_.position(10**8)
    assert movie >= 0 and user >= 0 and not engine.movie_trained_[movie] and not engine.user_trained_[user]
    np.testing.assert_array_equal(engine.movie_vectors_[movie], engine.movie_vectors_[-1])
    assert engine.movie_bias_[movie] == engine.movie_bias_[-1]
    np.testing.assert_array_equal(engine.user_vectors_[user], engine.user_vectors_[-1])
    # the unknown row is the mean of the trained rows, not a random initial vector
    np.testing.assert_allclose(engine.movie_vectors_[-1], engine.movie_vectors_[:-1][engine.movie_trained_].mean(0), atol=1e-6)
    # never offered as a similar title, and no similar titles of its own
    popular = int(train["movie"].value_counts().index[0])
    assert 10**8 not in set(engine.similar_movies(popular, k=len(engine.movies_) - 1)["movie"])
    assert engine.similar_movies(10**8, k=5).empty


def test_fit_leaves_global_random_state_and_op_determinism_alone(fold):
    import random

    from tensorflow.python.framework import config

    random.seed(123)
    np.random.seed(123)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    determinism = config.is_op_determinism_enabled()
    create_engine("keras_deep", hidden_units=(8,), dropout=0.1, n_epochs=1, random_state=5).fit(fold.train.head(3000))
    assert random.getstate() == python_state
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), numpy_state))
    assert config.is_op_determinism_enabled() == determinism


def test_training_reads_embedding_tables_by_row_only():
    # a whole-table read per step is what made one epoch cost O(users x factors) per batch
    from movierec.core.models.deep.keras_common import import_keras
    from movierec.core.models.deep.keras_train import LazyAdam, make_steps

    tf, keras = import_keras()
    engine = create_engine("keras_mf", n_factors=4)
    model = engine._build_model(keras, 50, 20)
    optimizer = LazyAdam(tf, [v.value for v in model.trainable_variables], 0.01)
    batch = (np.array([1, 2, 2], np.int32), np.array([3, 3, 4], np.int32), np.zeros(3, np.float32))
    # through the tape, and through keras_mf's closed-form gradients
    for closed_form in (None, engine._closed_form(tf, model)):
        steps = make_steps(tf, tf.distribute.get_strategy(), model, optimizer, None, 3.0, (1.0, 5.0), closed_form)
        graph = steps[0].get_concrete_function(*batch).graph.as_graph_def()
        nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
        whole_reads = [n.name for n in nodes if n.op == "ReadVariableOp" and ("embedding" in n.name or "bias" in n.name)]
        assert not whole_reads
        assert any(n.op == "ResourceGather" for n in nodes)


def test_lazy_adam_leaves_rows_outside_the_batch_untouched():
    from movierec.core.models.deep.keras_common import import_keras
    from movierec.core.models.deep.keras_train import LazyAdam

    tf, _ = import_keras()
    table = tf.Variable(np.ones((4, 2), np.float32))
    optimizer = LazyAdam(tf, [table], 0.1)
    optimizer.apply(None, [tf.IndexedSlices(tf.ones((2, 2)), tf.constant([0, 0]), tf.constant([4, 2]))], [table])
    after_first = table.numpy().copy()
    assert (after_first[0] < 1).all() and (after_first[1:] == 1).all()
    optimizer.apply(None, [tf.IndexedSlices(tf.ones((1, 2)), tf.constant([2]), tf.constant([4, 2]))], [table])
    # dense Adam would keep moving row 0 on its momentum
    np.testing.assert_array_equal(table.numpy()[0], after_first[0])
    assert (table.numpy()[2] < 1).all() and (table.numpy()[[1, 3]] == 1).all()


def test_same_seed_gives_the_same_predictions(fold):
    train = fold.train.head(8000)
    first, second = (create_engine("keras_mf", n_factors=8, n_epochs=2, random_state=3).fit(train) for _ in range(2))
    test = fold.test.head(500)
    np.testing.assert_array_equal(first.predict(test["user"], test["movie"]), second.predict(test["user"], test["movie"]))
    other = create_engine("keras_mf", n_factors=8, n_epochs=2, random_state=4).fit(train)
    assert not np.array_equal(other.predict(test["user"], test["movie"]), first.predict(test["user"], test["movie"]))


def test_keras_mf_similar_titles_are_rarely_movies_almost_nobody_rated(movielens_small):
    # a movie rated once keeps factors near their random start; the raw cosine offered such
    # movies for a third of the 100 most-rated movies' similar titles on this data
    ratings = movielens_small.ratings
    engine = create_engine("keras_mf", random_state=42).fit(ratings)
    counts = ratings["movie"].value_counts()
    listed = [m for movie in counts.index[:30] for m in engine.similar_movies(int(movie), k=10)["movie"]]
    assert len(listed) == 300
    assert np.mean(counts.reindex(listed).to_numpy() < 5) <= 0.05


@pytest.mark.parametrize("name", ENGINES)
def test_scores_above_the_scale_keep_their_order_and_show_clipped_stars(trained, fold, name):
    engine = trained[name]
    low, high = engine.rating_range_
    user = int(fold.test["user"].iloc[0])
    before = engine.recommend(user, k=10)
    engine.global_mean_ += 3.0  # every score now lies above the scale
    try:
        shifted = engine.recommend(user, k=10)
    finally:
        engine.global_mean_ -= 3.0
    # clipped, the ten would tie at the top and be ordered by movie id
    assert shifted["movie"].tolist() == before["movie"].tolist()
    assert (shifted["score"] > high).all() and shifted["score"].is_monotonic_decreasing
    assert (shifted["predicted_rating"] == high).all()
    assert engine.predict(np.full(10, user), shifted["movie"]).max() <= high


@pytest.mark.parametrize("name", ENGINES)
def test_reasons_name_the_liked_rated_movies_closest_in_the_learned_space(trained, fold, name):
    engine = trained[name]
    user = int(fold.train["user"].value_counts().index[0])
    index = engine.users_.position(user)
    check_factor_reasons(engine, fold.train, user, engine._similarity_vectors(),
                         lambda rated: engine.global_mean_ + engine.user_bias_[index] + engine.movie_bias_[rated])


def test_a_movie_without_training_ratings_gets_no_reason(trained, fold):
    engine = trained["keras_mf"]
    user = int(fold.train["user"].value_counts().index[0])
    top = engine.recommend(user, k=10)["movie"].to_numpy()
    movie = next(int(m) for m, r in zip(top, engine.reasons(user, top)) if r is not None)
    position = engine.movies_.position(movie)
    engine.movie_trained_[position] = False  # as if all of its ratings had fallen into the validation part
    try:
        assert engine.reasons(user, [movie]) == [None]
    finally:
        engine.movie_trained_[position] = True
    assert engine.reasons(user, [movie])[0] is not None


def test_keras_hybrid_without_any_overview_reads_genres_and_title_words(sample, fold):
    no_overviews = sample.movies.drop(columns=["overview"])
    engine = create_engine("keras_hybrid", **{**SMALL["keras_hybrid"], "n_epochs": 2}).fit(fold.train, no_overviews)
    assert engine.overview_count_ == len(engine.movies_)  # every sample movie has genres
    predicted = engine.predict(fold.test["user"].to_numpy(), fold.test["movie"].to_numpy())
    assert np.isfinite(predicted).all()
    textless = no_overviews.assign(genres=pd.NA)
    with pytest.raises(DataError, match="none of the rated movies has any text"):
        create_engine("keras_hybrid", **SMALL["keras_hybrid"]).fit(fold.train, textless)


def test_keras_mf_trains_on_closed_form_gradients():
    from movierec.core.models.deep.keras_common import KerasRecommender

    with_formula = [name for name in ENGINES if type(create_engine(name))._closed_form is not KerasRecommender._closed_form]
    assert with_formula == ["keras_mf"]


@pytest.mark.parametrize("name", ["keras_mf"])
def test_closed_form_gradients_are_the_tapes(name):
    # an engine that trains on a formula must train on the loss the tape sees: squared error per
    # rating plus the model's L2 on looked-up rows, with repeated ids in one batch
    from movierec.core.models.deep.keras_common import import_keras

    tf, keras = import_keras()
    engine = create_engine(name, n_factors=4)
    model = engine._build_model(keras, 6, 5)
    closed_form = engine._closed_form(tf, model)
    rng = np.random.default_rng(0)
    for variable in model.trainable_variables:
        variable.assign(rng.normal(0.0, 0.5, variable.shape).astype(np.float32))
    user = tf.constant([0, 1, 1, 3, 5], tf.int32)
    movie = tf.constant([2, 2, 4, 0, 2], tf.int32)
    target = tf.constant([0.5, -1.0, 1.5, 0.0, 2.0], tf.float32)
    variables = [v.value for v in model.trainable_variables]
    with tf.GradientTape() as tape:
        predicted = tf.reshape(model({"user": user, "movie": movie}, training=True), [-1])
        loss = tf.reduce_mean(tf.square(predicted - target)) + tf.add_n(model.losses)
    expected = tape.gradient(loss, variables)
    rows, squared = closed_form.rows(user, movie, target)
    assert float(squared) == pytest.approx(float(tf.reduce_sum(tf.square(predicted - target))), rel=1e-5)
    ids = {"user": user.numpy(), "movie": movie.numpy()}
    for grad, values, key in zip(expected, rows, closed_form.keys):
        np.testing.assert_array_equal(grad.indices.numpy(), ids[key])
        np.testing.assert_allclose(values.numpy(), grad.values.numpy(), rtol=1e-5, atol=1e-6)


def test_min_delta_counts_only_gains_larger_than_it(fold):
    train = fold.train.head(8000)
    params = {"n_factors": 8, "n_epochs": 10, "patience": 2, "random_state": 3}
    plain = create_engine("keras_mf", **params).fit(train)
    # the same run, but no gain after the first epoch is big enough to count
    strict = create_engine("keras_mf", min_delta=0.5, **params).fit(train)
    assert plain.history_["val_rmse"][1] < plain.history_["val_rmse"][0]  # epoch 2 was better...
    assert strict.epochs_run_ == 3  # ...by less than min_delta: patience ran out after epoch 3
    assert plain.epochs_run_ > 3
    assert strict.history_["val_rmse"] == plain.history_["val_rmse"][:3]
    # the weights kept are the lowest validation RMSE's, not the last epoch that counted
    lowest = int(np.argmin(strict.history_["val_rmse"])) + 1
    assert strict.best_epoch_ == lowest > 1
    early = create_engine("keras_mf", **{**params, "n_epochs": lowest}).fit(train)
    pairs = train.head(50)
    np.testing.assert_allclose(strict.predict(pairs["user"], pairs["movie"]),
                               early.predict(pairs["user"], pairs["movie"]), rtol=1e-6)
    with pytest.raises(DataError, match="min_delta must be a number >= 0"):
        create_engine("keras_mf", min_delta=-0.01, **params).fit(train)
