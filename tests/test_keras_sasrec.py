"""keras_sasrec: the order of the ratings counts, the stars count, reasons name liked history movies."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from movierec.core.errors import DataError
from movierec.core.models import create_engine
from movierec.core.models.base import movie_reference, reason_text
from movierec.core.models.deep.keras_sasrec import (
    KerasSASRec,
    LaterTargets,
    SequenceData,
    _attention_class,
    pack_windows,
    sampled_softmax_loss,
)

pytest.importorskip("tensorflow")

QUICK = {"n_factors": 8, "max_len": 12, "blocks": 1, "n_epochs": 2, "negatives": 64, "batch_size": 64}


@pytest.fixture(scope="module")
def fitted(sample) -> KerasSASRec:
    return create_engine("keras_sasrec", **QUICK).fit(sample.ratings)


def _popular(sample, n: int) -> list[int]:
    return [int(m) for m in sample.ratings["movie"].value_counts().index[:n]]


def test_the_order_of_the_ratings_changes_the_list(fitted, sample) -> None:
    movies = _popular(sample, 6)
    forward = fitted.recommend_for_ratings([(m, 5.0) for m in movies], k=10)
    backward = fitted.recommend_for_ratings([(m, 5.0) for m in reversed(movies)], k=10)
    assert not np.allclose(forward["score"], backward["score"])


def test_a_dict_is_read_in_insertion_order_like_the_pairs(fitted, sample) -> None:
    movies = _popular(sample, 5)
    pairs = [(m, float(r)) for m, r in zip(movies, (5, 4, 2, 5, 3))]
    assert fitted.recommend_for_ratings(pairs, k=8).equals(fitted.recommend_for_ratings(dict(pairs), k=8))
    # a movie listed twice counts where it was rated last
    again = fitted.recommend_for_ratings(pairs + [(movies[0], 5.0)], k=8)
    moved = fitted.recommend_for_ratings(pairs[1:] + [(movies[0], 5.0)], k=8)
    assert again.equals(moved)


def test_disliked_movies_change_the_input(fitted, sample) -> None:
    movies = _popular(sample, 5)
    liked = fitted.recommend_for_ratings([(m, 5.0) for m in movies], k=10)
    disliked = fitted.recommend_for_ratings([(m, 1.0) for m in movies], k=10)
    assert disliked["movie"].tolist() != liked["movie"].tolist()
    # without a liked movie: the movies most often watched next in training
    order = np.argsort(-fitted.target_share_, kind="stable")
    expected = [int(m) for m in fitted.movies_.ids[order] if m not in movies][:10]
    assert disliked["movie"].tolist() == expected
    # with one liked movie among them the model answers, and the dislikes still count
    mixed = fitted.recommend_for_ratings([(m, 1.0) for m in movies[:4]] + [(movies[4], 5.0)], k=10)
    alone = fitted.recommend_for_ratings([(movies[4], 5.0)], k=10)
    assert not np.allclose(mixed["score"], alone["score"])


def test_reasons_name_only_liked_history_movies(fitted, sample) -> None:
    ratings = sample.ratings
    user = int(ratings["user"].value_counts().index[0])
    mine = ratings[ratings["user"] == user]
    top = fitted.recommend(user, k=5)["movie"].tolist()
    mean = float(mine["rating"].mean())
    stars = dict(zip(mine["movie"], mine["rating"]))
    reasons = [reason for reason in fitted.reasons(user, top) if reason]
    named = [b for reason in reasons for b in reason["because"]]
    assert named, "no reason at all"
    for reason in reasons:  # the text names each movie and its stars, and claims no likeness
        text = reason_text(reason)
        assert text.startswith("because you rated ") and "similar" not in text
        assert all(f"{movie_reference(b['movie'])} ({b['rating']:g})" in text for b in reason["because"])
    for because in named:
        assert stars[because["movie"]] == because["rating"] and because["contribution"] > 0
        assert because["rating"] >= min(mean, 3.875) - 1e-9


def test_the_popularity_weight_adds_the_log_of_each_movies_share_of_the_targets(fitted, sample) -> None:
    user = int(sample.ratings["user"].iloc[0])
    rows = fitted.users_.index_of(np.array([user]))
    plain, leaning, crowd = copy.copy(fitted), copy.copy(fitted), copy.copy(fitted)
    plain.popularity_weight, leaning.popularity_weight, crowd.popularity_weight = 0.0, 2.0, 1e4
    share = fitted.target_share_
    log_popularity = np.log(share + share[share > 0].min())  # finite for a movie never a target
    np.testing.assert_allclose(leaning._score_users(rows) - plain._score_users(rows), 2.0 * log_popularity[None, :],
                               rtol=1e-9, atol=1e-9)
    # a large weight ranks by popularity: the most-watched movies the user has not rated
    seen = set(sample.ratings.loc[sample.ratings["user"] == user, "movie"].tolist())
    listed = crowd.recommend(user, k=5)["movie"].to_numpy()
    unseen = np.array([m not in seen for m in fitted.movies_.ids])
    assert np.sort(share[fitted.movies_.index_of(listed)])[::-1].tolist() == np.sort(share[unseen])[::-1][:5].tolist()
    assert not plain.recommend(user, k=10)["movie"].equals(crowd.recommend(user, k=10)["movie"])
    # set on a fitted engine, a bad weight is named where it is used
    wrong = copy.copy(fitted)
    wrong.set_params(popularity_weight=-1)
    with pytest.raises(DataError, match="popularity_weight must be a number >= 0, got -1"):
        wrong.recommend(user, k=5)


def test_the_same_seed_gives_the_same_lists(sample) -> None:
    first = create_engine("keras_sasrec", **QUICK).fit(sample.ratings)
    second = create_engine("keras_sasrec", **QUICK).fit(sample.ratings)
    user = int(sample.ratings["user"].iloc[0])
    pd.testing.assert_frame_equal(first.recommend(user, k=10), second.recommend(user, k=10))


def test_every_rating_but_the_first_of_each_user_is_a_training_position_or_validation(sample) -> None:
    engine = create_engine("keras_sasrec", **{**QUICK, "n_epochs": 1, "validation_last": 1}).fit(sample.ratings)
    counts = sample.ratings["user"].value_counts()
    held = int((counts >= 3).sum())
    assert engine.training_positions_ == len(sample.ratings) - len(counts) - held
    assert len(engine.history_["val_loss"]) == engine.epochs_run_


@pytest.mark.parametrize("params", [{"max_len": 0}, {"n_factors": 6, "heads": 4}, {"dropout": 1.0},
                                    {"negatives": 0}, {"learning_rate": 0}, {"n_epochs": 1.5},
                                    {"average_weights": "yes"}, {"target_span": 0}, {"next_share": 1.5},
                                    {"next_share": "half"}, {"popularity_weight": -0.5},
                                    {"popularity_weight": "some"}, {"popularity_weight": float("inf")}])
def test_bad_parameters_are_named(sample, params) -> None:
    with pytest.raises(DataError, match=next(iter(params)) if "heads" not in params else "heads"):
        create_engine("keras_sasrec", **{**QUICK, **params}).fit(sample.ratings)


def test_short_windows_share_rows_best_fit_longest_first() -> None:
    lengths = np.array([5, 2, 3, 1, 4, 2, 5, 1, 1])
    rows = pack_windows(lengths, 5)
    assert sorted(w for row in rows for w in row) == list(range(len(lengths)))  # every window once
    assert all(lengths[row].sum() <= 5 for row in rows)
    # 5 | 5 | 4+1 | 3+2 | 2+1+1: the least room that holds each window, longest first
    assert sorted(tuple(lengths[row].tolist()) for row in rows) == [(2, 1, 1), (3, 2), (4, 1), (5,), (5,)]


def test_a_packed_row_gives_each_of_its_windows_the_vectors_it_has_alone(fitted, sample) -> None:
    users = sample.ratings["user"].value_counts().index
    model, length = fitted._model(), int(fitted.max_len)
    windows = []
    for user, n in zip(users[-2:], (4, 5)):
        items, liked, _ = fitted._user_tokens(fitted.users_.index_of(np.array([user]))[0])
        windows.append((items[:n], liked[:n].astype(np.int32)))

    def vectors(items: np.ndarray, liked: np.ndarray, positions: np.ndarray) -> np.ndarray:
        return np.asarray(model({"items": items[None], "liked": liked[None], "positions": positions[None]},
                                training=False))[0]

    packed = vectors(np.r_[windows[0][0], windows[1][0]], np.r_[windows[0][1], windows[1][1]],
                     np.r_[np.arange(length - 4, length), np.arange(length - 5, length)].astype(np.int32))
    for (items, liked), place in zip(windows, (slice(0, 4), slice(4, 9))):
        alone = vectors(items, liked, np.arange(length - len(items), length, dtype=np.int32))
        np.testing.assert_allclose(packed[place], alone, atol=1e-5)


def test_training_rows_pack_the_short_windows_and_keep_every_position(sample) -> None:
    engine = create_engine("keras_sasrec", **{**QUICK, "max_len": 8, "target_span": 3})
    engine.fit(sample.ratings)
    items, liked, values, starts = engine._histories(sample.ratings)
    cut = starts[1:].copy()
    data = engine._windows(items, liked, starts, cut)
    counts = np.diff(starts)
    assert data.n_positions == int(np.sum(np.maximum(counts - 1, 0)))  # every rating but each user's first
    assert len(data.target) < int(np.sum(-(-np.maximum(counts - 1, 0) // 8)))  # fewer rows than windows
    real = data.items > 0
    # each window's positions rise to max_len - 1, and a row's later targets stay in their own window
    ends = real & ~np.c_[real[:, 1:] & (data.positions[:, 1:] > data.positions[:, :-1]), np.zeros(len(real), bool)]
    assert np.all(data.positions[ends] == 7)
    later = data.later
    np.testing.assert_array_equal(data.target[real], items[later.source[real]])
    assert np.all(later.source[real] <= later.last[real])
    batch = data.take(np.arange(len(data.target)))
    assert batch[3].shape == batch[0].shape


def test_a_window_trimmed_of_its_padding_gives_the_same_vector(fitted, sample) -> None:
    user = int(sample.ratings["user"].value_counts().index[-1])
    items, liked, _ = fitted._user_tokens(fitted.users_.index_of(np.array([user]))[0])
    window, tokens = fitted._last_window(items[:5], liked[:5])
    length = int(fitted.max_len)
    model = fitted._model()

    def last(width: int) -> np.ndarray:
        inputs = {"items": window[None, -width:], "liked": tokens[None, -width:].astype(np.int32),
                  "positions": np.arange(length - width, length, dtype=np.int32)[None, :]}
        return np.asarray(model(inputs, training=False))[0, -1]

    np.testing.assert_allclose(last(5), last(length), atol=1e-5)


def test_later_targets_come_from_the_next_movies_of_the_same_training_history() -> None:
    history = np.arange(1, 21, dtype=np.int32)  # one user's movie tokens 1..20
    source = np.array([[-1, -1, 1, 2, 3], [11, 12, 13, 14, 15]])  # each position's next movie
    last = np.full(source.shape, 17)  # movies 19 and 20 (indices 18, 19) are held out
    later = LaterTargets(history, source, last, span=3, next_share=0.0, rng=np.random.default_rng(0))
    draws = np.stack([later.draw(np.array([0, 1])) for _ in range(200)])
    assert (draws[:, 0, :2] == 0).all()  # padding stays padding
    offsets = draws[:, :, 2:] - history[source[:, 2:]][None]
    assert set(np.unique(offsets)) <= {0, 1, 2} and len(np.unique(offsets)) == 3
    assert draws.max() == 18  # never past the user's last training movie
    always_next = LaterTargets(history, source, last, span=3, next_share=1.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(always_next.draw(np.array([1])), history[source[[1]]])


def test_a_target_span_trains_and_repeats(sample) -> None:
    params = {**QUICK, "target_span": 3}
    first = create_engine("keras_sasrec", **params).fit(sample.ratings)
    second = create_engine("keras_sasrec", **params).fit(sample.ratings)
    user = int(sample.ratings["user"].iloc[0])
    pd.testing.assert_frame_equal(first.recommend(user, k=10), second.recommend(user, k=10))
    assert first.training_positions_ == create_engine("keras_sasrec", **QUICK).fit(sample.ratings).training_positions_


def test_the_sampled_loss_and_its_gradient_are_the_softmax_without_the_draws_of_the_true_movie() -> None:
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    n, width, positions, drawn_n = 30, 8, 50, 40
    table = tf.Variable(rng.normal(size=(n, width)).astype("float32") * 2)
    bias = tf.Variable(rng.normal(size=(n, 1)).astype("float32"))
    hidden = tf.constant(rng.normal(size=(positions, width)).astype("float32"))
    log_chance = tf.constant(np.log(rng.dirichlet(np.ones(n)) * drawn_n).astype("float32"))
    target = tf.constant(rng.integers(1, n, positions).astype("int32"))
    drawn = tf.constant(rng.integers(1, n, drawn_n).astype("int32"))
    assert int(tf.reduce_sum(tf.cast(drawn[None] == target[:, None], tf.int32))) > 20  # true movies drawn

    def direct() -> object:
        def logit(movies: object) -> object:
            return tf.gather(bias, movies)[:, 0] - tf.gather(log_chance, movies)

        true = tf.reduce_sum(hidden * tf.gather(table, target), axis=1) + logit(target)
        logits = tf.matmul(hidden, tf.gather(table, drawn), transpose_b=True) + logit(drawn)[None, :]
        logits = tf.where(drawn[None, :] == target[:, None], -1e9, logits)
        return tf.reduce_sum(-tf.nn.log_softmax(tf.concat([true[:, None], logits], axis=1))[:, 0])

    results = []
    for loss in (direct, lambda: sampled_softmax_loss(tf, hidden, target, drawn, table, bias, log_chance)):
        with tf.GradientTape() as tape:
            tape.watch(hidden)
            value = loss()
        grads = tape.gradient(value, [table, bias, hidden])
        assert isinstance(grads[0], tf.IndexedSlices) and isinstance(grads[1], tf.IndexedSlices)
        results.append([float(value)] + [np.asarray(tf.convert_to_tensor(g)) for g in grads])
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for expected, got in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("heads", [1, 2])
def test_the_attention_is_keras_multi_head_attention_with_its_weights(heads) -> None:
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(heads)
    inputs = rng.normal(size=(4, 7, 8)).astype("float32")
    real = np.ones((4, 7), bool)
    real[0, :3] = real[2, :6] = False  # windows padded on the left
    reference = keras.layers.MultiHeadAttention(heads, 8 // heads, dropout=0.2)
    expected = np.asarray(reference(inputs, inputs, query_mask=real, value_mask=real, use_causal_mask=True))
    attention = _attention_class()(heads, 8 // heads, dropout=0.2)
    attention(inputs, real.astype(np.int32))
    assert [w.shape for w in attention.get_weights()] == [w.shape for w in reference.get_weights()]
    attention.set_weights(reference.get_weights())  # a model saved with MultiHeadAttention loads as it is
    np.testing.assert_allclose(np.asarray(attention(inputs, real.astype(np.int32)))[real], expected[real], atol=1e-5)
    # causal: a later movie never changes an earlier real position's vector
    changed = inputs.copy()
    changed[:, -1] += 1.0
    earlier = real.copy()
    earlier[:, -1] = False
    segments = real.astype(np.int32)
    np.testing.assert_allclose(np.asarray(attention(changed, segments))[earlier], np.asarray(attention(inputs, segments))[earlier],
                               atol=1e-6)
