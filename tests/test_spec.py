"""Dataset specs: one string names a dataset; loading options pass through."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from movierec.core.data import load_dataset
from movierec.core.errors import DataError


def test_unknown_spec_is_one_sentence() -> None:
    with pytest.raises(DataError, match="unknown dataset spec 'imdb:x': expected 'sample'"):
        load_dataset("imdb:x")
    with pytest.raises(DataError, match="unknown dataset spec 'netflix'"):
        load_dataset("netflix")


def test_missing_netflix_directory_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere: Netflix directory not found$"):
        load_dataset(f"netflix:{tmp_path / 'nowhere'}")


def test_sample_has_titles_genres_and_overviews(sample) -> None:
    assert len(sample.ratings) > 10_000
    assert sample.movies["genres"].notna().all()
    assert sample.movies["overview"].notna().mean() > 0.9
    assert sample.movies["year"].isna().sum() == 1  # the NULL year of the title file


def test_lenient_mode_skips_and_counts(tmp_path: Path) -> None:
    (tmp_path / "combined_data_1.txt").write_text("1:\n10,3,2005-01-01\n11,9,2005-01-01\n")
    with pytest.raises(DataError, match=r"combined_data_1\.txt:3: rating '9' is not 1-5"):
        load_dataset(f"netflix:{tmp_path}")
    dataset = load_dataset(f"netflix:{tmp_path}", lenient=True)
    assert len(dataset.ratings) == 1 and dataset.skipped_lines == 1
    assert any("1 malformed rating line(s) skipped" in note for note in dataset.notes)


def test_netflix_id_map_is_found_in_the_directory_or_named(netflix_dir: Path, tmp_path: Path) -> None:
    found = load_dataset(f"netflix:{netflix_dir}")
    assert found.movies["tmdb_id"].notna().sum() > 10_000
    shutil.copy(netflix_dir / "combined_data_sample.txt", tmp_path / "combined_data_1.txt")
    shutil.copy(netflix_dir / "movie_titles.csv", tmp_path)
    without = load_dataset(f"netflix:{tmp_path}")
    assert "tmdb_id" not in without.movies.columns
    named = load_dataset(f"netflix:{tmp_path}", links=netflix_dir / "netflix_imdb_tmdb.csv")
    assert named.movies["tmdb_id"].notna().sum() == found.movies["tmdb_id"].notna().sum()


def test_metadata_join_is_reported(netflix_dir: Path, shared_data: Path) -> None:
    dataset = load_dataset(
        f"netflix:{netflix_dir}", metadata=shared_data / "movies_metadata" / "movies_metadata.csv"
    )
    stats = dataset.stats()
    assert stats["overviews"] > 1_000
    assert any(f"overviews matched for {stats['overviews']} of 17770" in n for n in dataset.notes)
