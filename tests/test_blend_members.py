"""A saved blend loads only its own members: inside its folder, with the parameters and checksums it recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from movierec.core.data.split import holdout_split
from movierec.core.errors import ModelFileError
from movierec.core.models import create_engine, load_engine

MEMBERS = ("baseline", "user_knn")


@pytest.fixture(scope="module")
def train(sample):
    return holdout_split(sample.ratings, 0.2, seed=11)[0]


@pytest.fixture(scope="module")
def saved(train, tmp_path_factory) -> Path:
    return create_engine("blend", members=MEMBERS).fit(train).save(tmp_path_factory.mktemp("blend") / "saved")


@pytest.fixture
def blend(saved, tmp_path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "blend"))


def edit(path: Path, change) -> None:
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def as_saved_before_members_json(folder: Path) -> None:
    """What a blend saved before members.json existed looks like."""
    (folder / "members.json").unlink()
    edit(folder / "engine.json", lambda meta: meta["files"].pop("members.json"))


def test_the_saved_blend_records_each_members_params_and_checksum(blend, train):
    record = json.loads((blend / "members.json").read_text())["members"]
    assert [entry["name"] for entry in record] == list(MEMBERS)
    assert record[0]["params"]["reg_user"] == 15.0 and len(record[0]["engine_json_sha256"]) == 64
    assert "members.json" in json.loads((blend / "engine.json").read_text())["files"]
    loaded = load_engine(blend)
    user = int(train["user"].iloc[0])
    assert loaded.recommend(user, k=5)["movie"].tolist() == load_engine(blend).recommend(user, k=5)["movie"].tolist()


def test_a_member_name_that_climbs_out_of_the_folder_is_refused(blend, train, tmp_path):
    create_engine("baseline", reg_user=3.0).fit(train).save(tmp_path / "other_baseline")
    edit(blend / "engine.json", lambda meta: meta["params"].update(members=["baseline/../../../other_baseline", "user_knn"]))
    as_saved_before_members_json(blend)
    with pytest.raises(ModelFileError, match="'baseline/../../../other_baseline' is not a registered engine"):
        load_engine(blend)


def test_a_member_folder_that_is_a_link_is_refused(blend, tmp_path):
    shutil.move(blend / "members" / "1_user_knn", tmp_path / "elsewhere")
    (blend / "members" / "1_user_knn").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ModelFileError, match="1_user_knn: is a symbolic link"):
        load_engine(blend)


def test_a_member_swapped_for_another_save_is_refused(blend, train):
    shutil.rmtree(blend / "members" / "0_baseline")
    create_engine("baseline").fit(train.iloc[: len(train) // 2]).save(blend / "members" / "0_baseline")
    with pytest.raises(ModelFileError, match="0_baseline: not the member this blend saved"):
        load_engine(blend)


@pytest.mark.parametrize("recorded", [True, False], ids=["members.json", "saved before members.json"])
def test_a_member_trained_with_other_parameters_is_refused(blend, train, recorded):
    if not recorded:
        as_saved_before_members_json(blend)
    shutil.rmtree(blend / "members" / "0_baseline")
    create_engine("baseline", reg_user=3.0).fit(train).save(blend / "members" / "0_baseline")
    message = "not the member this blend saved" if recorded else "saved with other parameters than the blend's \\(reg_user"
    with pytest.raises(ModelFileError, match=message):
        load_engine(blend)


def test_a_blend_saved_before_members_json_still_loads(blend, saved, train):
    as_saved_before_members_json(blend)
    users, movies = train["user"].to_numpy()[:50], train["movie"].to_numpy()[:50]
    np.testing.assert_array_equal(load_engine(blend).predict(users, movies), load_engine(saved).predict(users, movies))
