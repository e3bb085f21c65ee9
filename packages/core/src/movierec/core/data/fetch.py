"""Download, verify and cache the official GroupLens MovieLens archives, like sklearn's fetch_*.

The cache lives in `$MOVIEREC_DATA_DIR`, else `~/.cache/movierec`; each archive is unzipped
into `<cache>/<name>/` and the zip is removed. Archives with a published MD5 (GroupLens puts
`<name>.zip.md5` next to each stable release) are checked against it; the `ml-latest*`
archives are re-issued from time to time and have no fixed checksum, so those are verified as
sound zip files that hold the expected files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from movierec.core.errors import DataError, excerpt

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/"
_LATEST_FILES = ("ratings.csv", "movies.csv", "links.csv", "tags.csv")


@dataclass(frozen=True)
class MovieLensArchive:
    """One official archive: the files its `<name>/` folder must hold, and its MD5 if fixed."""

    name: str
    files: tuple[str, ...]
    md5: str | None = None


ARCHIVES: dict[str, MovieLensArchive] = {
    archive.name: archive
    for archive in (
        MovieLensArchive("ml-latest-small", _LATEST_FILES),
        MovieLensArchive(
            "ml-100k",
            ("u.data", "u.item", "u.genre", *(f"u{i}.{part}" for i in "12345ab" for part in ("base", "test"))),
            "0e33842e24a9c977be4e0107933c0723",
        ),
        MovieLensArchive("ml-1m", ("ratings.dat", "movies.dat", "users.dat"), "c4d9eecfca2ab87c1945afe126590906"),
        MovieLensArchive("ml-20m", _LATEST_FILES, "cd245b17a1ae2cc31bb14903e1204af3"),
        MovieLensArchive("ml-25m", _LATEST_FILES, "6b51fb2759a8657d3bfcbfc42b592ada"),
        MovieLensArchive("ml-latest", _LATEST_FILES),
    )
}

_KNOWN = object()  # default of fetch_movielens(md5=...): the archive's published checksum


def data_home(cache_dir: str | Path | None = None) -> Path:
    """The cache folder: `cache_dir`, else $MOVIEREC_DATA_DIR, else ~/.cache/movierec."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    override = os.environ.get("MOVIEREC_DATA_DIR")
    return Path(override).expanduser() if override else Path.home() / ".cache" / "movierec"


def fetch_movielens(
    name: str,
    cache_dir: str | Path | None = None,
    *,
    base_url: str = GROUPLENS_URL,
    md5: str | None | object = _KNOWN,
    download_if_missing: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Return the folder of a MovieLens archive, downloading and verifying it when not cached.

    `md5` overrides the published checksum (None skips it, e.g. for a re-packed mirror); the
    zip must still hold the expected files.
    """
    if name not in ARCHIVES:
        raise DataError(f"unknown MovieLens archive {excerpt(name)}: expected one of {', '.join(ARCHIVES)}")
    archive = ARCHIVES[name]
    home = data_home(cache_dir)
    target = home / name
    if _complete(target, archive):
        return target
    if not download_if_missing:
        raise DataError(f"{target}: {name} is not in the cache and download_if_missing=False")
    expected_md5 = archive.md5 if md5 is _KNOWN else md5
    url = base_url.rstrip("/") + f"/{name}.zip"
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home, prefix=f".{name}-") as scratch:
        zip_path = Path(scratch) / f"{name}.zip"
        digest = _download(url, zip_path, timeout, name, home)
        if expected_md5 is not None and digest != str(expected_md5).lower():
            raise DataError(
                f"{url}: MD5 {digest} does not match the published {expected_md5}; "
                "the download is corrupt or not the official archive (nothing was cached)"
            )
        _extract(zip_path, archive, Path(scratch) / "unzipped", url)
        if _complete(target, archive):  # another process finished first
            return target
        if target.exists():  # an incomplete earlier extraction
            shutil.rmtree(target)
        os.replace(Path(scratch) / "unzipped" / name, target)
    return target


def _complete(folder: Path, archive: MovieLensArchive) -> bool:
    return folder.is_dir() and all((folder / f).is_file() for f in archive.files)


def _download(url: str, destination: Path, timeout: float, name: str, home: Path) -> str:
    """Stream `url` to `destination`; return its MD5. Network failures become one DataError."""
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(destination, "wb") as out:
            while block := response.read(1 << 20):
                digest.update(block)
                out.write(block)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise DataError(
            f"could not download {url} ({reason}). Offline? Download {name}.zip elsewhere and "
            f"unzip it into {home}, or pass a MovieLens directory instead"
        ) from None
    return digest.hexdigest()


def _extract(zip_path: Path, archive: MovieLensArchive, into: Path, url: str) -> None:
    """Check the zip is sound and holds `<name>/<file>` for every expected file, then unzip it."""
    if not zipfile.is_zipfile(zip_path):
        raise DataError(f"{url}: the download is not a zip archive")
    with zipfile.ZipFile(zip_path) as bundle:
        broken = bundle.testzip()
        if broken is not None:
            raise DataError(f"{url}: {broken} is corrupt inside the archive")
        names = set(bundle.namelist())
        missing = [f for f in archive.files if f"{archive.name}/{f}" not in names]
        if missing:
            raise DataError(f"{url}: the archive lacks {', '.join(f'{archive.name}/{f}' for f in missing)}")
        root = into.resolve()
        for member in bundle.namelist():
            # refuse members that would land outside the folder ('../', absolute paths)
            if not (root / member).resolve().is_relative_to(root):
                raise DataError(f"{url}: unsafe path {excerpt(member)} in the archive")
        bundle.extractall(into)
