"""Damaged saved engines: every problem is a ModelFileError naming the folder and file, never a crash later."""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from movierec.core.errors import ModelFileError
from movierec.core.models import create_engine, load_engine


@pytest.fixture(scope="module")
def saved(sample, tmp_path_factory) -> Path:
    """item_knn saved once; each test damages its own copy."""
    engine = create_engine("item_knn").fit(sample.ratings)
    return engine.save(tmp_path_factory.mktemp("engines") / "item_knn")


@pytest.fixture
def copy(saved, tmp_path) -> Path:
    target = tmp_path / "copy"
    target.mkdir()
    for path in saved.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def _rewrite_npz(folder: Path, change) -> None:
    with np.load(folder / "arrays.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    change(arrays)
    np.savez(folder / "arrays.npz", **arrays)


def _edit_manifest(folder: Path, change) -> None:
    meta = json.loads((folder / "engine.json").read_text())
    change(meta)
    (folder / "engine.json").write_text(json.dumps(meta))


def test_a_state_array_cut_to_length_one_is_refused(copy):
    def cut(arrays):
        for key in arrays:
            if key.startswith("state_"):
                arrays[key] = arrays[key][:1]

    _rewrite_npz(copy, cut)
    with pytest.raises(ModelFileError, match=r"arrays\.npz: array 'state_[^']*'.*(promises|says)"):
        load_engine(copy)


def test_a_consistently_cut_manifest_is_still_caught_by_the_checksums_or_structure(copy):
    def cut(arrays):
        arrays["seen_indices"] = arrays["seen_indices"][:1]

    _rewrite_npz(copy, cut)
    with np.load(copy / "arrays.npz") as data:
        shape = list(data["seen_indices"].shape)
    _edit_manifest(copy, lambda meta: meta["arrays"]["seen_indices"].update(shape=shape))
    with pytest.raises(ModelFileError, match=str(copy)):
        load_engine(copy)


def test_a_truncated_archive_is_refused_naming_the_file(copy):
    data = (copy / "arrays.npz").read_bytes()
    (copy / "arrays.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"arrays\.npz: not a readable \.npz archive"):
        load_engine(copy)


def test_a_flipped_byte_is_caught_by_the_checksum(copy):
    data = bytearray((copy / "arrays.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "arrays.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"arrays\.npz"):
        load_engine(copy)


def test_a_header_asking_for_terabytes_is_refused_before_any_allocation(copy):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (1 << 39,)})
    with np.load(copy / "arrays.npz") as data:
        arrays = {key: data[key] for key in data.files}
    with zipfile.ZipFile(copy / "arrays.npz", "w") as archive:
        for key, value in arrays.items():
            if key.startswith("state_"):
                archive.writestr(f"{key}.npy", header.getvalue() + b"\0" * 64)
            else:
                buffer = io.BytesIO()
                np.save(buffer, value)
                archive.writestr(f"{key}.npy", buffer.getvalue())
    state_keys = [key for key in arrays if key.startswith("state_")]
    _edit_manifest(copy, lambda meta: [meta["arrays"][k].update(shape=[1 << 39], dtype="<f8") for k in state_keys])
    with pytest.raises(ModelFileError, match="promises"):
        load_engine(copy)


def test_a_symlinked_archive_is_refused_as_such(copy, saved):
    (copy / "arrays.npz").unlink()
    (copy / "arrays.npz").symlink_to(saved / "arrays.npz")
    with pytest.raises(ModelFileError, match="symbolic link"):
        load_engine(copy)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda folder: (folder / "engine.json").unlink(), "no engine.json"),
        (lambda folder: (folder / "arrays.npz").unlink(), r"arrays\.npz: missing"),
        (lambda folder: (folder / "engine.json").write_text("{not json"), r"engine\.json:1: not valid JSON"),
        (lambda folder: (folder / "engine.json").write_bytes(b"\xff\xfe{}"), "not UTF-8"),
        (lambda folder: (folder / "engine.json").write_text("[1, 2]"), "expected a JSON object"),
        (lambda folder: _edit_manifest(folder, lambda m: m.pop("params")), "'params' missing"),
        (lambda folder: _edit_manifest(folder, lambda m: m.update(format=1)), "format 1, expected 2"),
        (lambda folder: _edit_manifest(folder, lambda m: m["params"].update(bogus=1)), "parameters do not fit"),
        (lambda folder: _edit_manifest(folder, lambda m: m.update(rating_range=[5, 1])), "low <= high"),
        (lambda folder: _edit_manifest(folder, lambda m: m.update(global_mean="x")), "finite numbers"),
        (lambda folder: _edit_manifest(folder, lambda m: m.update(engine="x", **{"class": "os:system"})),
         "not a movierec engine"),
        (lambda folder: _edit_manifest(folder, lambda m: m["arrays"].pop("users")), "arrays differ"),
    ],
)
def test_damaged_manifests_and_missing_files_are_clear_errors(copy, damage, message):
    damage(copy)
    with pytest.raises(ModelFileError, match=message):
        load_engine(copy)


def test_a_missing_folder_and_a_file_are_clear_errors(tmp_path):
    with pytest.raises(ModelFileError, match="no such folder"):
        load_engine(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFileError, match="not a folder"):
        load_engine(tmp_path / "file")


@pytest.mark.parametrize("name", ["baseline", "user_knn", "content_tfidf"])
def test_random_damage_to_any_file_is_a_model_file_error_or_harmless(name, sample, tmp_path):
    engine = create_engine(name).fit(sample.ratings, sample.movies)
    folder = engine.save(tmp_path / "original")
    generator = random.Random(7)
    for trial in range(40):
        target = tmp_path / f"damaged{trial}"
        target.mkdir()
        for path in folder.iterdir():
            (target / path.name).write_bytes(path.read_bytes())
        victim = target / generator.choice(["engine.json", "arrays.npz"])
        data = bytearray(victim.read_bytes())
        position = generator.randrange(len(data))
        if generator.random() < 0.5:
            data = data[:position]
        else:
            data[position] = generator.randrange(256)
        victim.write_bytes(bytes(data))
        try:
            again = load_engine(target)
        except ModelFileError as error:
            assert str(target) in str(error)
            continue
        # the damage hit bytes that do not matter (JSON whitespace, zip padding): answers unchanged
        user = int(sample.ratings["user"].iloc[0])
        assert again.recommend(user, k=5).equals(engine.recommend(user, k=5))


def test_an_unfinished_save_has_no_manifest(sample, tmp_path):
    engine = create_engine("baseline").fit(sample.ratings)
    folder = engine.save(tmp_path / "model")
    assert (folder / "engine.json").exists() and not list(folder.glob(".*partial"))
    (folder / "engine.json").unlink()  # what a kill before the last step leaves
    with pytest.raises(ModelFileError, match="unfinished save"):
        load_engine(folder)
