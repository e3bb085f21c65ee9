"""The engine cache removes what is provably stale and leaves a save in progress alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from movierec.app.engines import STALE_SECONDS, EngineCache
from movierec.core.scratch import LOCK_FILE

HOLDER = """
import fcntl, os, sys, tempfile, time
path = tempfile.mkdtemp(dir=sys.argv[1], prefix=sys.argv[2])
lock = os.open(os.path.join(path, sys.argv[3]), os.O_CREAT | os.O_WRONLY)
fcntl.flock(lock, fcntl.LOCK_EX)
print(path, flush=True)
time.sleep(60)
"""


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
    holders = [subprocess.Popen([sys.executable, "-c", HOLDER, str(folder.parent), f".{folder.name}.saving-", LOCK_FILE],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    dead, busy = (Path(holder.stdout.readline().strip()) for holder in holders)
    try:
        holders[0].kill()  # killed while saving: the kernel drops its lock
        holders[0].wait()
        cache.get("baseline")
        assert not reused.exists() and not dead.exists()
        assert fresh.exists() and busy.exists()
        assert sorted(p.name for p in folder.parent.iterdir() if not p.name.startswith(".")) == [folder.name, "trained.json"]
    finally:
        holders[1].kill()
        holders[1].wait()
