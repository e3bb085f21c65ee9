"""fetch_movielens: download, verify, cache; exercised with local archives (no network here)."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from movierec.core.data import load_dataset, load_movielens, resolve_movielens
from movierec.core.data.fetch import data_home, fetch_movielens
from movierec.core.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "movielens"
LATEST = {
    "ratings.csv": "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n2,1,3.5,964981247\r\n",
    "movies.csv": "movieId,title,genres\r\n1,Toy Story (1995),Adventure|Animation\r\n",
    "links.csv": "movieId,imdbId,tmdbId\r\n1,0114709,862\r\n",
    "tags.csv": "userId,movieId,tag,timestamp\r\n2,1,funny,1445714994\r\n",
}


def make_zip(server_dir: Path, name: str, files: dict[str, bytes | str], extra: dict[str, str] | None = None) -> Path:
    server_dir.mkdir(parents=True, exist_ok=True)
    path = server_dir / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        for member, content in files.items():
            bundle.writestr(f"{name}/{member}", content)
        for member, content in (extra or {}).items():
            bundle.writestr(member, content)
    return path


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_fetch_downloads_unzips_and_caches(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "server", "ml-latest-small", LATEST)
    cache = tmp_path / "cache"
    folder = fetch_movielens("ml-latest-small", cache, base_url=archive.parent.as_uri())
    assert folder == cache / "ml-latest-small"
    assert sorted(p.name for p in folder.iterdir()) == sorted(LATEST)
    assert [p.name for p in cache.iterdir()] == ["ml-latest-small"]  # no zip or scratch left
    assert load_movielens(folder).stats()["ratings"] == 2
    archive.unlink()  # a cached archive needs no download
    assert fetch_movielens("ml-latest-small", cache, base_url=archive.parent.as_uri()) == folder


def test_published_checksum_rejects_a_different_archive(tmp_path: Path) -> None:
    files = {p.name: p.read_bytes() for p in (FIXTURES / "ml-100k").iterdir()}
    archive = make_zip(tmp_path / "server", "ml-100k", files)
    with pytest.raises(DataError, match="MD5 .* does not match the published 0e33842e"):
        fetch_movielens("ml-100k", tmp_path / "cache", base_url=archive.parent.as_uri())
    assert not (tmp_path / "cache" / "ml-100k").exists()


def test_checksum_override_verifies_a_local_archive(tmp_path: Path) -> None:
    files = {p.name: p.read_bytes() for p in (FIXTURES / "ml-100k").iterdir()}
    for name in "2345b":
        files[f"u{name}.base"], files[f"u{name}.test"] = files["u1.base"], files["u1.test"]
    archive = make_zip(tmp_path / "server", "ml-100k", files)
    folder = fetch_movielens("ml-100k", tmp_path / "cache", base_url=archive.parent.as_uri(), md5=md5_of(archive))
    assert len(load_movielens(folder).predefined_splits) == 7


def test_archive_without_the_expected_files_is_rejected(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "server", "ml-latest-small", {"ratings.csv": LATEST["ratings.csv"]})
    with pytest.raises(DataError, match="lacks ml-latest-small/movies.csv"):
        fetch_movielens("ml-latest-small", tmp_path / "cache", base_url=archive.parent.as_uri())


def test_a_download_that_is_not_a_zip_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "ml-latest.zip").write_text("<html>moved</html>")
    with pytest.raises(DataError, match="not a zip archive"):
        fetch_movielens("ml-latest", tmp_path / "cache", base_url=(tmp_path / "server").as_uri())


def test_members_escaping_the_cache_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "server", "ml-latest-small", LATEST, extra={"../evil.txt": "x"})
    with pytest.raises(DataError, match="unsafe path"):
        fetch_movielens("ml-latest-small", tmp_path / "cache", base_url=archive.parent.as_uri())
    assert not (tmp_path / "evil.txt").exists()


def test_offline_failure_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"could not download .*ml-1m\.zip.*Offline\?"):
        fetch_movielens("ml-1m", tmp_path / "cache", base_url="http://127.0.0.1:9", timeout=5)
    with pytest.raises(DataError, match="download_if_missing=False"):
        fetch_movielens("ml-1m", tmp_path / "cache", download_if_missing=False)


def test_unknown_archive_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown MovieLens archive 'ml-2k'"):
        fetch_movielens("ml-2k", tmp_path)


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server on 127.0.0.1 serving a folder."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_fetch_over_http(tmp_path: Path, http_root: tuple[str, Path]) -> None:
    url, root = http_root
    make_zip(root, "ml-latest", LATEST)
    folder = fetch_movielens("ml-latest", tmp_path / "cache", base_url=url)
    assert (folder / "ratings.csv").read_text().startswith("userId")


def test_cache_folder_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path / "data"))
    assert data_home() == tmp_path / "data"
    monkeypatch.delenv("MOVIEREC_DATA_DIR")
    assert data_home() == Path.home() / ".cache" / "movierec"


def test_spec_with_an_archive_name_uses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = make_zip(tmp_path / "server", "ml-latest-small", LATEST)
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path / "cache"))
    fetch_movielens("ml-latest-small", base_url=archive.parent.as_uri())
    monkeypatch.chdir(tmp_path)  # no folder called ml-latest-small here
    assert resolve_movielens("ml-latest-small") == tmp_path / "cache" / "ml-latest-small"
    assert load_dataset("movielens:ml-latest-small").stats()["ratings"] == 2
