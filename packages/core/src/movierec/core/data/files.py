"""Reading data files: OS errors and undecodable bytes become one-line DataErrors naming the file."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from movierec.core.errors import DataError

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


_KINDS = (
    (stat.S_ISDIR, "is a folder, expected a file"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file; only regular files are read"),
    (stat.S_ISCHR, "is a character device (such as /dev/zero), not a regular file; only regular files are read"),
    (stat.S_ISBLK, "is a block device, not a regular file; only regular files are read"),
    (stat.S_ISSOCK, "is a socket, not a regular file; only regular files are read"),
)


def check_regular_file(path: str | Path, what: str = "file") -> Path:
    """`path` as a Path when it is (or links to) a regular file; else a DataError saying what it is.

    Checked with stat before any open: opening a FIFO blocks until a writer comes, and a device
    such as /dev/zero never ends.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        dangling = " (a symbolic link to a missing file)" if path.is_symlink() else ""
        raise DataError(f"{path}: {what} not found{dangling}") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied, the file cannot be read") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error})") from None
    if stat.S_ISREG(mode):
        return path
    for test, sentence in _KINDS:
        if test(mode):
            raise DataError(f"{path}: {sentence}")
    raise DataError(f"{path}: not a regular file; only regular files are read")


def expand_user(path: str | Path) -> Path:
    """`path` with a leading `~` or `~user` expanded; an unknown user is a DataError, not a RuntimeError."""
    path = Path(path)
    try:
        return path.expanduser()
    except RuntimeError:  # Path.expanduser's answer for a user the system does not know
        user = str(path).split("/", 1)[0]
        raise DataError(f"{path}: {user} is not a user on this system (a path may start with ~ or ~user)") from None


@contextmanager
def reading(path: str | Path) -> Iterator[None]:
    """Run a read of `path`; an OSError (a folder, no permission, an I/O error) names the file."""
    try:
        yield
    except IsADirectoryError as error:
        raise DataError(f"{error.filename or path}: is a folder, expected a file") from None
    except PermissionError as error:
        raise DataError(f"{error.filename or path}: permission denied, the file cannot be read") from None
    except FileNotFoundError as error:
        raise DataError(f"{error.filename or path}: file not found") from None
    except OSError as error:
        if error.errno == errno.EISDIR:  # some calls report a folder as a plain OSError
            raise DataError(f"{error.filename or path}: is a folder, expected a file") from None
        raise DataError(f"{error.filename or path}: cannot be read ({error.strerror or error})") from None


def decode_utf8(path: str | Path, data: bytes) -> str:
    """`data` as UTF-8 (a BOM dropped), or a DataError naming the line of the first bad byte."""
    position = first_bad_utf8(data)
    if position is not None:
        raise utf8_error(path, data, position)
    return data.decode("utf-8-sig")


def utf8_error(path: str | Path, data: bytes, position: int) -> DataError:
    """The DataError for a byte that is not UTF-8 at `position` of `data`."""
    if data.startswith(_UTF16_BOMS):
        return DataError(f"{path}:1: the file is UTF-16 encoded; save it as UTF-8")
    line = data.count(b"\n", 0, position) + 1
    return DataError(
        f"{path}:{line}: byte {data[position:position + 1].hex()!r} is not UTF-8 text "
        "(save the file as UTF-8)"
    )


def first_bad_utf8(data: bytes) -> int | None:
    """Position of the first byte that does not decode as UTF-8 (a leading BOM is fine), or None."""
    skip = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        data[skip:].decode("utf-8")
    except UnicodeDecodeError as error:
        return skip + error.start
    return None
