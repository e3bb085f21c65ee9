"""A live process holding a scratch folder's lock the way ScratchFolder does, without importing movierec (fast)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from movierec.core.scratch import LOCK_FILE

HOLDER = """
import fcntl, os, sys, tempfile, time
path = tempfile.mkdtemp(dir=sys.argv[1], prefix=sys.argv[2])
lock = os.open(os.path.join(path, sys.argv[3]), os.O_CREAT | os.O_WRONLY)
fcntl.flock(lock, fcntl.LOCK_EX)
print(path, flush=True)
time.sleep(60)
"""


def hold_scratch(parent: Path, prefix: str) -> tuple[subprocess.Popen, Path]:
    """A live process holding a new scratch folder's lock, and the folder."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(parent), prefix, LOCK_FILE],
                              stdout=subprocess.PIPE, text=True)
    return holder, Path(holder.stdout.readline().strip())
