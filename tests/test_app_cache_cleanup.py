"""The engine cache removes what is provably stale and leaves a save in progress alone."""

from __future__ import annotations

import os
import time
from pathlib import Path

from movierec.app.engines import STALE_SECONDS, EngineCache
from scratch_holder import hold_scratch


def test_stale_temporary_folders_go_and_saves_in_progress_stay(sample, tmp_path: Path) -> None:
    cache = EngineCache(sample, tmp_path)
    folder = cache.folder("baseline")
    folder.parent.mkdir(parents=True)
    old = time.time() - STALE_SECONDS - 60
    # named by an older version with a PID that is alive again (this process): an hour old, so no save
    reused = folder.with_name(f".{folder.name}.{os.getpid()}.7")
    fresh = folder.with_name(f".{folder.name}.{os.getpid()}.8")  # may still be written: stays
    for partial in (reused, fresh):
        partial.mkdir()
        (partial / "engine.json").write_text("{")
    os.utime(reused, (old, old))
    (killed, dead), (live, busy) = (hold_scratch(folder.parent, f".{folder.name}.saving-") for _ in range(2))
    try:
        killed.kill()  # killed while saving: the kernel drops its lock
        killed.wait()
        cache.get("baseline")
        assert not reused.exists() and not dead.exists()
        assert fresh.exists() and busy.exists()
        assert sorted(p.name for p in folder.parent.iterdir() if not p.name.startswith(".")) == [folder.name, "trained.json"]
    finally:
        live.kill()
        live.wait()
