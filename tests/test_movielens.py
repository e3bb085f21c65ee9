"""MovieLens loading: latest/25M, 1M and 100k formats, malformed lines, lenient mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from movierec.core.data import load_dataset, load_movielens
from movierec.core.data.metadata import split_title_year
from movierec.core.data.movielens import detect_format
from movierec.core.data.rating_file import read_rating_file
from movierec.core.data.split import iter_folds
from movierec.core.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "movielens"
HEADER = "userId,movieId,rating,timestamp"


def write_latest(folder: Path, ratings: list[str], newline: str = "\n", movies: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.csv").write_bytes(newline.join([HEADER, *ratings, ""]).encode())
    if movies is not None:
        (folder / "movies.csv").write_bytes(newline.join(["movieId,title,genres", *movies, ""]).encode())
    return folder


def test_ml_latest_small_has_the_published_counts(movielens_small) -> None:
    stats = movielens_small.stats()
    assert (stats["ratings"], stats["users"], stats["movies"], stats["titles"]) == (100_836, 610, 9_724, 9_742)
    assert (stats["rating_min"], stats["rating_max"]) == (0.5, 5.0)
    assert stats["skipped_lines"] == 0
    assert any("tags.csv" in note for note in stats["notes"])


def test_ml_latest_small_loads_in_lenient_mode_with_nothing_skipped(movielens_small_dir: Path) -> None:
    dataset = load_movielens(movielens_small_dir, lenient=True)
    assert (len(dataset.ratings), dataset.skipped_lines) == (100_836, 0)
    assert dataset.ratings["movie"].nunique() == 9_724 and len(dataset.movies) == 9_742


def test_ml_latest_small_titles_have_years_genres_and_links(movielens_small) -> None:
    movies = movielens_small.movies.set_index("movie")
    assert movies.loc[1, "title"] == "Toy Story"
    assert movies.loc[1, "year"] == 1995
    assert movies.loc[1, "genres"] == "Adventure|Animation|Children|Comedy|Fantasy"
    assert (movies.loc[1, "tmdb_id"], movies.loc[1, "imdb_id"]) == (862, "tt0114709")
    assert movies["year"].notna().sum() >= 9_729  # 12 titles carry no year at all
    assert movies["genres"].isna().sum() == 34  # '(no genres listed)'
    ratings = movielens_small.ratings
    assert [str(t) for t in ratings.dtypes] == ["int32", "int32", "float32", "datetime64[s]"]


def test_year_spans_give_the_first_year() -> None:
    assert split_title_year("Death Note: Desu nôto (2006–2007)") == ("Death Note: Desu nôto", 2006)
    assert split_title_year("Babylon 5") == ("Babylon 5", None)


def test_crlf_and_lf_files_load_alike(tmp_path: Path) -> None:
    lines = ["1,10,4.5,964982703", "2,20,3.0,964981247"]
    movies = ['10,"American President, The (1995)",Comedy|Drama|Romance', "20,Heat (1995),Action"]
    lf = load_movielens(write_latest(tmp_path / "lf", lines, "\n", movies))
    crlf = load_movielens(write_latest(tmp_path / "crlf", lines, "\r\n", movies))
    assert lf.ratings.equals(crlf.ratings)
    assert lf.movies.equals(crlf.movies)
    assert lf.ratings["rating"].tolist() == [4.5, 3.0]


def test_titles_with_commas_are_kept(tmp_path: Path) -> None:
    folder = write_latest(tmp_path, ["1,10,4,1"], movies=['10,"American President, The (1995)",Comedy'])
    movie = load_movielens(folder).movies.iloc[0]
    assert (movie["title"], movie["year"]) == ("American President, The", 1995)


def test_100k_genre_flags_become_genre_names() -> None:
    dataset = load_movielens(FIXTURES / "ml-100k")
    movies = dataset.movies.set_index("movie")
    assert movies.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert pd.isna(movies.loc[5, "genres"])  # only the 'unknown' flag


def test_100k_titles_are_latin1_and_years_fall_back_to_release_date() -> None:
    movies = load_movielens(FIXTURES / "ml-100k").movies.set_index("movie")
    assert movies.loc[3, "title"] == "Misérables, Les"
    assert (movies.loc[4, "title"], movies.loc[4, "year"]) == ("Wings of Desire", 1987)
    assert pd.isna(movies.loc[5, "year"])


def test_100k_ratings_and_predefined_splits() -> None:
    dataset = load_movielens(FIXTURES / "ml-100k")
    assert detect_format(FIXTURES / "ml-100k") == "100k"
    assert len(dataset.ratings) == 12
    assert dataset.ratings["date"].min() == np.datetime64("1997-09-22T22:02:38")
    assert sorted(dataset.predefined_splits) == ["u1", "ua"]
    assert [fold.name for fold in iter_folds(dataset, "predefined")] == ["u1"]  # the u1..u5 present
    folds = list(iter_folds(dataset, "predefined:u1,ua"))
    assert [fold.name for fold in folds] == ["u1", "ua"]
    for fold in folds:
        assert len(fold.train) + len(fold.test) == len(dataset.ratings)
        pairs = set(zip(fold.train["user"], fold.train["movie"]))
        assert not pairs & set(zip(fold.test["user"], fold.test["movie"]))


def test_1m_double_colon_files_load() -> None:
    dataset = load_movielens(FIXTURES / "ml-1m")
    assert detect_format(FIXTURES / "ml-1m") == "1m"
    assert len(dataset.ratings) == 7 and dataset.ratings["user"].nunique() == 3
    movies = dataset.movies.set_index("movie")
    assert movies.loc[10, "title"] == "City of Lost Children, The (Cité des enfants perdus, La)"
    assert (movies.loc[10, "year"], movies.loc[10, "genres"]) == (1995, "Adventure|Sci-Fi")


def test_movielens_spec_loads_through_load_dataset() -> None:
    dataset = load_dataset(f"movielens:{FIXTURES / 'ml-1m'}")
    assert dataset.stats()["ratings"] == 7


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("2\t3\t7\t881250950", "rating '7"),
        ("2\tx\t4\t881250950", "movie id 'x'"),
        ("2\t3\t4", "expected 4 fields"),
        ("2\t3\t4\t881250950\t9", "expected 4 fields"),
        ("2\t3\t4\t1\t2\t3\t4\t5", "expected 4 fields"),
        ("2\t3\t4\tyesterday", "timestamp 'yesterday'"),
        ("-2\t3\t4\t881250950", "user id"),
    ],
)
def test_malformed_rating_line_names_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "u.data"
    path.write_text(f"1\t2\t3\t881250949\n{line}\n5\t6\t3\t881250951\n")
    with pytest.raises(DataError, match=rf"u\.data:2: {problem}"):
        read_rating_file(path, "\t")


def test_lenient_mode_skips_and_counts_bad_lines(tmp_path: Path) -> None:
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.dat").write_text(
        "1::2::3::881250949\n2::x::4::881250950\n3::4::9::1\n4::5::1::2::3\n5::6::3::881250951\n"
    )
    with pytest.raises(DataError, match=r"ratings\.dat:2"):
        load_movielens(folder)
    dataset = load_movielens(folder, lenient=True)
    assert dataset.skipped_lines == 3
    assert dataset.ratings["user"].tolist() == [1, 5]
    assert any("3 malformed" in note for note in dataset.notes)


def test_blank_lines_and_a_byte_order_mark_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "u.data"
    path.write_bytes(b"\xef\xbb\xbf1\t2\t3\t881250949\r\n\r\n2\t3\t4\t881250950\r\n\r\n")
    ratings, skipped = read_rating_file(path, "\t")
    assert (ratings["user"].tolist(), skipped) == ([1, 2], 0)


def test_wrong_header_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ratings.csv").write_text("user,item,rating,time\n1,2,3,4\n")
    with pytest.raises(DataError, match=r"ratings\.csv:1: expected the header"):
        load_movielens(tmp_path)


def test_missing_and_unknown_directories_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a MovieLens directory"):
        load_movielens(tmp_path)
    with pytest.raises(DataError, match="no such MovieLens directory"):
        load_movielens(tmp_path / "nowhere")


def test_rated_movies_without_a_title_are_noted(tmp_path: Path) -> None:
    folder = write_latest(tmp_path, ["1,10,4,1", "1,99,4,1"], movies=["10,Heat (1995),Action"])
    assert any("have no title" in note for note in load_movielens(folder).notes)



def test_line_numbers_stay_right_across_chunks_blank_lines_and_a_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from movierec.core.data import rating_file

    monkeypatch.setattr(rating_file, "_CHUNK_ROWS", 2)
    lines = ["1,2,3,1", "", "1,3,3,1", "", "1,4,3,1", "1,5,6,1", "1,6,3,1,9,9,9"]
    write_latest(tmp_path, lines)
    with pytest.raises(DataError, match=r"ratings\.csv:7: rating '6"):
        read_rating_file(tmp_path / "ratings.csv", ",", HEADER)
    write_latest(tmp_path, [*lines[:5], "1,6,3,1,9,9,9", "1,5,6,1"])
    with pytest.raises(DataError, match=r"ratings\.csv:7: expected 4 fields"):
        read_rating_file(tmp_path / "ratings.csv", ",", HEADER)
    ratings, skipped = read_rating_file(tmp_path / "ratings.csv", ",", HEADER, lenient=True)
    assert (ratings["movie"].tolist(), skipped) == ([2, 3, 4], 2)


def test_a_ratings_file_without_ratings_gives_an_empty_table(tmp_path: Path) -> None:
    (tmp_path / "u.data").write_text("")
    write_latest(tmp_path / "latest", [])
    for path, sep, header in ((tmp_path / "u.data", "\t", None), (tmp_path / "latest" / "ratings.csv", ",", HEADER)):
        ratings, skipped = read_rating_file(path, sep, header)
        assert (len(ratings), skipped) == (0, 0)
        assert str(ratings["user"].dtype) == "int32"


def test_out_of_range_ids_and_times_are_malformed(tmp_path: Path) -> None:
    path = tmp_path / "u.data"
    path.write_text("1\t2\t3\t1\n3000000000\t2\t3\t1\n")
    with pytest.raises(DataError, match=r"u\.data:2: user id '3000000000'"):
        read_rating_file(path, "\t")
    path.write_text("1\t2\t3\t1\n1\t2\t3\t99999999999999\n")
    with pytest.raises(DataError, match=r"u\.data:2: timestamp '99999999999999'"):
        read_rating_file(path, "\t")


def test_movie_files_in_utf8_or_latin1_both_decode(tmp_path: Path) -> None:
    for encoding in ("utf-8", "latin-1"):
        folder = tmp_path / encoding
        folder.mkdir()
        (folder / "ratings.dat").write_text("1::10::4.5::978300760\n")
        (folder / "movies.dat").write_bytes("10::Cité des enfants perdus, La (1995)::Sci-Fi\n".encode(encoding))
        assert load_movielens(folder).movies["title"].tolist() == ["Cité des enfants perdus, La"]


def test_a_tab_in_a_ratings_dat_line_is_malformed_not_a_rating(tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").write_text("1::1::5::978300760\n3\t1::5::978300760\n2::1::4::978301968\n")
    with pytest.raises(DataError, match=r"ratings\.dat:2: expected 4 fields"):
        load_movielens(tmp_path)
    dataset = load_movielens(tmp_path, lenient=True)
    assert (dataset.ratings["user"].tolist(), dataset.skipped_lines) == ([1, 2], 1)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (HEADER.encode() + b"\n1,1,4.0,964982703\n\xe91,2,3.5,964981247\n", r"ratings\.csv:3: byte 'e9' is not UTF-8"),
        (b"\xff\xfe" + f"{HEADER}\n1,1,4.0,964982703\n".encode("utf-16-le"), r"ratings\.csv:1: .*UTF-16"),
    ],
)
def test_bytes_that_are_not_utf8_name_the_line(tmp_path: Path, data: bytes, problem: str) -> None:
    (tmp_path / "ratings.csv").write_bytes(data)
    for lenient in (False, True):
        with pytest.raises(DataError, match=problem):
            load_movielens(tmp_path, lenient=lenient)


@pytest.mark.parametrize(
    ("movies", "problem"),
    [
        ("", r"movies\.csv: empty file"),
        ("movieId,title,genres\n99999999999,Heat (1995),Action\n", r"movies\.csv:2: movie id '99999999999' is not a positive 32-bit"),
        ("movieId,title,genres\n10,Heat (1995),Action\n10,Heat (1995),Action\n", r"movies\.csv:3: movie id 10 appears more than once \(first on line 2\)"),
        ('movieId,title,genres\n10,"Heat (1995),Action\n', r"movies\.csv:\d+: .*quote"),
        ("movieId,title,genres\n10,Heat (1995),Action,x\n", r"movies\.csv:2: expected 3 fields"),
    ],
)
def test_damaged_movies_csv_is_one_line_naming_the_line(tmp_path: Path, movies: str, problem: str) -> None:
    write_latest(tmp_path, ["1,10,4,1"])
    (tmp_path / "movies.csv").write_text(movies)
    with pytest.raises(DataError, match=problem) as error:
        load_movielens(tmp_path)
    assert "\n" not in str(error.value)


def test_bad_links_rows_are_ignored_counted_and_named(tmp_path: Path) -> None:
    write_latest(tmp_path, ["1,10,4,1", "1,20,3,1"], movies=["10,Heat (1995),Action", "20,Up (2009),Animation"])
    (tmp_path / "links.csv").write_text("movieId,imdbId,tmdbId\n10,0113277,949\nx,1,2\n10,0000001,1\n20,0000002,\n")
    dataset = load_movielens(tmp_path)
    movies = dataset.movies.set_index("movie")
    assert (movies.loc[10, "tmdb_id"], movies.loc[10, "imdb_id"]) == (949, "tt0113277")  # the first row wins
    assert pd.isna(movies.loc[20, "tmdb_id"]) and movies.loc[20, "imdb_id"] == "tt0000002"
    assert "links.csv: 2 malformed row(s) ignored (first: line 3: movie id 'x' is not an integer)" in dataset.notes


@pytest.mark.parametrize("name", ["movies.csv", "links.csv", "ratings.csv"])
def test_a_folder_in_place_of_a_movielens_file_is_named(tmp_path: Path, name: str) -> None:
    write_latest(tmp_path, ["1,10,4,1"], movies=["10,Heat (1995),Action"])
    (tmp_path / "links.csv").write_text("movieId,imdbId,tmdbId\n")
    (tmp_path / name).unlink()
    (tmp_path / name).mkdir()
    with pytest.raises(DataError, match=rf"{name}: is a folder"):
        load_movielens(tmp_path)


def test_repeated_user_movie_ratings_keep_the_last_in_file_order(tmp_path: Path) -> None:
    folder = write_latest(tmp_path, ["1,10,4,5", "2,10,3,1", "1,10,2,3"])
    dataset = load_movielens(folder)
    assert dataset.ratings[["user", "rating"]].values.tolist() == [[2, 3.0], [1, 2.0]]
    assert dataset.repeated_ratings == 1
    assert any("1 repeated (user, movie) rating(s) dropped: the last one in file order is kept" in n for n in dataset.notes)


def test_a_ratings_file_of_only_blank_lines_is_no_dataset(tmp_path: Path) -> None:
    (tmp_path / "u.data").write_text("\n  \n\t\t\t\n")
    for lenient in (False, True):
        with pytest.raises(DataError, match=r"u\.data: no ratings found"):
            load_movielens(tmp_path, lenient=lenient)


def test_very_long_fields_are_quoted_short(tmp_path: Path) -> None:
    (tmp_path / "u.data").write_text("1\t2\t3\t1\n" + "7" * 100_000 + "x\t2\t3\t1\n")
    with pytest.raises(DataError, match=r"u\.data:2: user id") as error:
        load_movielens(tmp_path)
    assert len(str(error.value)) < 300
