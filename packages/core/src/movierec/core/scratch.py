"""Scratch folders that tell whether their writer still lives: a lock file held with `fcntl.flock`.

A folder written in place (a download being unzipped, an engine being saved) is named
`<prefix><random>` and holds `.owner.lock`, locked for as long as the writer runs. The kernel
drops the lock when the writer dies, however it dies (`kill -9` included), so a later process can
tell a folder left behind from one still being written; unlike a PID in the name, a lock cannot
be mistaken for a new process that happens to get the same PID after a restart.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

LOCK_FILE = ".owner.lock"
#: a scratch folder without a lock file (its writer had finished with it, or predates the lock) is
#: removed once it is this old; writing one takes seconds
UNLOCKED_AGE_SECONDS = 3600.0


class ScratchFolder:
    """A new folder `parent/<prefix><random>`, locked while the `with` block runs and removed after it.

    `detach()` drops the lock file (keeping the lock until the block ends) so that the folder can
    be renamed into place without it; a folder renamed away is not removed.
    """

    def __init__(self, parent: Path, prefix: str) -> None:
        # made and locked under a name `remove_stale` does not look at, then renamed: a folder
        # with the prefix always has a held lock from its first moment, so no age is needed
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=f"{prefix.rstrip('-.')}~"))
        self._lock = os.open(staging / LOCK_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.path = parent / f"{prefix}{staging.name.rpartition('~')[2]}"
        try:
            os.rename(staging, self.path)
        except OSError:
            os.close(self._lock)
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def __enter__(self) -> ScratchFolder:
        return self

    def detach(self) -> None:
        """Remove the lock file from the folder; the lock itself is held until the block ends."""
        (self.path / LOCK_FILE).unlink(missing_ok=True)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock)


def writer_alive(folder: Path) -> bool | None:
    """True while a live process holds `folder`'s lock, False when none does, None without a lock file."""
    try:
        descriptor = os.open(folder / LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:  # a symlink in the lock's place: not one of ours
            return None
        raise
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def remove_stale(parent: Path, prefix: str, unlocked_age: float = UNLOCKED_AGE_SECONDS) -> list[Path]:
    """Remove the folders `parent/<prefix>*` whose writer is gone; return them.

    Gone means: the lock file is there and nobody holds it, or there is no lock file (a writer
    that had finished with it, or an older version's) and the folder is older than `unlocked_age`
    seconds.
    """
    removed: list[Path] = []
    try:
        candidates = list(parent.glob(f"{glob_escape(prefix)}*"))
    except OSError:
        return removed
    now = time.time()
    for folder in candidates:
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            age = now - folder.lstat().st_mtime
            alive = writer_alive(folder)
        except OSError:
            continue
        if alive or (alive is None and age < unlocked_age):
            continue
        log.info("removing %s, left by a writer that is gone", folder)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def glob_escape(text: str) -> str:
    """`text` with the glob metacharacters * ? [ taken literally."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)
