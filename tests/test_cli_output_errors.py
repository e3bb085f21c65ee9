"""The command line's output failures and environment mistakes: one line, the right status, never 'a bug'."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from movierec.core.cli import EXIT_BROKEN_PIPE, main


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "bug" not in err
    return lines[0]


def test_a_full_disk_on_stdout_is_one_line_with_status_1() -> None:
    command = Path(sys.executable).with_name("movierec")
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(command), "stats", "sample", "--json"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 1
    assert one_line(done.stderr) == "movierec: error: cannot write the output: No space left on device"


def test_a_closed_pipe_ends_quietly_with_the_sigpipe_status(monkeypatch, capsys) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader ('| head -c 10') is gone before anything is written
    stdout = os.fdopen(write_end, "w")
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        assert main(["stats", "sample", "--json"]) == EXIT_BROKEN_PIPE == 141
    finally:
        stdout.close()  # stdout now points at /dev/null: closing it cannot fail again
    assert capsys.readouterr().err == ""


def test_an_unknown_home_folder_is_bad_input(capsys) -> None:
    assert main(["stats", "movielens:~no-such-user-here/ml-100k"]) == 2
    assert one_line(capsys.readouterr().err) == (
        "movierec: error: ~no-such-user-here/ml-100k: ~no-such-user-here is not a user on this system "
        "(a path may start with ~ or ~user)"
    )
    assert main(["benchmark", "sample", "--json", "~no-such-user-here/b.json"]) == 2
    assert "is not a user on this system" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(("argv", "said"), [
    (["--port", "99999"], "port 99999 is out of range: expected 1 to 65535"),
    (["--port", "http"], "expected a port number from 1 to 65535, got 'http'"),
    (["--host", "300.1.1.1"], "--host 300.1.1.1: not an IPv4 address"),
    (["--host", "no-such-host.invalid"], "--host no-such-host.invalid: not an address of this machine"),
])
def test_a_bad_address_for_serve_is_one_line_with_status_2(argv, said, capsys) -> None:
    assert main(["serve", "--no-warm", *argv]) == 2
    assert said in one_line(capsys.readouterr().err)


def test_a_port_in_use_is_said_before_the_data_is_loaded(capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--no-warm", "--dataset", "movielens:/nowhere", "--port", str(port)]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"movierec: error: port {port} on 127.0.0.1 is in use by another program; choose another with --port"
    )


@pytest.mark.parametrize(("line", "said"), [
    ("2147483648,1,4.0,964982703", "user id '2147483648' is out of range (ids go up to 2,147,483,647)"),
    ("1,99999999999,4.0,964982703", "movie id '99999999999' is out of range (ids go up to 2,147,483,647)"),
    ("-5,1,4.0,964982703", "user id '-5' is not a positive integer"),
])
def test_an_id_too_large_for_the_tables_is_out_of_range(tmp_path: Path, line: str, said: str, capsys) -> None:
    (tmp_path / "ratings.csv").write_text(f"userId,movieId,rating,timestamp\n{line}\n")
    assert main(["stats", f"movielens:{tmp_path}"]) == 2
    assert one_line(capsys.readouterr().err).endswith(f"ratings.csv:2: {said}")
