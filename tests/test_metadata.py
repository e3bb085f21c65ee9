"""Metadata joins: overviews by TMDB/IMDb id where links exist, else by normalized title + year."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from movierec.core.data.metadata import (
    attach_netflix_links,
    attach_overviews,
    normalize_title,
    read_metadata,
)
from movierec.core.data.netflix import read_movie_titles
from movierec.core.data.tables import make_movies
from movierec.core.errors import DataError

HEADER = "adult,id,imdb_id,original_title,overview,release_date,title,vote_average,vote_count\n"


def test_titles_are_normalized_for_matching() -> None:
    assert normalize_title("Matrix, The") == "the matrix"
    assert normalize_title("Amélie (2001)") == "amelie"
    assert normalize_title("Se7en!") == normalize_title("se7en")


def test_remakes_get_their_own_overviews(tmp_path: Path) -> None:
    path = tmp_path / "movies_metadata.csv"
    path.write_text(
        HEADER
        + "False,1,tt01,Heat,Cops and robbers in LA.,1995-12-15,Heat,7.9,100\n"
        + "False,2,tt02,Heat,A Las Vegas bodyguard.,1986-03-14,Heat,5.1,10\n"
    )
    movies = make_movies([7, 8], ["Heat", "Heat"], [1986, 1995])
    joined, report = attach_overviews(movies, read_metadata(path))
    assert joined["overview"].tolist() == ["A Las Vegas bodyguard.", "Cops and robbers in LA."]
    assert report.matched_by_title == 2 and report.matched_by_id == 0


def test_title_fallback_never_pairs_two_known_different_ids(tmp_path: Path) -> None:
    path = tmp_path / "movies_metadata.csv"
    path.write_text(HEADER + "False,99,tt99,Heat,Some other Heat.,1995-01-01,Heat,5,1\n")
    movies = make_movies([7], ["Heat"], [1995])
    movies["tmdb_id"] = pd.array([949], dtype="Int64")
    joined, report = attach_overviews(movies, read_metadata(path))
    assert joined["overview"].isna().all() and report.matched == 0


def test_malformed_metadata_rows_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "movies_metadata.csv"
    path.write_text(
        HEADER
        + "False,1,tt01,Heat,Cops and robbers.,1995-12-15,Heat,7.9,100\n"
        + "False,1997-08-20,tt02,Broken,row,- split\n"  # a date where the TMDB id belongs
        + "False,3,tt03,Ran,A warlord divides his realm.,1985-06-01,Ran,8.0,50\n"
    )
    metadata = read_metadata(path)
    assert metadata.skipped_rows == 1 and metadata.rows == 3
    assert sorted(metadata.table["tmdb_id"].dropna().unique().tolist()) == [1, 3]


def test_unknown_metadata_format_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="expected an 'overview' column"):
        read_metadata(path)
    with pytest.raises(DataError, match="metadata file not found"):
        read_metadata(tmp_path / "missing.csv")


def test_real_movies_metadata_has_no_malformed_rows_in_its_first_2996(shared_data: Path) -> None:
    metadata = read_metadata(shared_data / "movies_metadata" / "movies_metadata.csv")
    assert metadata.rows == 2_996 and metadata.skipped_rows == 0


def test_overview_file_rows_disagreeing_with_links_are_dropped(movielens_small_dir: Path) -> None:
    path = movielens_small_dir / "movies_with_overview.csv"
    overviews = pd.read_csv(path)
    links = pd.read_csv(movielens_small_dir / "links.csv")
    both = overviews.merge(links, on="movieId")
    expected = int((both["tmdb_id"].notna() & both["tmdbId"].notna()
                    & (both["tmdb_id"] != both["tmdbId"])).sum())
    metadata = read_metadata(path)
    assert metadata.disagreeing_rows == expected > 100
    assert len(metadata.table) == len(overviews) - expected


def test_movielens_overviews_join_through_links(movielens_small) -> None:
    path = Path(movielens_small.spec.partition(":")[2]) / "movies_with_overview.csv"
    joined, report = attach_overviews(movielens_small.movies, read_metadata(path))
    assert report.matched_by_id > 0.9 * len(joined)
    toy_story = joined.loc[joined["movie"] == 1, "overview"].iloc[0]
    assert "Woody" in toy_story
    assert "overviews matched for" in report.sentence()


def test_netflix_titles_link_to_tmdb_and_imdb(netflix_dir: Path) -> None:
    titles = read_movie_titles(netflix_dir / "movie_titles.csv")
    id_map = pd.read_csv(netflix_dir / "netflix_imdb_tmdb.csv")
    linked_titles, linked = attach_netflix_links(titles, netflix_dir / "netflix_imdb_tmdb.csv")
    trusted = id_map["confidence_score"] >= 0.8
    assert linked == int((trusted & (id_map["tmdb_id"].notna() | id_map["imdb_id"].notna())).sum())
    brunette = linked_titles.set_index("movie").loc[12]
    assert brunette["tmdb_id"] == 18649 and brunette["imdb_id"] == "tt0039645"


def test_netflix_metadata_join_uses_ids_then_titles(shared_data: Path, netflix_dir: Path) -> None:
    titles = read_movie_titles(netflix_dir / "movie_titles.csv")
    linked_titles, _ = attach_netflix_links(titles, netflix_dir / "netflix_imdb_tmdb.csv")
    metadata = read_metadata(shared_data / "movies_metadata" / "movies_metadata.csv")
    joined, report = attach_overviews(linked_titles, metadata)
    assert report.matched_by_id > 1_000 and report.matched_by_title > 0
    assert int(joined["overview"].notna().sum()) == report.matched


def test_sample_overviews_follow_title_and_year(sample) -> None:
    movies = sample.movies
    remake = movies.iloc[:2]
    assert remake["title"].iloc[0] == remake["title"].iloc[1]
    assert remake["overview"].notna().all()
    assert remake["overview"].iloc[0] != remake["overview"].iloc[1]
    assert any("overviews matched for" in note for note in sample.notes)


@pytest.mark.parametrize(("content", "problem"), [(None, "is a folder"), (b"", "not a metadata CSV"), (b"x" * 5000 + b"\n1\n", "found 'x{60}'\\.\\.\\.")])
def test_a_damaged_metadata_file_is_one_short_line(tmp_path: Path, content: bytes | None, problem: str) -> None:
    path = tmp_path / "movies_metadata.csv"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match=problem) as error:
        read_metadata(path)
    assert len(str(error.value)) < 300
