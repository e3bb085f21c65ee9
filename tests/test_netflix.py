"""Netflix Prize files: the fast ratings parser, title file, directory layouts, real data."""

from __future__ import annotations

import datetime
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from movierec.core.data.netflix import (
    RatingColumns,
    parse_ratings_into,
    read_movie_titles,
    read_netflix_ratings,
)
from movierec.core.data.netflix.block import DEFAULT_LAYOUT, LineLayout
from movierec.core.data.netflix.folder import pairs_repeat
from movierec.core.data.spec import load_netflix
from movierec.core.data.tables import repeated_pairs
from movierec.core.errors import DataError
from netflix_reference import as_rows, reference_parse


def parse_bytes(
    tmp_path: Path, data: bytes, lenient: bool, chunk_bytes: int = 1 << 21, workers: int = 1,
    layout: LineLayout = DEFAULT_LAYOUT,
):
    path = tmp_path / "combined_data_1.txt"
    path.write_bytes(data)
    columns = RatingColumns(len(data), layout)
    skipped, headers = parse_ratings_into(
        path, columns, lenient=lenient, chunk_bytes=chunk_bytes, workers=workers, layout=layout
    )
    return columns.to_frame(), skipped, headers


CORRUPTIONS = [
    b"12,6,2005-01-01", b"12,0,2005-01-01", b"12,3,2005-13-01", b"12,3,2005-02-30",
    b"12,3,1989-12-31", b"12,3,2005/01/01", b"12,3", b"12,3,2005-01-01,9", b"x12,3,2005-01-01",
    b"123456789,3,2005-01-01", b"\xef\xbb\xbf12,3,2005-01-01", b"12,3,2005-01-01\r", b"ab:",
    b":", b"12,3,05-01-01", b"12,,2005-01-01", b",3,2005-01-01", b"12,3.0,2005-01-01",
]


def random_file(rng: random.Random) -> bytes:
    lines = []
    if rng.random() < 0.2:
        lines.append(b"5,3,2005-01-01")  # a rating before any header
    for _ in range(rng.randint(1, 6)):
        lines.append(f"{rng.randint(1, 20000)}:".encode())
        for _ in range(rng.randint(0, 12)):
            date = np.datetime64("1999-11-11") + rng.randint(0, 2240)
            lines.append(f"{rng.randint(1, 2649429)},{rng.randint(1, 5)},{date}".encode())
            if rng.random() < 0.08:
                lines.append(rng.choice(CORRUPTIONS))
            if rng.random() < 0.03:
                lines.append(b"")
    ending = b"\r\n" if rng.random() < 0.2 else b"\n"
    data = ending.join(lines) + (ending if rng.random() < 0.7 else b"")
    return (b"\xef\xbb\xbf" + data) if rng.random() < 0.1 else data


def test_random_files_parse_like_the_line_by_line_reading(tmp_path: Path) -> None:
    rng = random.Random(7)
    for case in range(80):
        data = random_file(rng)
        rows, bad = reference_parse(data)
        chunk = rng.choice([32, 64, 1 << 21])  # tiny chunks split lines and movies across reads
        table, skipped, _ = parse_bytes(tmp_path, data, lenient=True, chunk_bytes=chunk)
        assert as_rows(table) == rows, (case, data)
        assert skipped == len(bad), (case, data)
        if bad:
            with pytest.raises(DataError, match=rf":{bad[0]}: "):
                parse_bytes(tmp_path, data, lenient=False, chunk_bytes=chunk)


def test_last_movie_of_a_file_is_not_dropped(tmp_path: Path) -> None:
    table, skipped, headers = parse_bytes(
        tmp_path, b"1:\n10,3,2005-01-01\n2:\n11,4,2005-01-02\n12,5,2005-01-03", lenient=False
    )
    assert table["movie"].tolist() == [1, 2, 2]
    assert headers.tolist() == [1, 2] and skipped == 0


def test_no_header_rows_leak_into_ratings(tmp_path: Path) -> None:
    table, _, _ = parse_bytes(tmp_path, b"1:\n10,3,2005-01-01\n2:\n3:\n11,4,2005-01-02\n", False)
    assert len(table) == 2
    assert table["rating"].notna().all() and set(table["movie"]) == {1, 3}


def test_canonical_dtypes(tmp_path: Path) -> None:
    table, _, _ = parse_bytes(tmp_path, b"7:\n2649429,5,2005-12-31\n", False)
    assert [str(t) for t in table.dtypes] == ["int32", "int32", "float32", "datetime64[s]"]
    assert as_rows(table) == [(7, 2649429, 5, "2005-12-31")]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"12,6,2005-01-01", "rating '6' is not 1-5"),
        (b"12,3,2005-02-30", "date '2005-02-30'"),
        (b"12,3", "3 fields"),
        (b"12,3,20050101", "date .20050101. is not"),
        (b"12,3,2005-01-01,1", "3 fields"),
        (b"1x2,3,2005-01-01", "customer id '1x2' is not an integer"),
        (b"\xef\xbb\xbf12,3,2005-01-01", "byte-order mark"),
        (b"12,3,2005-01-01\r\r", "carriage return"),
        (b"M12:", "movie header 'M12:'"),
    ],
)
def test_malformed_line_is_an_error_or_skipped_when_lenient(
    tmp_path: Path, line: bytes, problem: str
) -> None:
    data = b"1:\n10,3,2005-01-01\n" + line + b"\n2:\n11,4,2005-01-02\n"
    with pytest.raises(DataError, match=r"combined_data_1\.txt:3: .*" + problem.replace("(", r"\(")):
        parse_bytes(tmp_path, data, lenient=False)
    table, skipped, _ = parse_bytes(tmp_path, data, lenient=True)
    assert skipped == 1
    assert as_rows(table) == [(1, 10, 3, "2005-01-01"), (2, 11, 4, "2005-01-02")]


def test_rating_before_any_header_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r":1: rating line '10,3,2005-01-01' before any valid"):
        parse_bytes(tmp_path, b"10,3,2005-01-01\n1:\n", lenient=False)


def test_ratings_under_a_bad_header_are_skipped_not_given_to_the_previous_movie(
    tmp_path: Path,
) -> None:
    data = b"1:\n10,3,2005-01-01\nX:\n11,4,2005-01-02\n2:\n12,5,2005-01-03\n"
    table, skipped, _ = parse_bytes(tmp_path, data, lenient=True)
    assert as_rows(table) == [(1, 10, 3, "2005-01-01"), (2, 12, 5, "2005-01-03")]
    assert skipped == 2


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf1:\r\n10,3,2005-01-01\r\n\r\n2:\r\n11,4,2005-01-02\r\n"
    table, skipped, _ = parse_bytes(tmp_path, data, lenient=False)
    assert as_rows(table) == [(1, 10, 3, "2005-01-01"), (2, 11, 4, "2005-01-02")]
    assert skipped == 0


def test_missing_ratings_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="ratings file not found"):
        read_netflix_ratings(tmp_path / "combined_data_9.txt")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_several_files_are_concatenated(tmp_path: Path) -> None:
    write(tmp_path / "combined_data_1.txt", "1:\n10,3,2005-01-01\n2:\n11,4,2005-01-02\n")
    write(tmp_path / "combined_data_2.txt", "3:\n12,5,2005-01-03\n")
    dataset = load_netflix(tmp_path, spec="netflix:x")
    assert dataset.ratings["movie"].tolist() == [1, 2, 3]
    assert "no movie_titles file" in " ".join(dataset.notes)


def test_both_layouts_count_each_rating_once(tmp_path: Path) -> None:
    write(tmp_path / "combined_data_1.txt", "1:\n10,3,2005-01-01\n2:\n11,4,2005-01-02\n")
    write(tmp_path / "training_set" / "mv_0000001.txt", "1:\n10,3,2005-01-01\n")
    write(tmp_path / "training_set" / "mv_0000002.txt", "2:\n11,4,2005-01-02\n")
    write(tmp_path / "training_set" / "mv_0000003.txt", "3:\n12,5,2005-01-03\n")
    dataset = load_netflix(tmp_path, spec="netflix:x")
    assert sorted(dataset.ratings["movie"].tolist()) == [1, 2, 3]
    note = next(n for n in dataset.notes if "both layouts" in n)
    assert "1 training_set file(s); skipped 2" in note


def test_original_layout_alone(tmp_path: Path) -> None:
    write(tmp_path / "training_set" / "mv_0000002.txt", "2:\n11,4,2005-01-02\n")
    write(tmp_path / "training_set" / "mv_0000001.txt", "1:\n10,3,2005-01-01\n")
    write(tmp_path / "movie_titles.txt", "1,2001,One\n2,NULL,Two, Too\n")
    dataset = load_netflix(tmp_path, spec="netflix:x")
    assert dataset.ratings["movie"].tolist() == [1, 2]
    assert dataset.movies["title"].tolist() == ["One", "Two, Too"]


def test_a_movie_in_two_combined_files_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "combined_data_1.txt", "1:\n10,3,2005-01-01\n")
    write(tmp_path / "combined_data_2.txt", "1:\n10,3,2005-01-01\n")
    with pytest.raises(DataError, match="movie 1 appears in both"):
        load_netflix(tmp_path, spec="netflix:x")


def test_per_movie_file_holding_another_movie_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "training_set" / "mv_0000001.txt", "2:\n10,3,2005-01-01\n")
    with pytest.raises(DataError, match="holds movie 2, expected only movie 1"):
        load_netflix(tmp_path, spec="netflix:x")


def test_missing_and_empty_directories_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="Netflix directory not found"):
        load_netflix(tmp_path / "nowhere", spec="netflix:x")
    with pytest.raises(DataError, match="no Netflix Prize files"):
        load_netflix(tmp_path, spec="netflix:x")


def test_title_file_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "movie_titles.csv", "1,2001,One\n2,19x5,Two\n")
    with pytest.raises(DataError, match=r"movie_titles\.csv:2: year '19x5'"):
        read_movie_titles(path)


def test_real_titles_keep_commas_null_years_and_latin1(netflix_dir: Path) -> None:
    movies = read_movie_titles(netflix_dir / "movie_titles.csv")
    assert len(movies) == 17_770
    assert int(movies["title"].str.contains(",").sum()) == 336
    assert int(movies["year"].isna().sum()) == 7
    assert movies["title"].str.contains("é").any()


def test_real_sample_matches_the_per_movie_files(netflix_dir: Path, tmp_path: Path) -> None:
    combined = read_netflix_ratings(netflix_dir / "combined_data_sample.txt")
    assert len(combined.ratings) == 1_613
    assert sorted(combined.movies.tolist()) == [11, 12, 13, 82, 90]
    per_movie = pd.concat(
        [read_netflix_ratings(p).ratings for p in sorted((netflix_dir / "training_set").glob("mv_*.txt"))],
        ignore_index=True,
    )
    key = ["movie", "user"]
    pd.testing.assert_frame_equal(
        combined.ratings.sort_values(key, ignore_index=True), per_movie.sort_values(key, ignore_index=True)
    )
    # The original layout alone loads the same ratings.
    shutil.copytree(netflix_dir / "training_set", tmp_path / "training_set")
    alone = load_netflix(tmp_path, spec="netflix:x").ratings
    pd.testing.assert_frame_equal(
        alone.sort_values(key, ignore_index=True), per_movie.sort_values(key, ignore_index=True)
    )


def test_movies_without_a_title_are_noted(tmp_path: Path) -> None:
    write(tmp_path / "combined_data_1.txt", "1:\n10,3,2005-01-01\n2:\n11,4,2005-01-02\n")
    write(tmp_path / "movie_titles.csv", "1,2001,One\n")
    dataset = load_netflix(tmp_path, spec="netflix:x")
    assert "1 movie(s) of the ratings files have no title, e.g. movie 2" in dataset.notes


def test_a_file_in_another_format_is_one_short_sentence(tmp_path: Path) -> None:
    path = tmp_path / "combined_data_1.txt"
    path.write_bytes(b"userId,movieId,rating,timestamp\n1,1,4.0,964982703\n" + b"x" * 5000)
    with pytest.raises(DataError, match=r":1: rating line 'userId,movieId,rating,timestamp' before") as error:
        read_netflix_ratings(path)
    assert len(str(error.value)) < 300


def test_two_per_movie_files_of_one_movie_are_refused_naming_both(tmp_path: Path) -> None:
    write(tmp_path / "training_set" / "mv_0000001.txt", "1:\n10,3,2005-01-01\n")
    write(tmp_path / "training_set" / "mv_1.txt", "1:\n11,4,2005-01-02\n")
    with pytest.raises(DataError, match=r"mv_0000001\.txt and .*mv_1\.txt are both files of movie 1"):
        load_netflix(tmp_path, spec="netflix:x")


@pytest.mark.parametrize("day", ["2038-01-20", "2100-03-01", "9999-12-31"])
def test_dates_after_2038_do_not_wrap(tmp_path: Path, day: str) -> None:
    table, skipped, _ = parse_bytes(tmp_path, f"1:\n10,3,{day}\n".encode(), lenient=False)
    assert as_rows(table) == [(1, 10, 3, day)] and skipped == 0


@pytest.mark.parametrize("header", [b"2", b"2: ", b"2;", b"X2:"])
def test_lenient_damaged_header_never_gives_ratings_to_the_previous_movie(
    tmp_path: Path, header: bytes
) -> None:
    data = b"1:\n10,3,2005-09-06\n" + header + b"\n11,4,2005-01-01\n12,5,2005-01-02\n3:\n13,2,2005-01-03\n"
    table, skipped, headers = parse_bytes(tmp_path, data, lenient=True)
    assert as_rows(table) == [(1, 10, 3, "2005-09-06"), (3, 13, 2, "2005-01-03")]
    assert skipped == 3  # the damaged header and the two ratings under it
    assert headers.tolist() == [1, 3]
    with pytest.raises(DataError, match=r"combined_data_1\.txt:3: movie header"):
        parse_bytes(tmp_path, data, lenient=False)


def test_header_with_trailing_space_is_named_so(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r":3: movie header with trailing space: '2: '"):
        parse_bytes(tmp_path, b"1:\n10,3,2005-09-06\n2: \n11,4,2005-01-01\n", lenient=False)


def test_damaged_header_at_a_block_boundary_skips_the_next_block_lines_too(tmp_path: Path) -> None:
    data = b"1:\n10,3,2005-09-06\n2\n" + b"".join(b"%d,4,2005-01-01\n" % u for u in range(11, 40)) + b"3:\n9,1,2005-01-03\n"
    table, skipped, _ = parse_bytes(tmp_path, data, lenient=True, chunk_bytes=32)
    assert as_rows(table) == [(1, 10, 3, "2005-09-06"), (3, 9, 1, "2005-01-03")]
    assert skipped == 30


def test_corrupt_rating_line_ending_in_a_colon_drops_only_itself(tmp_path: Path) -> None:
    data = b"1:\n10,3,2005-09-06\n11,4,2005-01-0:\n12,5,2005-01-02\n13,1,2005-01-03\n"
    table, skipped, _ = parse_bytes(tmp_path, data, lenient=True)
    assert as_rows(table) == [(1, 10, 3, "2005-09-06"), (1, 12, 5, "2005-01-02"), (1, 13, 1, "2005-01-03")]
    assert skipped == 1
    with pytest.raises(DataError, match=r":3: date '2005-01-0:'"):
        parse_bytes(tmp_path, data, lenient=False)


def test_lines_of_only_spaces_are_blank(tmp_path: Path) -> None:
    table, skipped, _ = parse_bytes(tmp_path, b"1:\n  \n10,3,2005-09-06\n\t\n", lenient=False)
    assert as_rows(table) == [(1, 10, 3, "2005-09-06")] and skipped == 0


@pytest.mark.parametrize(
    ("files", "found"),
    [
        ({"combined_data_1.txt": ""}, "1 combined_data_"),
        ({"combined_data_1.txt": "1:\n\n2:\n\n"}, "1 combined_data_"),
        ({"combined_data_1.txt": "\n\n\n"}, "1 combined_data_"),
        ({"training_set/mv_0000001.txt": ""}, "1 mv_"),
        ({"training_set/.keep": "", "movie_titles.csv": "1,2001,One\n"}, "training_set/ folder without"),
        ({"movie_titles.csv": "1,2001,One\n"}, "movie_titles.csv"),
    ],
)
def test_a_directory_without_ratings_says_what_it_found(tmp_path: Path, files: dict, found: str) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises(DataError, match=rf"no ratings found \(found .*{found}"):
        load_netflix(tmp_path, spec="netflix:x")


def test_lenient_directory_where_every_line_is_bad_says_so(tmp_path: Path) -> None:
    write(tmp_path / "combined_data_1.txt", "1:\n10,9,2005-01-01\n")
    with pytest.raises(DataError, match=r"no ratings found .*1 malformed line\(s\) skipped"):
        load_netflix(tmp_path, spec="netflix:x", lenient=True)


def test_empty_ratings_files_beside_full_ones_are_noted(tmp_path: Path) -> None:
    write(tmp_path / "combined_data_1.txt", "1:\n10,3,2005-01-01\n")
    write(tmp_path / "combined_data_2.txt", "")
    dataset = load_netflix(tmp_path, spec="netflix:x")
    assert "1 ratings file(s) hold no rating, e.g. combined_data_2.txt" in dataset.notes


def test_per_movie_files_placed_directly_in_the_folder_are_read_with_a_note(tmp_path: Path) -> None:
    write(tmp_path / "mv_0000001.txt", "1:\n10,3,2005-01-01\n")
    write(tmp_path / "mv_0000002.txt", "2:\n11,4,2005-01-02\n")
    dataset = load_netflix(tmp_path, spec="netflix:x")
    assert sorted(dataset.ratings["movie"].tolist()) == [1, 2]
    assert any("read 2 mv_*.txt file(s) placed directly in" in note for note in dataset.notes)


def test_a_movie_header_repeated_within_a_file_is_merged_and_noted(tmp_path: Path) -> None:
    write(tmp_path / "combined_data_1.txt", "1:\n10,3,2005-01-01\n2:\n11,4,2005-01-02\n1:\n12,5,2005-01-03\n")
    dataset = load_netflix(tmp_path, spec="netflix:x")
    assert sorted(dataset.ratings["movie"].tolist()) == [1, 1, 2]
    assert any("repeated within a file" in n and "combined_data_1.txt (1, e.g. movie 1)" in n for n in dataset.notes)


def test_a_repeated_user_movie_rating_keeps_the_last_and_is_counted(tmp_path: Path) -> None:
    write(tmp_path / "combined_data_1.txt", "1:\n10,3,2005-01-01\n11,2,2005-01-01\n10,5,2004-01-01\n")
    dataset = load_netflix(tmp_path, spec="netflix:x")
    assert as_rows(dataset.ratings) == [(1, 11, 2, "2005-01-01"), (1, 10, 5, "2004-01-01")]
    assert dataset.repeated_ratings == 1 and dataset.stats()["repeated_ratings"] == 1
    assert any("1 repeated (user, movie) rating(s) dropped: the last one in file order is kept" in n for n in dataset.notes)


def test_a_pair_repeated_across_two_headers_of_one_movie_is_caught(tmp_path: Path) -> None:
    write(tmp_path / "combined_data_1.txt", "1:\n10,3,2005-01-01\n2:\n10,4,2005-01-02\n1:\n10,5,2005-01-03\n")
    dataset = load_netflix(tmp_path, spec="netflix:x")
    assert as_rows(dataset.ratings) == [(2, 10, 4, "2005-01-02"), (1, 10, 5, "2005-01-03")]
    assert dataset.repeated_ratings == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_the_per_movie_repeat_check_agrees_with_the_whole_table_one(workers: int) -> None:
    rng = np.random.default_rng(5)
    n = (1 << 20) + 1000  # large enough for the threaded path
    movie = np.sort(rng.integers(1, 400, n)).astype(np.int32)
    movie[-500:] = 3  # a second run of movie 3, as a repeated header makes
    for users_drawn in (10**9, 3_000):  # almost surely no repeat; then surely repeats
        user = rng.choice(users_drawn, n, replace=users_drawn < n).astype(np.int32)
        expected = repeated_pairs(user, movie) is not None
        assert pairs_repeat(user, movie, workers=workers) == expected
    user = np.arange(n, dtype=np.int32)
    user[-1] = user[np.flatnonzero(movie == 3)[0]]  # the only repeat spans the two runs of movie 3
    assert pairs_repeat(user, movie, workers=workers) and repeated_pairs(user, movie) is not None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1,2001,One\n99999999999,2001,Two\n", r":2: movie id '99999999999' is not an integer of 1-9"),
        ("1,2001,One\n2,99999,Two\n", r":2: year '99999' is not a year of four digits"),
        ("1,2001,One\n2,2002,Two\n1,2003,Again\n", r":3: movie id 1 appears more than once \(first on line 1\)"),
        ("1,2001,One\n2," + "9" * 5000 + ",Two\n", r":2: year '9{60}'\.\.\. is not"),
    ],
)
def test_title_file_problems_are_one_short_line(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path / "movie_titles.csv", text)
    with pytest.raises(DataError, match=r"movie_titles\.csv" + problem) as error:
        read_movie_titles(path)
    assert len(str(error.value)) < 300


def test_a_ratings_file_that_is_a_folder_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "combined_data_1.txt").mkdir()
    with pytest.raises(DataError, match=r"combined_data_1\.txt: is a folder"):
        load_netflix(tmp_path, spec="netflix:x")
    with pytest.raises(DataError, match=r"combined_data_1\.txt: is a folder"):
        read_netflix_ratings(tmp_path / "combined_data_1.txt")


# Property-based: the fast parser against the plain one, on files built from valid lines,
# damaged copies of them and junk, read in blocks small enough to split lines and movies.
_DAMAGE = [b"0", b"9", b",", b":", b"-", b" ", b"\r", b"\xef", b"x", b"\x00", b""]


@st.composite
def netflix_file(draw: st.DrawFn, max_user_digits: int = 8) -> bytes:
    header = st.integers(0, 10**9 - 1).map(lambda m: b"%d:" % m)
    day = st.dates(datetime.date(1985, 1, 1), datetime.date(9999, 12, 31)).map(lambda d: d.isoformat().encode())
    user = st.integers(1, 10**max_user_digits - 1).map(lambda u: b"%d" % u)
    rating = st.tuples(user, st.integers(0, 6).map(lambda r: b"%d" % r), day).map(b",".join)

    def damaged(line: bytes) -> st.SearchStrategy[bytes]:
        at = st.integers(0, max(len(line) - 1, 0))
        return st.tuples(at, st.sampled_from(_DAMAGE)).map(lambda d: line[: d[0]] + d[1] + line[d[0] + 1 :])

    line = st.one_of(
        header, rating, rating, rating, rating.flatmap(damaged), header.flatmap(damaged),
        st.sampled_from([b"", b"  ", b"2", b"2: ", b"1,1,2005-01-01,1", b"123456789,3,2005-01-01"]),
    )  # fmt: skip
    lines = draw(st.lists(line, max_size=25))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = ending.join(lines) + draw(st.sampled_from([ending, b""]))
    return (b"\xef\xbb\xbf" + data) if draw(st.booleans()) else data


def check_against_reference(folder: Path, data: bytes, chunk: int, workers: int, layout: LineLayout) -> None:
    rows, bad = reference_parse(data, layout.max_user_digits)
    table, skipped, _ = parse_bytes(folder, data, lenient=True, chunk_bytes=chunk, workers=workers, layout=layout)
    assert (as_rows(table), skipped) == (rows, len(bad))
    if bad:
        with pytest.raises(DataError, match=rf"combined_data_1\.txt:{bad[0]}: "):
            parse_bytes(folder, data, lenient=False, chunk_bytes=chunk, workers=workers, layout=layout)
    else:
        assert as_rows(parse_bytes(folder, data, lenient=False, chunk_bytes=chunk, layout=layout)[0]) == rows


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=netflix_file(), chunk=st.sampled_from([1, 16, 40, 1 << 21]), workers=st.sampled_from([1, 2]))
def test_the_fast_parser_reads_like_the_plain_one(tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int, workers: int) -> None:
    check_against_reference(tmp_path_factory.mktemp("p"), data, chunk, workers, DEFAULT_LAYOUT)


@pytest.mark.parametrize("digits", [1, 5, 9])
def test_customer_id_width_is_one_parameter(tmp_path_factory: pytest.TempPathFactory, digits: int) -> None:
    layout = LineLayout(max_user_digits=digits)

    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=netflix_file(max_user_digits=min(digits + 1, 9)), chunk=st.sampled_from([16, 1 << 21]))
    def run(data: bytes, chunk: int) -> None:
        check_against_reference(tmp_path_factory.mktemp("w"), data, chunk, 1, layout)

    run()
    table, _, _ = parse_bytes(tmp_path_factory.mktemp("x"), b"1:\n%s,5,2005-01-01\n" % (b"9" * digits), False, layout=layout)
    assert table["user"].tolist() == [10**digits - 1]
