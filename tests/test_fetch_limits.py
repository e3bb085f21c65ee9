"""fetch_movielens against damaged, oversized, slow and cut downloads from a local HTTP server on 127.0.0.1.

Every failure is one DataError naming what went wrong; the Space's default dataset then falls back
to the sample; scratch folders left by a killed fetch are removed by the next one.
"""

from __future__ import annotations

import http.server
import io
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from movierec.core.data.fetch import ARCHIVES, fetch_movielens
from movierec.core.errors import DataError
from movierec.core.scratch import LOCK_FILE
from scratch_holder import hold_scratch

NAME = "ml-latest-small"
LATEST = {
    "ratings.csv": "userId,movieId,rating,timestamp\n" + "".join(f"{u},1,4.0,964982703\n" for u in range(1, 400)),
    "movies.csv": "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n",
    "links.csv": "movieId,imdbId,tmdbId\n1,0114709,862\n",
    "tags.csv": "userId,movieId,tag,timestamp\n2,1,funny,1445714994\n",
}


def zip_bytes(files: dict[str, bytes | str] = LATEST, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as bundle:
        for member, content in files.items():
            bundle.writestr(f"{NAME}/{member}", content)
    return buffer.getvalue()


def damaged(kind: str) -> bytes:
    """A zip whose ratings member has a broken deflate stream, a wrong CRC, an unknown method or an encryption flag."""
    data = bytearray(zip_bytes(method=zipfile.ZIP_STORED if kind == "method" else zipfile.ZIP_DEFLATED))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(f"{NAME}/ratings.csv")
    local = info.header_offset
    start = local + 30 + len(info.filename)
    central = data.index(b"PK\x01\x02")  # the first central entry is ratings.csv, written first
    if kind == "deflate":
        data[start + 2 : start + 12] = b"\xff" * 10
    elif kind == "crc":
        data[local + 14] ^= 0xFF
        data[central + 16] ^= 0xFF
    elif kind == "method":
        struct.pack_into("<H", data, local + 8, 99)
        struct.pack_into("<H", data, central + 10, 99)
    elif kind == "encrypted":
        data[local + 6] |= 1
        data[central + 8] |= 1
    return bytes(data)


class Behaviour:
    """What the test server answers: a body, or a cut, endless, or slow one."""

    body: bytes = b""
    mode: str = "plain"
    sent: int = 0


@pytest.fixture
def server() -> Iterator[tuple[str, Behaviour]]:
    behaviour = Behaviour()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - the http.server hook
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            mode, body = behaviour.mode, behaviour.body
            try:
                if mode == "plain":
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif mode == "chunked-cut":  # half the body in one chunk, then the connection closes
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    half = body[: len(body) // 2]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))
                    self.wfile.write(b"%x\r\n" % 4096 + b"x" * 10)
                elif mode == "length-cut":
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                elif mode == "announce-huge":
                    self.send_header("Content-Length", str(300_000_000))
                    self.end_headers()
                    self.wfile.write(body)
                elif mode == "endless":  # no length, bytes until the client hangs up
                    self.end_headers()
                    block = b"\0" * 65536
                    while behaviour.sent < 50_000_000:
                        self.wfile.write(block)
                        behaviour.sent += len(block)
                elif mode == "trickle":  # one byte at a time, each well within the read timeout
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for byte in body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        behaviour.sent += 1
                        time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", behaviour
    finally:
        httpd.shutdown()
        httpd.server_close()


def fetch(url: str, cache: Path, **options) -> Path:
    return fetch_movielens(NAME, cache, base_url=url, timeout=5, **options)


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


@pytest.mark.parametrize("kind,why", [("deflate", "error"), ("crc", "BadZipFile"),
                                      ("method", "NotImplementedError"), ("encrypted", "RuntimeError")])
def test_a_damaged_archive_is_one_data_error(server, tmp_path: Path, kind: str, why: str) -> None:
    url, behaviour = server
    behaviour.body = damaged(kind)
    with pytest.raises(DataError, match=f"ml-latest-small/ratings.csv.* is corrupt inside the archive \\(.*{why}"):
        fetch(url, tmp_path / "cache")
    assert leftovers(tmp_path / "cache") == []  # no scratch folder, no half-unzipped archive


@pytest.mark.parametrize("mode", ["chunked-cut", "length-cut"])
def test_a_download_cut_midway_is_one_data_error(server, tmp_path: Path, mode: str) -> None:
    url, behaviour = server
    behaviour.body, behaviour.mode = zip_bytes(), mode
    with pytest.raises(DataError, match="could not download .*IncompleteRead|cut off after"):
        fetch(url, tmp_path / "cache")
    assert leftovers(tmp_path / "cache") == []


@pytest.mark.parametrize("kind", ["file", "dangling link"])
def test_a_cache_path_that_is_not_a_folder_is_one_data_error(server, tmp_path: Path, kind: str) -> None:
    url, behaviour = server
    behaviour.body = zip_bytes()
    cache = tmp_path / "cache"
    cache.mkdir()
    if kind == "file":
        (cache / NAME).write_text("not a folder")
    else:
        (cache / NAME).symlink_to(tmp_path / "gone")
    with pytest.raises(DataError, match=f"{NAME}: is a file or a link where the {NAME} folder belongs"):
        fetch(url, cache)
    (tmp_path / "home").write_text("a file where the cache folder belongs")
    with pytest.raises(DataError, match="home"):
        fetch(url, tmp_path / "home")


def test_a_body_larger_than_any_such_archive_is_stopped_early(server, tmp_path: Path) -> None:
    url, behaviour = server
    behaviour.mode = "endless"
    limits = replace(ARCHIVES[NAME], max_zip=1_000_000)
    with pytest.raises(DataError, match="more than 1,000,000 bytes; ml-latest-small.zip is never that large"):
        fetch(url, tmp_path / "cache", limits=limits)
    assert behaviour.sent < 20_000_000  # the client hung up; it did not read the 50 MB


def test_an_announced_size_beyond_the_bound_is_refused_before_reading(server, tmp_path: Path) -> None:
    url, behaviour = server
    behaviour.body, behaviour.mode = b"PK", "announce-huge"
    with pytest.raises(DataError, match=f"announces 300,000,000 bytes; {NAME}.zip is at most 8,000,000"):
        fetch(url, tmp_path / "cache")


def test_a_member_beyond_the_archives_bound_is_refused_before_unzipping(server, tmp_path: Path) -> None:
    url, behaviour = server
    bomb = b"\0" * 40_000_000  # ml-latest-small holds no file over 32 MB; this zips to 40 kB
    behaviour.body = zip_bytes({**LATEST, "ratings.csv": bomb})
    assert len(behaviour.body) < 100_000
    started = time.perf_counter()
    with pytest.raises(DataError, match="ratings.csv' unzips to 40,000,000 bytes; no file of ml-latest-small is larger"):
        fetch(url, tmp_path / "cache")
    assert time.perf_counter() - started < 5
    assert leftovers(tmp_path / "cache") == []


def test_the_total_unzipped_size_is_bounded(server, tmp_path: Path) -> None:
    url, behaviour = server
    behaviour.body = zip_bytes({**LATEST, "extra1.csv": b"\0" * 600_000, "extra2.csv": b"\0" * 600_000})
    limits = replace(ARCHIVES[NAME], max_member=1_000_000, max_total=1_000_000)
    with pytest.raises(DataError, match="unzips to 1,2\\d\\d,\\d{3} bytes; ml-latest-small is at most 1,000,000"):
        fetch(url, tmp_path / "cache", limits=limits)


def test_a_slow_download_stops_at_the_deadline(server, tmp_path: Path) -> None:
    url, behaviour = server
    behaviour.body, behaviour.mode = zip_bytes(), "trickle"
    started = time.perf_counter()
    with pytest.raises(DataError, match="took longer than 1 s"):
        fetch_movielens(NAME, tmp_path / "cache", base_url=url, timeout=2, deadline=1)
    assert time.perf_counter() - started < 3
    assert ARCHIVES[NAME].deadline() == 120  # a Space's start-up waits two minutes at most


def test_the_space_serves_the_sample_when_the_archive_is_damaged(server, tmp_path: Path, monkeypatch) -> None:
    from movierec.app.state import SPACE_DATASET, load_served

    url, behaviour = server
    behaviour.body = damaged("deflate")
    monkeypatch.delenv("MOVIEREC_DATASET", raising=False)
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MOVIEREC_MOVIELENS_URL", url)
    dataset, notice = load_served(f"movielens:{SPACE_DATASET}", None)
    assert dataset.spec == "sample"
    assert "serves its synthetic sample instead" in notice


def test_a_scratch_folder_left_by_a_killed_fetch_is_removed_by_the_next(server, tmp_path: Path) -> None:
    url, behaviour = server
    behaviour.body, behaviour.mode = zip_bytes(), "trickle"
    cache = tmp_path / "cache"
    code = f"from movierec.core.data.fetch import fetch_movielens; fetch_movielens({NAME!r}, {str(cache)!r}, base_url={url!r})"
    child = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy())
    try:
        for _ in range(200):
            scratch = [p for p in cache.glob(f".{NAME}.fetch-*") if (p / f"{NAME}.zip").exists()] if cache.exists() else []
            if scratch:
                break
            time.sleep(0.05)
        assert scratch, "the fetch never started downloading"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    # another fetch in progress (its lock held by a live process) must survive the cleanup
    holder, busy = hold_scratch(cache, f".{NAME}.fetch-")
    try:
        behaviour.mode = "plain"
        assert fetch(url, cache) == cache / NAME
        assert not scratch[0].exists()  # the killed fetch's 'partial' download is gone
        assert (busy / LOCK_FILE).exists()  # the live one is untouched
        legacy = cache / f".{NAME}-x1y2z3"  # an older version's scratch folder: no lock, an hour old
        legacy.mkdir()
        os.utime(legacy, (time.time() - 3700, time.time() - 3700))
        shutil.rmtree(cache / NAME)
        assert fetch(url, cache) == cache / NAME
        assert not legacy.exists() and busy.exists()
    finally:
        holder.kill()
        holder.wait()
