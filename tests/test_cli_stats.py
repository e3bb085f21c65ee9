"""`movierec stats DATASET [--json]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from movierec.core.cli import main

FIELDS = {"ratings", "users", "movies", "titles", "rating_min", "rating_max", "date_min",
          "date_max", "skipped_lines", "overviews"}


def stats_json(spec: str, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["stats", spec, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert FIELDS <= set(stats)
    return stats


def test_stats_of_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    stats = stats_json("sample", capsys)
    assert stats["ratings"] > 10_000 and stats["titles"] > stats["movies"]
    assert (stats["rating_min"], stats["rating_max"]) == (1.0, 5.0)
    assert "1999-11-11" <= stats["date_min"] <= stats["date_max"] <= "2005-12-31"
    assert stats["overviews"] > 0.9 * stats["titles"] and stats["skipped_lines"] == 0


def test_stats_of_the_real_netflix_sample(netflix_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stats = stats_json(f"netflix:{netflix_dir}", capsys)
    assert (stats["ratings"], stats["movies"], stats["titles"]) == (1_613, 5, 17_770)
    assert (stats["rating_min"], stats["rating_max"]) == (1.0, 5.0)
    assert "1999-11-11" <= stats["date_min"] <= stats["date_max"] <= "2005-12-31"
    assert stats["skipped_lines"] == 0
    assert any("both layouts present" in note for note in stats["notes"])


def test_stats_of_movielens_small(movielens_small_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stats = stats_json(f"movielens:{movielens_small_dir}", capsys)
    assert (stats["ratings"], stats["users"], stats["movies"]) == (100_836, 610, 9_724)
    assert (stats["rating_min"], stats["rating_max"]) == (0.5, 5.0)


def test_stats_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "sample"]) == 0
    out = capsys.readouterr().out
    assert "ratings" in out and "overviews" in out


def test_stats_of_a_missing_directory_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", f"netflix:{tmp_path / 'nowhere'}", "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("movierec: error:") and "Netflix directory not found" in err
    assert "\n" not in err


def test_stats_takes_a_netflix_id_map_from_elsewhere(
    netflix_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "combined_data_1.txt").write_bytes((netflix_dir / "combined_data_sample.txt").read_bytes())
    links = netflix_dir / "netflix_imdb_tmdb.csv"
    assert main(["stats", f"netflix:{tmp_path}", "--links", str(links), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any(note.startswith("netflix_imdb_tmdb.csv: TMDB/IMDb ids for 3 of 5 titles") for note in notes)
