"""Saving is whole per process: concurrent saves to one folder leave the last complete one; packed members are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from movierec.core.errors import ModelFileError
from movierec.core.models import create_engine, load_engine
from scratch_holder import hold_scratch

SAVER = """
import sys
import numpy as np, pandas as pd
from movierec.core.models import create_engine
folder, reg, rounds = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
ratings = pd.DataFrame({"user": rng.integers(1, 50, 2000).astype("int32"), "movie": rng.integers(1, 80, 2000).astype("int32"),
                        "rating": rng.integers(1, 6, 2000).astype("float32")}).drop_duplicates(["user", "movie"])
engine = create_engine("baseline", reg_user=reg).fit(ratings)
print("ready", flush=True)
sys.stdin.readline()  # every process starts at the same moment
for _ in range(rounds):
    engine.save(folder)
print("saved", flush=True)
"""

READER = """
import sys, time
from movierec.core.models import load_engine
folder = sys.argv[1]
print("ready", flush=True)
sys.stdin.readline()
stop = time.time() + float(sys.argv[2])
loads = failures = 0
while time.time() < stop:
    try:
        load_engine(folder)
        loads += 1
    except Exception as error:
        failures += 1
        print(type(error).__name__, error, file=sys.stderr)
print(loads, failures, flush=True)
"""

def test_two_processes_saving_to_one_folder_leave_one_complete_save_and_readers_never_fail(
        sample, tmp_path: Path) -> None:
    """This process and another save 20 times each into one folder while a third process loads it."""
    engine = create_engine("baseline", reg_user=25.0).fit(sample.ratings)
    folder = engine.save(tmp_path / "model")
    options = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    saver = subprocess.Popen([sys.executable, "-c", SAVER, str(folder), "5.0", "20"], **options)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(folder), "1.5"], **options)
    for process in (saver, reader):
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    for process in (saver, reader):
        process.stdin.write("go\n")
        process.stdin.flush()
    for _ in range(20):
        engine.save(folder)
    out, err = saver.communicate(timeout=120)
    assert saver.returncode == 0, err
    assert out.strip() == "saved"
    out, err = reader.communicate(timeout=60)
    loads, failures = map(int, out.split())
    assert failures == 0, err  # every load while the two saved found one whole save
    assert loads > 0
    assert load_engine(folder).get_params()["reg_user"] in (5.0, 25.0)  # the last complete save
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no scratch or swapped-out folder left


def test_a_folder_holding_other_files_is_not_replaced(sample, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    engine = create_engine("baseline").fit(sample.ratings)
    with pytest.raises(ModelFileError, match="holds other files and no saved engine"):
        engine.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFileError, match="is a file or a link"):
        engine.save(tmp_path / "file")


def test_a_save_killed_midway_leaves_a_folder_the_next_save_removes(sample, tmp_path: Path) -> None:
    killed, left = hold_scratch(tmp_path, ".model.saving-")
    live, busy = hold_scratch(tmp_path, ".model.saving-")
    try:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        folder = create_engine("baseline").fit(sample.ratings).save(tmp_path / "model")
        assert not left.exists()  # its writer is dead: removed
        assert busy.exists()  # a save in progress in another process: untouched
    finally:
        live.kill()
        live.wait()
    assert load_engine(folder).get_params()["reg_user"] == 15.0


def _deflated_member(path: Path, key: str, header_shape: tuple[int, ...], zeros: int) -> None:
    """Replace member `key` of arrays.npz by a DEFLATE member: a .npy header, then `zeros` zero bytes."""
    with zipfile.ZipFile(path) as old:
        kept = {info.filename: old.read(info) for info in old.infolist() if info.filename != f"{key}.npy"}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as new:
        for name, data in kept.items():
            new.writestr(name, data)
        info = zipfile.ZipInfo(f"{key}.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with new.open(info, "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": header_shape})
            block = bytes(1 << 20)
            for _ in range(-(-zeros // len(block))):
                member.write(block)


def test_a_deflated_arrays_member_is_refused_before_it_is_inflated(sample, tmp_path: Path) -> None:
    folder = create_engine("baseline").fit(sample.ratings).save(tmp_path / "model")
    count = 6_000_000  # 48 MB of float64 behind about 50 kB of deflate
    _deflated_member(folder / "arrays.npz", "seen_data", (count,), count * 8)
    meta = json.loads((folder / "engine.json").read_text())
    meta["arrays"]["seen_data"]["shape"] = [count]
    meta["arrays"]["seen_data"]["dtype"] = "<f8"
    (folder / "engine.json").write_text(json.dumps(meta))
    assert (folder / "arrays.npz").stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="seen_data': stored compressed or encrypted .*must be stored uncompressed"):
            load_engine(folder)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000  # nothing near the 48 MB was allocated


def test_an_npz_saved_compressed_is_refused_even_with_matching_checksums(sample, tmp_path: Path) -> None:
    folder = create_engine("baseline").fit(sample.ratings).save(tmp_path / "model")
    with np.load(folder / "arrays.npz") as data:
        arrays = {key: data[key] for key in data.files}
    np.savez_compressed(folder / "arrays.npz", **arrays)
    with pytest.raises(ModelFileError, match="stored compressed"):
        load_engine(folder)
