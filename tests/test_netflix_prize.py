"""The Netflix Prize's protocol files: probe.txt and qualifying.txt, the probe split, the
qualifying writer and `movierec predict`.

The fixture tests/fixtures/netflix_prize is generated: `python -m movierec.core.data.synthetic
--prize 400 tests/fixtures/netflix_prize` (a test checks that this reproduces it byte for byte).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from movierec.core.cli import main
from movierec.core.data import iter_folds, load_dataset, parse_split
from movierec.core.data.netflix.prize import read_probe, read_qualifying
from movierec.core.data.synthetic import main as synthetic_main
from movierec.core.errors import DataError
from movierec.core.evaluation import qualifying as writer
from movierec.core.models.base import Recommender
from movierec.core.models.registry import create_engine

FIXTURE = Path(__file__).parent / "fixtures" / "netflix_prize"
RATINGS = "1:\n10,3,2005-01-01\n11,4,2005-01-02\n2:\n10,5,2005-01-03\n12,1,2005-01-04\n"


def folder(tmp_path: Path, probe: str | None = None, qualifying: str | None = None) -> Path:
    """A Netflix folder with four ratings and the given probe and qualifying texts."""
    (tmp_path / "combined_data_1.txt").write_text(RATINGS)
    if probe is not None:
        (tmp_path / "probe.txt").write_text(probe, newline="")
    if qualifying is not None:
        (tmp_path / "qualifying.txt").write_text(qualifying, newline="")
    return tmp_path


def file_blocks(path: Path) -> list[tuple[int, str]]:
    """(movie, line) for every non-header line of a MovieID: file, in order."""
    rows, movie = [], -1
    for line in path.read_text().splitlines():
        if line.endswith(":"):
            movie = int(line[:-1])
        else:
            rows.append((movie, line))
    return rows


# ---------------------------------------------------------------- the fixture and its generator
def test_the_fixture_is_what_the_generator_writes(tmp_path: Path) -> None:
    synthetic_main(["--prize", "400", str(tmp_path)])
    for name in ("combined_data_1.txt", "probe.txt", "qualifying.txt"):
        assert (tmp_path / name).read_bytes() == (FIXTURE / name).read_bytes(), name


def test_the_fixture_loads_with_its_probe_and_qualifying_rows_in_file_order() -> None:
    dataset = load_dataset(f"netflix:{FIXTURE}")
    probe, qualifying = dataset.probe, dataset.qualifying
    assert probe is not None and qualifying is not None
    assert [(int(m), str(u)) for u, m in zip(probe["user"], probe["movie"])] == file_blocks(FIXTURE / "probe.txt")
    expected = file_blocks(FIXTURE / "qualifying.txt")
    shown = [(int(m), f"{u},{pd.Timestamp(d):%Y-%m-%d}") for u, m, d in
             zip(qualifying["user"], qualifying["movie"], qualifying["date"])]
    assert shown == expected
    assert probe["user"].dtype == np.int32 and qualifying["date"].dtype == "datetime64[s]"
    rated = set(zip(dataset.ratings["user"], dataset.ratings["movie"]))
    assert all(pair in rated for pair in zip(probe["user"], probe["movie"]))  # the probe is training data
    assert not any(pair in rated for pair in zip(qualifying["user"], qualifying["movie"]))  # hidden ratings
    stats = dataset.stats()
    assert stats["probe_pairs"] == 33 and stats["qualifying_rows"] == 35


def test_a_folder_without_the_files_has_no_probe_and_no_qualifying(tmp_path: Path) -> None:
    dataset = load_dataset(f"netflix:{folder(tmp_path)}")
    assert dataset.probe is None and dataset.qualifying is None
    assert "probe_pairs" not in dataset.stats()


# ---------------------------------------------------------------- parsing rules
def test_line_numbers_crlf_bom_blank_lines_and_repeated_headers(tmp_path: Path) -> None:
    path = tmp_path / "qualifying.txt"
    path.write_bytes(b"\xef\xbb\xbf1:\r\n10,2005-01-01\r\n\r\n  \r\n2:\r\n7,2004-02-29\r\n1:\r\n8,2005-03-03")
    parsed = read_qualifying(path)
    assert parsed.rows["line"].tolist() == [2, 6, 8]
    assert parsed.rows["movie"].tolist() == [1, 2, 1] and parsed.rows["user"].tolist() == [10, 7, 8]
    assert parsed.repeated_headers == 1 and parsed.skipped_lines == 0
    probe = tmp_path / "probe.txt"
    probe.write_text("3:\n5\n\n6\n")
    assert read_probe(probe).rows[["user", "movie", "line"]].values.tolist() == [[5, 3, 2], [6, 3, 4]]


PROBE_CASES = [
    ("1:\n1x\n", 2, "customer id '1x' is not an integer of 1-8 digits"),
    ("1:\n123456789\n", 2, "customer id '123456789' is not an integer of 1-8 digits"),
    ("1:\n10,2005-01-01\n", 2, "customer id '10,2005-01-01' is not an integer of 1-8 digits"),
    ("10\n1:\n", 1, "'CustomerID' line '10' before any valid 'MovieID:' header"),
    ("X:\n10\n", 1, "movie header 'X:' is not 'MovieID:' with an id of 1-9 digits"),
    ("1:\n12\r3\n", 2, "stray carriage return in"),
]
QUALIFYING_CASES = [
    ("1:\n10,2005-02-30\n", 2, "date '2005-02-30' is not a YYYY-MM-DD day from 1990 on"),
    ("1:\n10,1980-01-01\n", 2, "date '1980-01-01' is not a YYYY-MM-DD day from 1990 on"),
    ("1:\n10,2005-1-01\n", 2, "date '2005-1-01' is not a YYYY-MM-DD day from 1990 on"),
    ("1:\n10,3,2005-01-01\n", 2, "expected 'CustomerID,Date' (2 fields), got 3"),
    ("1:\nab,2005-01-01\n", 2, "customer id 'ab' is not an integer of 1-8 digits"),
    ("10,2005-01-01\n", 1, "'CustomerID,Date' line '10,2005-01-01' before any valid 'MovieID:' header"),
    ("1: \n10,2005-01-01\n", 1, "movie header with trailing space: '1: '"),
    ("2\n10,2005-01-01\n", 1, "movie header '2' is not 'MovieID:'"),
]


@pytest.mark.parametrize(("text", "line", "problem"), PROBE_CASES)
def test_a_malformed_probe_line_is_named_by_file_and_line(tmp_path: Path, text: str, line: int, problem: str) -> None:
    root = folder(tmp_path, probe=text)
    with pytest.raises(DataError) as error:
        load_dataset(f"netflix:{root}")
    assert str(error.value).startswith(f"{root / 'probe.txt'}:{line}: ")
    assert problem in str(error.value)


@pytest.mark.parametrize(("text", "line", "problem"), QUALIFYING_CASES)
def test_a_malformed_qualifying_line_is_named_by_file_and_line(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    root = folder(tmp_path, qualifying=text)
    with pytest.raises(DataError) as error:
        load_dataset(f"netflix:{root}")
    assert str(error.value).startswith(f"{root / 'qualifying.txt'}:{line}: ")
    assert problem in str(error.value)


def test_lenient_skips_and_counts_bad_lines_and_the_lines_under_a_damaged_header(tmp_path: Path) -> None:
    root = folder(
        tmp_path,
        probe="1:\n10\nbad\nX:\n11\n12\n2:\n12\n",  # 'bad', 'X:' and its two lines: 4 skipped
        qualifying="1:\n30,2005-02-30\n31,2005-02-01\n",  # one bad date
    )
    dataset = load_dataset(f"netflix:{root}", lenient=True)
    assert dataset.probe[["user", "movie"]].values.tolist() == [[10, 1], [12, 2]]
    assert dataset.qualifying["user"].tolist() == [31]
    assert dataset.skipped_lines == 5
    assert "probe.txt: 4 malformed line(s) skipped (lenient mode)" in dataset.notes
    assert "qualifying.txt: 1 malformed line(s) skipped (lenient mode)" in dataset.notes


def test_a_repeated_probe_pair_is_dropped_and_noted(tmp_path: Path) -> None:
    root = folder(tmp_path, probe="1:\n10\n10\n")
    dataset = load_dataset(f"netflix:{root}")
    assert dataset.probe["user"].tolist() == [10]
    assert "probe.txt: 1 repeated (user, movie) pair(s) dropped: the first is kept" in dataset.notes


# ---------------------------------------------------------------- the probe split
def test_the_probe_split_tests_on_the_probe_pairs_and_trains_on_the_rest() -> None:
    dataset = load_dataset(f"netflix:{FIXTURE}")
    (fold,) = iter_folds(dataset, "probe")
    assert fold.name == "probe"
    assert len(fold.test) == len(dataset.probe) == 33
    assert len(fold.train) + len(fold.test) == len(dataset.ratings)
    assert set(zip(fold.test["user"], fold.test["movie"])) == set(zip(dataset.probe["user"], dataset.probe["movie"]))
    assert not set(zip(fold.train["user"], fold.train["movie"])) & set(zip(fold.test["user"], fold.test["movie"]))


@pytest.mark.parametrize("shuffled", [False, True])
def test_the_probe_split_finds_the_pairs_whatever_the_order_of_the_ratings(shuffled: bool) -> None:
    dataset = load_dataset(f"netflix:{FIXTURE}")
    if shuffled:  # no movie runs: the pair-by-pair lookup
        dataset.ratings = dataset.ratings.sample(frac=1.0, random_state=3).reset_index(drop=True)
    (fold,) = iter_folds(dataset, "probe")
    probe = set(zip(dataset.probe["user"], dataset.probe["movie"]))
    assert set(zip(fold.test["user"], fold.test["movie"])) == probe and len(fold.test) == len(probe)
    assert not set(zip(fold.train["user"], fold.train["movie"])) & probe


def test_a_probe_pair_without_a_rating_is_an_error_naming_its_line_or_a_counted_skip(tmp_path: Path) -> None:
    root = folder(tmp_path, probe="1:\n10\n2:\n11\n")  # customer 11 never rated movie 2
    with pytest.raises(DataError, match=r"probe\.txt:4: probe pair \(customer 11, movie 2\) has no rating"):
        list(iter_folds(load_dataset(f"netflix:{root}"), "probe"))
    dataset = load_dataset(f"netflix:{root}", lenient=True)
    (fold,) = iter_folds(dataset, "probe")
    assert fold.test[["user", "movie"]].values.tolist() == [[10, 1]] and len(fold.train) == 3
    assert any("1 probe pair(s) with no rating skipped (lenient mode)" in note for note in dataset.notes)


def test_probe_split_spelling_and_datasets_without_a_probe() -> None:
    assert str(parse_split("probe")) == "probe" and parse_split(" PROBE ").kind == "probe"
    with pytest.raises(DataError, match="takes no value"):
        parse_split("probe:3")
    with pytest.raises(DataError, match="this dataset has no probe set"):
        list(iter_folds(load_dataset("sample"), "probe"))
    with pytest.raises(DataError, match="a bare ratings table has no probe pairs"):
        list(iter_folds(load_dataset(f"netflix:{FIXTURE}").ratings, "probe"))


# ---------------------------------------------------------------- the qualifying writer
class _Constant(Recommender):
    """Predicts one value for every pair, and remembers the dates it was given (if it takes them)."""

    name = ""

    def __init__(self, value: float = 7.0) -> None:
        self.value = value

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        pass

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return np.full(len(user_idx), self.value)

    def _clip(self, scores: np.ndarray) -> np.ndarray:
        return scores  # unclipped, so that the writer's own clipping is what is checked


class _Dated(_Constant):
    def predict(self, users, movies, date=None):  # type: ignore[override]
        self.dates_ = np.asarray(date)
        return super().predict(users, movies)


@pytest.mark.parametrize("batch", [1, 3, 1 << 16])
def test_the_qualifying_file_keeps_the_order_and_clips_to_the_star_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(writer, "BATCH", batch)  # headers must survive batch boundaries
    dataset = load_dataset(f"netflix:{FIXTURE}")
    for value, shown in ((7.0, "5.000"), (-2.0, "1.000")):
        out = tmp_path / f"q{value}.txt"
        assert writer.write_qualifying(_Constant(value).fit(dataset.ratings), dataset.qualifying, out) == 35
        expected = [(movie, shown) for movie, _ in file_blocks(FIXTURE / "qualifying.txt")]
        assert file_blocks(out) == expected
        headers = [line for line in out.read_text().splitlines() if line.endswith(":")]
        assert headers == [line for line in (FIXTURE / "qualifying.txt").read_text().splitlines() if line.endswith(":")]


def test_dates_go_only_to_engines_whose_predict_takes_them(tmp_path: Path) -> None:
    dataset = load_dataset(f"netflix:{FIXTURE}")
    dated = _Dated().fit(dataset.ratings)
    writer.write_qualifying(dated, dataset.qualifying, tmp_path / "q.txt")
    assert writer.takes_date(dated) and not writer.takes_date(_Constant())
    assert (dated.dates_ == dataset.qualifying["date"].to_numpy()).all()


def test_a_real_engine_writes_one_prediction_per_qualifying_line(tmp_path: Path) -> None:
    dataset = load_dataset(f"netflix:{FIXTURE}")
    engine = create_engine("baseline").fit(dataset.ratings)
    writer.write_qualifying(engine, dataset.qualifying, tmp_path / "q.txt")
    values = np.array([float(v) for _, v in file_blocks(tmp_path / "q.txt")])
    expected = np.clip(engine.predict(dataset.qualifying["user"], dataset.qualifying["movie"]), 1, 5)
    assert np.allclose(values, expected, atol=5e-4)


# ---------------------------------------------------------------- movierec predict
def test_predict_writes_the_submission_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "qualifying_predictions.txt"
    assert main(["predict", f"netflix:{FIXTURE}", "--engine", "baseline", "--qualifying", str(out), "--quiet"]) == 0
    assert [movie for movie, _ in file_blocks(out)] == [movie for movie, _ in file_blocks(FIXTURE / "qualifying.txt")]
    assert "wrote 35 predictions" in capsys.readouterr().out


def test_predict_shows_a_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", f"netflix:{FIXTURE}", "--engine", "mean", "--qualifying", str(tmp_path / "q.txt")]) == 0
    assert "qualifying: 100%" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        ("plain", ["--engine", "baseline"], "no qualifying.txt in the folder"),
        ("prize", ["--engine", "ease"], "ease ranks movies but does not predict ratings"),
        ("prize", ["--engine", "nope"], "nope"),
        ("prize", ["--engine", "baseline", "--qualifying", "{root}"], "is a folder"),
        ("bad", ["--engine", "baseline"], "qualifying.txt:2: date '2005-13-01'"),
    ],
)
def test_predict_errors_are_one_line_with_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: str, args: list[str], message: str
) -> None:
    root = tmp_path / "data"
    if make == "prize":
        shutil.copytree(FIXTURE, root)
    else:
        root.mkdir()
        folder(root, qualifying="1:\n10,2005-13-01\n" if make == "bad" else None)
    args = [a.format(root=root) for a in args]
    if "--qualifying" not in args:
        args += ["--qualifying", str(tmp_path / "out.txt")]
    assert main(["predict", f"netflix:{root}", "--quiet", *args]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("movierec: error: ") and message in error[0]
    assert not (tmp_path / "out.txt").exists()


def test_benchmark_runs_the_probe_split_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["benchmark", f"netflix:{FIXTURE}", "--engines", "mean,baseline", "--split", "probe", "--quiet"]) == 0
    assert "rmse" in capsys.readouterr().out.lower()
