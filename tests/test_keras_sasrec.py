"""keras_sasrec: the order of the ratings counts, the stars count, reasons name liked history movies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.core.errors import DataError
from movierec.core.models import create_engine
from movierec.core.models.base import movie_reference, reason_text
from movierec.core.models.deep.keras_sasrec import KerasSASRec

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
                                    {"negatives": 0}, {"learning_rate": 0}, {"n_epochs": 1.5}])
def test_bad_parameters_are_named(sample, params) -> None:
    with pytest.raises(DataError, match=next(iter(params)) if "heads" not in params else "heads"):
        create_engine("keras_sasrec", **{**QUICK, **params}).fit(sample.ratings)
