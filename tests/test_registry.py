"""Registering an engine: one class decorator; an engine says what it saves; folders saved before the move load."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from movierec.core.errors import ModelFileError
from movierec.core.models import ENGINES, Recommender, create_engine, engine_names, load_engine, register
from movierec.core.models.classic.baseline import Baseline
from movierec.core.models.classic.knn import UserKNN
from movierec.core.models.persistence import MOVED_MODULES

#: a folder written by `create_engine("baseline").fit(RATINGS).save(...)` when the engine lived in
#: movierec.core.models.baseline (its manifest names that module)
SAVED_BEFORE_FAMILIES = Path(__file__).parent / "fixtures" / "engine_saved_before_families"
RATINGS = pd.DataFrame(
    [(u, m, float(1 + (u * m) % 5)) for u in range(1, 21) for m in range(1, 7) if (u + m) % 4],
    columns=["user", "movie", "rating"],
)


class MostRated(Recommender):
    """Movies ranked by how many ratings they have: the smallest engine with learned state."""

    name = "most_rated"

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        self.counts_ = self.ratings_per_movie().astype(np.float64)

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        return np.tile(self.counts_, (len(user_idx), 1))

    def _state(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.counts_ = state["counts"]
        if self.counts_.shape != (len(self.movies_),):  # damaged state fails at load, not in an answer
            raise ValueError(f"{len(self.counts_)} counts for {len(self.movies_)} movies")


@pytest.fixture
def registered_most_rated():
    """MostRated registered as a classic engine for one test, then taken off the list again."""
    register(family="classic", summary="movies by number of ratings")(MostRated)
    yield MostRated
    ENGINES.pop("most_rated")


def test_a_decorated_class_is_an_engine_by_name(registered_most_rated, tmp_path):
    assert "most_rated" in engine_names("classic") and ENGINES["most_rated"].summary == "movies by number of ratings"
    engine = create_engine("most_rated").fit(RATINGS)
    top = engine.recommend(1, k=2, exclude_seen=False)["movie"].tolist()
    counts = RATINGS["movie"].value_counts()
    assert top == counts.sort_values(ascending=False, kind="stable").index[:2].tolist()
    again = load_engine(engine.save(tmp_path / "most_rated"))
    assert type(again) is MostRated and again.recommend(1, k=2, exclude_seen=False)["movie"].tolist() == top


def test_the_smallest_engine_refuses_state_that_does_not_fit_its_movies(registered_most_rated, tmp_path):
    folder = create_engine("most_rated").fit(RATINGS).save(tmp_path / "most_rated")
    with np.load(folder / "arrays.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["state_counts"] = arrays["state_counts"][:1]
    meta = json.loads((folder / "engine.json").read_text())
    meta["arrays"]["state_counts"].update(shape=[1], sha256=hashlib.sha256(arrays["state_counts"].tobytes()).hexdigest())
    np.savez(folder / "arrays.npz", **arrays)
    (folder / "engine.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="1 counts for 6 movies"):
        load_engine(folder)


def test_an_engine_that_does_not_say_what_it_saves_cannot_register():
    class Forgetful(Recommender):
        name = "forgetful"

        def _fit(self, ratings: pd.DataFrame, movies: Any) -> None:
            self.learned_ = 1.0

    with pytest.raises(TypeError, match=r"Forgetful: implement _state\(\)"):
        register(family="classic", summary="x")(Forgetful)
    assert "forgetful" not in ENGINES


def test_an_unregistered_engine_without_state_fails_at_save_and_writes_no_manifest(tmp_path):
    class Forgetful(Recommender):
        name = "forgetful"

        def _fit(self, ratings: pd.DataFrame, movies: Any) -> None:
            self.learned_ = 1.0

    engine = Forgetful().fit(RATINGS)
    with pytest.raises(NotImplementedError, match=r"Forgetful does not say what it saves: implement _state\(\)"):
        engine.save(tmp_path / "forgetful")
    assert not (tmp_path / "forgetful" / "engine.json").exists()


def test_registration_mistakes_are_named():
    class Unnamed(MostRated):  # inherits MostRated's name
        pass

    with pytest.raises(TypeError, match="set `name` in the class body"):
        register(family="classic", summary="x")(Unnamed)

    class Impostor(MostRated):
        name = "baseline"

    with pytest.raises(TypeError, match="'baseline' is already registered by movierec.core.models.classic.baseline"):
        register(family="classic", summary="x")(Impostor)
    with pytest.raises(ValueError, match="unknown engine family 'classical'"):
        register(family="classical", summary="x")
    assert ENGINES["baseline"].engine is Baseline


def test_a_folder_saved_before_the_families_loads_with_the_same_answers(tmp_path):
    meta = json.loads((SAVED_BEFORE_FAMILIES / "engine.json").read_text())
    assert meta["class"] == "movierec.core.models.baseline:Baseline"  # the module path of that time
    fresh = create_engine("baseline").fit(RATINGS)
    for load in (load_engine, Baseline.load, Recommender.load):
        loaded = load(SAVED_BEFORE_FAMILIES)
        assert type(loaded) is Baseline
        assert loaded.recommend(3, k=3).equals(fresh.recommend(3, k=3))
        np.testing.assert_allclose(loaded.predict(RATINGS["user"], RATINGS["movie"]),
                                   fresh.predict(RATINGS["user"], RATINGS["movie"]))
    # an unregistered name leaves the class path alone to find the class
    folder = shutil.copytree(SAVED_BEFORE_FAMILIES, tmp_path / "renamed")
    (folder / "engine.json").write_text(json.dumps({**meta, "engine": "no_longer_listed"}))
    assert type(load_engine(folder)) is Baseline


def test_a_saved_engine_does_not_load_as_another_class(tmp_path):
    with pytest.raises(ModelFileError, match="is not a UserKNN"):
        UserKNN.load(SAVED_BEFORE_FAMILIES)


def test_every_module_engines_left_is_translated_to_one_that_exists():
    for old, new in MOVED_MODULES.items():
        assert importlib.util.find_spec(new) is not None, new
        assert importlib.util.find_spec(old) is None, old
