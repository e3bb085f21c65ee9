"""Download, verify and cache the official GroupLens MovieLens archives, like sklearn's fetch_*.

The cache lives in `$MOVIEREC_DATA_DIR`, else `~/.cache/movierec`; each archive is unzipped
into `<cache>/<name>/` and the zip is removed. Archives with a published MD5 (GroupLens puts
`<name>.zip.md5` next to each stable release) are checked against it; the `ml-latest*`
archives are re-issued from time to time and have no fixed checksum, so those are verified as
sound zip files that hold the expected files, within the sizes such an archive can have.

Whatever goes wrong (the network, a cut or oversized download, a damaged or oversized archive, a
cache path that is not a folder) is one `DataError` naming the URL or path and the problem. A
download is bounded in bytes and in total time; each unzipped member and their sum are bounded
too, checked before writing and while writing, so a bad mirror cannot fill the disk. Scratch
folders hold a lock while in use; one left by a killed process is removed by the next fetch.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from movierec.core.data.files import expand_user
from movierec.core.errors import DataError, excerpt
from movierec.core.scratch import ScratchFolder, remove_stale

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/"
_LATEST_FILES = ("ratings.csv", "movies.csv", "links.csv", "tags.csv")


_MB = 1_000_000


@dataclass(frozen=True)
class MovieLensArchive:
    """One official archive: the files its `<name>/` folder must hold, its MD5 if fixed, and size bounds.

    The bounds are the published sizes with a margin for re-issues: `max_zip` for the download,
    `max_member` for any one unzipped file, `max_total` for all of them together.
    """

    name: str
    files: tuple[str, ...]
    md5: str | None = None
    max_zip: int = 8 * _MB
    max_member: int = 64 * _MB
    max_total: int = 128 * _MB

    def deadline(self) -> float:
        """Seconds a whole download may take: 2 minutes, or the largest zip at 256 kB/s if longer."""
        return max(120.0, self.max_zip / 256_000)


# published sizes (zip / largest file / unzipped): ml-latest-small 1 / 2.5 / 3.3 MB (2018),
# ml-100k 5 / 2 / 16 MB, ml-1m 6 / 25 / 25 MB, ml-20m 198 / 533 / 875 MB, ml-25m 262 / 678 /
# 1,200 MB, ml-latest 335 / 891 / 1,500 MB (2023; re-issued and growing)
ARCHIVES: dict[str, MovieLensArchive] = {
    archive.name: archive
    for archive in (
        MovieLensArchive("ml-latest-small", _LATEST_FILES, max_zip=8 * _MB, max_member=32 * _MB, max_total=64 * _MB),
        MovieLensArchive(
            "ml-100k",
            ("u.data", "u.item", "u.genre", *(f"u{i}.{part}" for i in "12345ab" for part in ("base", "test"))),
            "0e33842e24a9c977be4e0107933c0723",
            max_zip=8 * _MB, max_member=16 * _MB, max_total=32 * _MB,
        ),
        MovieLensArchive("ml-1m", ("ratings.dat", "movies.dat", "users.dat"), "c4d9eecfca2ab87c1945afe126590906",
                         max_zip=8 * _MB, max_member=48 * _MB, max_total=64 * _MB),
        MovieLensArchive("ml-20m", _LATEST_FILES, "cd245b17a1ae2cc31bb14903e1204af3",
                         max_zip=256 * _MB, max_member=1_000 * _MB, max_total=1_500 * _MB),
        MovieLensArchive("ml-25m", _LATEST_FILES, "6b51fb2759a8657d3bfcbfc42b592ada",
                         max_zip=384 * _MB, max_member=1_500 * _MB, max_total=2_000 * _MB),
        MovieLensArchive("ml-latest", _LATEST_FILES, max_zip=1_000 * _MB, max_member=4_000 * _MB,
                         max_total=8_000 * _MB),
    )
}

_KNOWN = object()  # default of fetch_movielens(md5=...): the archive's published checksum


def data_home(cache_dir: str | Path | None = None) -> Path:
    """The cache folder: `cache_dir`, else $MOVIEREC_DATA_DIR, else ~/.cache/movierec."""
    if cache_dir is not None:
        return expand_user(cache_dir)
    override = os.environ.get("MOVIEREC_DATA_DIR")
    return expand_user(override) if override else Path.home() / ".cache" / "movierec"


def fetch_movielens(
    name: str,
    cache_dir: str | Path | None = None,
    *,
    base_url: str = GROUPLENS_URL,
    md5: str | None | object = _KNOWN,
    download_if_missing: bool = True,
    timeout: float = 60.0,
    deadline: float | None = None,
    limits: MovieLensArchive | None = None,
) -> Path:
    """Return the folder of a MovieLens archive, downloading and verifying it when not cached.

    `md5` overrides the published checksum (None skips it, e.g. for a re-packed mirror); the
    zip must still hold the expected files. `timeout` bounds each network read, `deadline` the
    whole download in seconds (default: `ARCHIVES[name].deadline()`). `limits` replaces the
    archive's size bounds (an archive with the same name and files). Every failure is a DataError.
    """
    if name not in ARCHIVES:
        raise DataError(f"unknown MovieLens archive {excerpt(name)}: expected one of {', '.join(ARCHIVES)}")
    archive = limits or ARCHIVES[name]
    home = data_home(cache_dir)
    target = home / name
    url = base_url.rstrip("/") + f"/{name}.zip"
    try:
        return _fetch(archive, home, target, url, md5, download_if_missing, timeout,
                      archive.deadline() if deadline is None else deadline)
    except DataError:
        raise
    except Exception as error:  # noqa: BLE001 - untrusted bytes from a network: any failure is a data failure
        raise DataError(f"{url}: could not be fetched into {target} ({type(error).__name__}: {_first_line(error)})") from None


def _fetch(archive: MovieLensArchive, home: Path, target: Path, url: str, md5: str | None | object,
           download_if_missing: bool, timeout: float, deadline: float) -> Path:
    name = archive.name
    if _complete(target, archive):
        return target
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise DataError(f"{target}: is a file or a link where the {name} folder belongs; remove it and retry")
    if not download_if_missing:
        raise DataError(f"{target}: {name} is not in the cache and download_if_missing=False")
    expected_md5 = archive.md5 if md5 is _KNOWN else md5
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{home}: the cache folder cannot be created ({error.strerror or error})") from None
    remove_stale(home, f".{name}.fetch-")  # left by a fetch that was killed (its lock is free)
    remove_stale(home, f".{name}-")  # left by an older version, which named scratch folders so and held no lock
    with ScratchFolder(home, prefix=f".{name}.fetch-") as scratch:
        zip_path = scratch.path / f"{name}.zip"
        digest = _download(url, zip_path, timeout, deadline, archive, home)
        if expected_md5 is not None and digest != str(expected_md5).lower():
            raise DataError(
                f"{url}: MD5 {digest} does not match the published {expected_md5}; "
                "the download is corrupt or not the official archive (nothing was cached)"
            )
        _extract(zip_path, archive, scratch.path / "unzipped", url)
        zip_path.unlink()
        if _complete(target, archive):  # another process finished first
            return target
        if target.exists():  # an incomplete earlier extraction
            shutil.rmtree(target)
        os.replace(scratch.path / "unzipped" / name, target)
    return target


def _complete(folder: Path, archive: MovieLensArchive) -> bool:
    return folder.is_dir() and all((folder / f).is_file() for f in archive.files)


def _download(url: str, destination: Path, timeout: float, deadline: float, archive: MovieLensArchive,
              home: Path) -> str:
    """Stream `url` to `destination` within `deadline` seconds and `archive.max_zip` bytes; return its MD5."""
    name = archive.name
    digest = hashlib.md5(usedforsecurity=False)
    stop = time.monotonic() + deadline
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=min(timeout, deadline)) as response, open(destination, "wb") as out:
            announced = _content_length(response)
            if announced is not None and announced > archive.max_zip:
                raise DataError(f"{url}: announces {announced:,} bytes; {name}.zip is at most {archive.max_zip:,}")
            read = getattr(response, "read1", response.read)  # returns what one read brings: the clock is checked often
            while block := read(1 << 16):
                received += len(block)
                if received > archive.max_zip:
                    raise DataError(f"{url}: more than {archive.max_zip:,} bytes; {name}.zip is never that large "
                                    "(download stopped)")
                if time.monotonic() > stop:
                    raise DataError(f"{url}: the download took longer than {deadline:g} s "
                                    f"({received:,} bytes received); stopped")
                digest.update(block)
                out.write(block)
            if announced is not None and received < announced:
                raise DataError(f"{url}: the download was cut off after {received:,} of {announced:,} bytes")
    except DataError:
        raise
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or f"{type(error).__name__}: {_first_line(error)}"
        raise DataError(
            f"could not download {url} ({reason}). Offline? Download {name}.zip elsewhere and "
            f"unzip it into {home}, or pass a MovieLens directory instead"
        ) from None
    return digest.hexdigest()


def _content_length(response: object) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _extract(zip_path: Path, archive: MovieLensArchive, into: Path, url: str) -> None:
    """Unzip `<name>/<file>` members within the size bounds; the CRC of each is checked as it is read.

    Sizes the zip declares are checked before anything is written, and the bytes actually
    written are counted as well (a header can lie), so no bound is passed by more than a block.
    """
    if not zipfile.is_zipfile(zip_path):
        raise DataError(f"{url}: the download is not a zip archive")
    with zipfile.ZipFile(zip_path) as bundle:
        members = bundle.infolist()
        names = {info.filename for info in members}
        missing = [f for f in archive.files if f"{archive.name}/{f}" not in names]
        if missing:
            raise DataError(f"{url}: the archive lacks {', '.join(f'{archive.name}/{f}' for f in missing)}")
        root = into.resolve()
        declared = 0
        for info in members:
            # refuse members that would land outside the folder ('../', absolute paths)
            if not (root / info.filename).resolve().is_relative_to(root):
                raise DataError(f"{url}: unsafe path {excerpt(info.filename)} in the archive")
            if info.file_size > archive.max_member:
                raise DataError(f"{url}: {excerpt(info.filename)} unzips to {info.file_size:,} bytes; no file of "
                                f"{archive.name} is larger than {archive.max_member:,}")
            declared += info.file_size
        if declared > archive.max_total:
            raise DataError(f"{url}: the archive unzips to {declared:,} bytes; {archive.name} is at most "
                            f"{archive.max_total:,}")
        written = 0
        for info in members:
            path = root / info.filename
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with bundle.open(info) as source, open(path, "wb") as out:
                    written = _copy_bounded(source, out, info, archive, written, url)
            except DataError:
                raise
            except (zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError, ValueError, OSError) as error:
                raise DataError(f"{url}: {excerpt(info.filename)} is corrupt inside the archive "
                                f"({type(error).__name__}: {_first_line(error)})") from None
            except Exception as error:  # noqa: BLE001 - zlib.error and the like: a damaged stream
                raise DataError(f"{url}: {excerpt(info.filename)} is corrupt inside the archive "
                                f"({type(error).__name__}: {_first_line(error)})") from None


def _copy_bounded(source: BinaryIO, out: BinaryIO, info: zipfile.ZipInfo, archive: MovieLensArchive,
                  written: int, url: str) -> int:
    """Copy one member, stopping as soon as it or the running total passes its bound; the new total."""
    member = 0
    while block := source.read(1 << 20):
        member += len(block)
        written += len(block)
        if member > min(archive.max_member, info.file_size):
            raise DataError(f"{url}: {excerpt(info.filename)} unzips to more than its declared "
                            f"{min(archive.max_member, info.file_size):,} bytes (stopped)")
        if written > archive.max_total:
            raise DataError(f"{url}: the archive unzips to more than {archive.max_total:,} bytes (stopped)")
        out.write(block)
    return written


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else ""
