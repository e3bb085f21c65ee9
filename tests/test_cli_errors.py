"""A `movierec` run never shows a traceback for bad input: one 'movierec: error:' line, exit status 2.

Bad arguments are checked before any data is loaded; internal errors (bugs) are one line with
exit status 1 and show their traceback with -v.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from movierec.core.cli import main

BENCH = ["benchmark", "sample", "--quiet", "--engines", "mean", "--sample", "3000"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A folder, a plain file, an empty MovieLens dataset, a Netflix folder and a binary CSV."""
    root = tmp_path_factory.mktemp("bad_input")
    (root / "folder").mkdir()
    (root / "plain").write_text("x")
    (root / "empty_ml").mkdir()
    (root / "empty_ml" / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
    (root / "empty_ml" / "movies.csv").write_text("movieId,title,genres\n")
    (root / "netflix").mkdir()
    (root / "netflix" / "combined_data_1.txt").write_text("1:\n10,3,2005-09-06\n11,4,2005-01-01\n")
    (root / "binary.csv").write_bytes(bytes(range(256)) * 8)
    return {"binary": root / "binary.csv", **{name: root / name for name in ("folder", "plain", "empty_ml", "netflix")}}


# (arguments, text the one error line must contain); {name} is replaced by a path from `files`
BAD_ARGUMENTS = [
    (BENCH + ["-k", "0"], "got 0"),
    (BENCH + ["-k", "-1"], "got -1"),
    (BENCH + ["-k", "x"], "'x'"),
    (BENCH + ["--split", "kfold:inf"], "'kfold:inf'"),
    (BENCH + ["--split", "kfold:nan"], "'kfold:nan'"),
    (BENCH + ["--split", "kfold:1e309"], "'kfold:1e309'"),
    (BENCH + ["--split", "holdout:inf"], "'holdout:inf'"),
    (BENCH + ["--split", "holdout:nan"], "'holdout:nan'"),
    (BENCH + ["--split", "holdout:1.5"], "'holdout:1.5'"),
    (BENCH + ["--split", "holdout:1e300"], "holdout:1e+300"),
    (BENCH + ["--split", "user:nan"], "'user:nan'"),
    (BENCH + ["--split", "temporal:1"], "'temporal:1'"),
    (BENCH + ["--split", "random:3"], "'random:3'"),
    (BENCH + ["--split", "predefined"], "predefined"),
    (["benchmark", "sample", "--quiet", "--engines", ""], "--engines ''"),
    (["benchmark", "sample", "--quiet", "--engines", ","], "--engines ','"),
    (["benchmark", "sample", "--quiet", "--engines", "mean,mean"], "mean listed more than once"),
    (["benchmark", "sample", "--quiet", "--engines", "mean,nope"], "nope"),
    (BENCH + ["--threshold", "nan"], "'nan'"),
    (BENCH + ["--threshold", "inf"], "'inf'"),
    (BENCH + ["--threshold", "10", "--split", "user:0.25"], "threshold 10"),
    (BENCH + ["--sample", "0"], "'0'"),
    (BENCH + ["--sample", "1", "--split", "holdout:0.1"], "1 rating cannot be split"),
    (BENCH + ["--sample", "1", "--split", "user:0.25"], "empty test set"),
    (BENCH + ["--seed", "-1"], "'-1'"),
    (BENCH + ["--json", "{folder}"], "is a folder"),
    (BENCH + ["--json", "{plain}/out.json"], "is a file, not a folder"),
    (BENCH + ["--json", ""], "--json"),
    (["benchmark", "movielens:{empty_ml}", "--quiet"], "empty_ml"),
    (["benchmark", "nope", "--quiet"], "'nope'"),
    (["recommend", "sample", "--user", "1", "-k", "0"], "got 0"),
    (["recommend", "sample", "--user", "1", "-k", "-1"], "got -1"),
    (["recommend", "sample", "--user", "1.5"], "'1.5'"),
    (["recommend", "sample", "--user", "1", "--min-ratings", "-1"], "got -1"),
    (["similar", "sample", "--movie-id", "1", "--min-ratings", "-1"], "got -1"),
    (["recommend", "sample", "--user", "-1"], "unknown user -1"),
    (["recommend", "movielens:/nowhere", "--user", "1", "--engine", "nope"], "unknown engine 'nope'"),
    (["recommend", "movielens:{empty_ml}", "--user", "1"], "empty_ml"),
    (["similar", "sample", "--title", "The Wild Hollow", "-k", "0"], "got 0"),
    (["similar", "sample", "--movie-id", "-1"], "unknown movie id -1"),
    (["similar", "sample", "--title", "x", "--year", "x"], "'x'"),
    (["similar", "movielens:{empty_ml}", "--title", "x"], "empty_ml"),
    (["report", "sample", "--no-png", "--out", "{plain}"], "--out"),
    (["report", "sample", "--no-png", "--out", "{plain}/charts"], "is a file, not a folder"),
    (["report", "sample", "--no-png", "--out", "{folder}", "--benchmark", "{binary}"], "binary.csv: not UTF-8"),
    (["stats", "netflix:{netflix}", "--links", "{binary}"], "binary.csv: "),
    (["stats", "netflix:{netflix}", "--links", "{folder}"], "folder"),
    (["stats", "sample", "--metadata", "{folder}"], "folder"),
    (["stats", "netflix:{plain}"], "plain"),
    (["--accelerator", "bogus", "stats", "sample"], "'bogus'"),
    (["nope"], "'nope'"),
    (["stats"], "DATASET"),
    ([], "COMMAND"),
]


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of one in-process `movierec` run."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _case_id(argv: list[str]) -> str:
    """The arguments a case adds to the usual benchmark ones, as its test id."""
    extra = argv[len(BENCH):] if argv[: len(BENCH)] == BENCH else argv
    return " ".join(extra) or "no arguments"


@pytest.mark.parametrize(("argv", "named"), BAD_ARGUMENTS, ids=[_case_id(argv) for argv, _ in BAD_ARGUMENTS])
def test_bad_input_is_one_error_line_with_status_2(
    argv: list[str], named: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [arg.format(**{name: str(path) for name, path in files.items()}) for arg in argv]
    code, _, err = run_main(argv, capsys)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("movierec: error: "), err
    assert named in lines[0]


def test_the_installed_command_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("movierec")
    done = subprocess.run([str(command), "benchmark", "sample", "-k", "-1"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "movierec: error: argument -k/--k: k must be a positive integer, got -1 (see 'movierec benchmark --help')"
    )


def test_the_json_path_is_checked_before_the_dataset_is_loaded(tmp_path: Path, capsys) -> None:
    code, _, err = run_main(["benchmark", "movielens:/nowhere/at/all", "--json", str(tmp_path)], capsys)
    assert code == 2 and "--json" in err and "is a folder" in err and "nowhere" not in err


def test_a_json_path_in_new_folders_is_written(tmp_path: Path, capsys) -> None:
    out = tmp_path / "new" / "deeper" / "bench.json"
    code, stdout, _ = run_main(BENCH + ["--split", "holdout:300", "--json", str(out)], capsys)
    assert code == 0 and out.is_file() and f"wrote {out}" in stdout


@pytest.fixture(scope="module")
def untitled(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A MovieLens folder with ratings only: no movie text, so content_tfidf cannot run on it."""
    folder = tmp_path_factory.mktemp("ratings_only")
    rows = [f"{user},{movie},{1 + (user * movie) % 5},{964982703 + movie}"
            for user in range(1, 7) for movie in range(1, 6)]
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "\n".join(rows) + "\n")
    return f"movielens:{folder}"


def test_a_benchmark_where_no_engine_runs_exits_2_and_names_each_reason(untitled: str, capsys) -> None:
    code, out, err = run_main(
        ["benchmark", untitled, "--quiet", "--split", "holdout:5", "--engines", "content_tfidf"], capsys
    )
    assert code == 2 and out == ""
    assert "content_tfidf failed: content_tfidf needs movie" in err
    assert err.strip().splitlines()[-1].startswith("movierec: error: no engine could run on movielens:")


def test_a_benchmark_where_some_engines_fail_says_which_and_keeps_the_rest(
    untitled: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "bench.json"
    code, out, err = run_main(
        ["benchmark", untitled, "--quiet", "--split", "holdout:5", "--engines", "mean,content_tfidf",
         "--json", str(out_path)], capsys,
    )
    assert code == 0 and "mean" in out
    assert "movierec: warning: content_tfidf failed and is not in the table: content_tfidf needs movie" in err
    assert "movierec: warning: 1 of 2 engines failed" in err
    document = json.loads(out_path.read_text())
    assert {row["engine"] for row in document["rows"]} == {"mean"}
    assert "content_tfidf" in document["extra"]["failures"]


@pytest.fixture
def a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """`movierec stats` hits an error that no input explains (an internal error)."""
    import movierec.core.cli.stats as stats

    def broken(args):
        return {}["no such key"]

    monkeypatch.setattr(stats, "run", broken)


def test_an_internal_error_is_one_line_that_points_to_verbose(a_bug, capsys) -> None:
    code, _, err = run_main(["stats", "sample"], capsys)
    assert code == 1 and "Traceback" not in err
    assert err.strip() == (
        "movierec: internal error: KeyError: 'no such key' (this is a bug; rerun with -v for the traceback)"
    )


@pytest.mark.parametrize("argv", [["-v", "stats", "sample"], ["stats", "sample", "-v"]])
def test_verbose_shows_the_traceback_of_an_internal_error(a_bug, argv: list[str], capsys) -> None:
    code, _, err = run_main(argv, capsys)
    assert code == 1 and "Traceback" in err and "KeyError: 'no such key'" in err


def test_help_documents_the_exit_statuses_and_verbose(capsys) -> None:
    code, out, _ = run_main(["--help"], capsys)
    assert code == 0
    assert "exit status:" in out and "internal error (a bug)" in out
    assert "show the traceback" in " ".join(out.split())
