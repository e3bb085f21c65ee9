"""The engine contract, for every registered engine: refit forgets, clone works, save/load anywhere."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from movierec.core.errors import ModelFileError
from movierec.core.models import create_engine, load_engine
from movierec.core.models.base import Recommender
from movierec.core.models.registry import ENGINES, engine_class, engine_names

#: small settings so that every engine fits in a second or two on the test data
FAST = {
    "keras_mf": {"n_factors": 8, "n_epochs": 2, "validation_fraction": 0.0},
    "keras_deep": {"n_epochs": 2, "validation_fraction": 0.0},
    "keras_hybrid": {"n_epochs": 2, "validation_fraction": 0.0},
    "keras_timemf": {"n_factors": 8, "n_epochs": 2, "validation_fraction": 0.0},
    "keras_sasrec": {"n_factors": 8, "max_len": 10, "blocks": 1, "n_epochs": 1, "negatives": 32, "validation_last": 0},
    "surprise_svd": {"n_epochs": 5},
    "surprise_svdpp": {"n_epochs": 2},
    "surprise_nmf": {"n_epochs": 5},
    "lightfm_warp": {"epochs": 3},
    "lightfm_bpr": {"epochs": 3},
    "blend": {"members": ("mean", "baseline")},
}
AVAILABLE = engine_names(available_only=True)


def _fast(name: str) -> dict:
    allowed = set(engine_class(name)._get_param_names())
    return {key: value for key, value in FAST.get(name, {}).items() if key in allowed}


@pytest.fixture(scope="module")
def two_datasets(sample) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two training sets with different users and a different mix of movies."""
    ratings = sample.ratings
    users = np.unique(ratings["user"].to_numpy())
    first = ratings[ratings["user"].isin(users[:160])]
    second = ratings[ratings["user"].isin(users[400:600]) & (ratings["movie"] % 7 != 0)]
    return first.reset_index(drop=True), second.reset_index(drop=True)


def _answers(engine: Recommender, ratings: pd.DataFrame) -> dict[str, np.ndarray]:
    """What a user of the engine sees: recommendations, predictions, similar titles, fold-in."""
    users = np.unique(ratings["user"].to_numpy())[:3]
    out: dict[str, np.ndarray] = {}
    for user in users:
        top = engine.recommend(int(user), k=8)
        out[f"recommend {user}"] = top["movie"].to_numpy()
        out[f"scores {user}"] = top["score"].to_numpy()
    if engine.predicts_ratings:
        pairs = ratings.sample(50, random_state=0)
        out["predict"] = engine.predict(pairs["user"].to_numpy(), pairs["movie"].to_numpy())
    movie = int(ratings["movie"].value_counts().index[0])
    if engine.has_similar_movies:
        out["similar"] = engine.similar_movies(movie, k=5)["movie"].to_numpy()
    if engine.supports_fold_in:
        liked = {movie: float(ratings["rating"].max())}
        out["fold-in"] = engine.recommend_for_ratings(liked, k=5)["movie"].to_numpy()
    return out


def _assert_same_answers(left: dict[str, np.ndarray], right: dict[str, np.ndarray]) -> None:
    assert left.keys() == right.keys()
    for key in left:
        if left[key].dtype.kind == "f":
            np.testing.assert_allclose(left[key], right[key], rtol=1e-4, atol=1e-4, err_msg=key)
        else:
            np.testing.assert_array_equal(left[key], right[key], err_msg=key)


def _fit(name: str, ratings: pd.DataFrame, movies: pd.DataFrame) -> Recommender:
    return create_engine(name, **_fast(name)).fit(ratings, movies)


@pytest.mark.parametrize("name", AVAILABLE)
def test_a_refit_engine_equals_a_fresh_fit(name, two_datasets, sample):
    first, second = two_datasets
    refit = _fit(name, first, sample.movies).fit(second, sample.movies)
    fresh = _fit(name, second, sample.movies)
    _assert_same_answers(_answers(refit, second), _answers(fresh, second))
    np.testing.assert_array_equal(refit.users_.ids, np.unique(second["user"]))


@pytest.mark.parametrize("name", AVAILABLE)
def test_fit_is_idempotent(name, two_datasets, sample):
    first, _ = two_datasets
    engine = _fit(name, first, sample.movies)
    once = _answers(engine, first)
    _assert_same_answers(_answers(engine.fit(first, sample.movies), first), once)


@pytest.mark.parametrize("name", AVAILABLE)
def test_sklearn_clone_gives_an_unfitted_engine_with_the_same_parameters(name, two_datasets, sample):
    engine = _fit(name, two_datasets[0], sample.movies)
    copy = clone(engine)
    assert type(copy) is type(engine) and copy.get_params() == engine.get_params()
    assert not hasattr(copy, "users_")
    assert copy.set_params(**copy.get_params(deep=True)) is copy
    with pytest.raises(ValueError, match="Invalid parameter .no_such_knob."):
        copy.set_params(no_such_knob=1)


@pytest.mark.parametrize("name", AVAILABLE)
def test_an_engine_saved_anywhere_reloads_with_the_same_answers(name, two_datasets, sample, tmp_path):
    cls = engine_class(name)
    engine = cls(**_fast(name)).fit(two_datasets[0], sample.movies)  # made without the registry
    folder = engine.save(tmp_path / "deep" / "er folder" / name)
    again = load_engine(folder)
    assert type(again) is cls and again.name == name
    _assert_same_answers(_answers(again, two_datasets[0]), _answers(engine, two_datasets[0]))
    assert type(cls.load(folder)) is cls


@pytest.mark.parametrize("name", AVAILABLE)
def test_state_cut_to_one_row_behind_a_matching_manifest_is_refused_on_load(name, two_datasets, sample, tmp_path):
    folder = _fit(name, two_datasets[0], sample.movies).save(tmp_path / name)
    with np.load(folder / "arrays.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    cut = [key for key, value in arrays.items() if key.startswith("state_") and value.ndim and len(value) > 1]
    if not cut:
        pytest.skip(f"{name} saves no per-user or per-movie state")
    meta = json.loads((folder / "engine.json").read_text())
    for key in cut:  # cut short, and the manifest rewritten to agree: checksums cannot tell
        arrays[key] = np.ascontiguousarray(arrays[key][:1])
        meta["arrays"][key].update(shape=list(arrays[key].shape),
                                   sha256=hashlib.sha256(arrays[key].tobytes()).hexdigest())
    np.savez(folder / "arrays.npz", **arrays)
    (folder / "engine.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=re.escape(str(folder))):
        load_engine(folder)


@pytest.mark.parametrize("name", AVAILABLE)
def test_capabilities_are_answered_by_the_instance(name):
    engine = create_engine(name)
    for flag in ("predicts_ratings", "has_similar_movies", "supports_fold_in"):
        assert isinstance(getattr(engine, flag), bool)


def test_every_engine_names_itself_in_its_class_body():
    for name, info in ENGINES.items():
        if info.available:
            assert "name" in vars(engine_class(name)) and engine_class(name).name == name


def test_an_item_based_surprise_knn_offers_similar_titles():
    pytest.importorskip("surprise")
    assert create_engine("surprise_knnbasic", sim_options={"user_based": False}).has_similar_movies
    assert not create_engine("surprise_knnbasic").has_similar_movies
