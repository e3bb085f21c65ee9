"""One parameter vocabulary for movierec's own engines; the old names still work for one release."""

from __future__ import annotations

import inspect
import json
import warnings

import numpy as np
import pytest

from movierec.core.errors import MovierecError
from movierec.core.models import create_engine, load_engine
from movierec.core.models.classic.ease import EASE
from movierec.core.models.deep.keras_deep import KerasDeep
from movierec.core.models.deep.keras_hybrid import KerasHybrid
from movierec.core.models.deep.keras_mf import KerasMF
from movierec.core.models.params import renamed_in
from movierec.core.models.registry import ENGINES, engine_class, engine_names

OLD_NAMES = {"seed", "factors", "epochs", "l2", "lambda_", "alpha"}
OWN_ENGINES = [name for name, info in ENGINES.items() if info.family not in ("surprise", "lightfm")]


@pytest.mark.parametrize("name", OWN_ENGINES)
def test_own_engines_speak_the_vocabulary(name):
    params = set(engine_class(name)._get_param_names())
    assert not params & OLD_NAMES
    assert set(renamed_in(engine_class(name)).values()) <= params  # every old name points at a real one


@pytest.mark.parametrize("name", engine_names(family="lightfm", available_only=True))
def test_library_wrappers_keep_their_libraries_names(name):
    assert {"no_components", "epochs", "random_state"} <= set(engine_class(name)._get_param_names())


def test_an_old_name_in_the_constructor_warns_and_sets_the_new_one():
    with pytest.warns(DeprecationWarning, match="'lambda_' is now 'reg'"):
        engine = EASE(lambda_=3.0)
    assert engine.reg == 3.0 and engine.get_params()["reg"] == 3.0 and "lambda_" not in engine.get_params()


def test_an_old_name_in_create_engine_warns_where_create_engine_was_called():
    with pytest.warns(DeprecationWarning) as caught:
        engine = create_engine("blend", alpha=0.5, seed=3)
    assert (engine.reg, engine.random_state) == (0.5, 3)
    assert sorted(str(record.message).split(": ", 1)[1] for record in caught) == [
        "parameter 'alpha' is now 'reg'; the old name stops working in the next release",
        "parameter 'seed' is now 'random_state'; the old name stops working in the next release",
    ]
    assert {record.filename for record in caught} == {__file__}


def test_both_names_of_one_parameter_are_refused():
    with pytest.raises(TypeError, match="both 'seed' and its new name 'random_state'"):
        create_engine("item_knn", seed=1, random_state=2)


def test_unknown_names_stay_a_clear_error():
    with pytest.raises(MovierecError, match="has no parameter.*nonsense"):
        create_engine("ease", nonsense=1)


def test_a_folder_saved_with_old_names_still_loads(sample, tmp_path):
    engine = create_engine("ease", reg=3.0, dtype="float64").fit(sample.ratings)
    folder = engine.save(tmp_path / "ease")
    meta = json.loads((folder / "engine.json").read_text())
    meta["params"]["lambda_"] = meta["params"].pop("reg")
    (folder / "engine.json").write_text(json.dumps(meta))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        again = load_engine(folder)
    assert again.get_params() == engine.get_params()
    user = int(sample.ratings["user"].iloc[0])
    np.testing.assert_array_equal(again.recommend(user, k=10)["movie"], engine.recommend(user, k=10)["movie"])


@pytest.mark.parametrize(("cls", "n_epochs", "reg"), [(KerasMF, 40, 0.1), (KerasDeep, 30, 0.02), (KerasHybrid, 30, 0.02)])
def test_keras_engines_show_every_training_setting_in_their_signature(cls, n_epochs, reg):
    signature = inspect.signature(cls)
    training = [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert training == ["n_epochs", "batch_size", "learning_rate", "reg", "validation_fraction", "patience",
                        "min_delta", "random_state", "accelerator", "verbose", "progress", "deterministic"]
    assert (signature.parameters["n_epochs"].default, signature.parameters["reg"].default) == (n_epochs, reg)
    engine = cls()
    assert (engine.n_epochs, engine.reg, engine.random_state) == (n_epochs, reg, 42)
    assert "progress" not in engine.get_params()  # a run-time hook, never saved


def test_keras_training_settings_keep_their_old_names():
    with pytest.warns(DeprecationWarning) as caught:
        engine = KerasMF(factors=8, epochs=2, l2=0.3, seed=5)
    assert len(caught) == 4
    assert (engine.n_factors, engine.n_epochs, engine.reg, engine.random_state) == (8, 2, 0.3, 5)
