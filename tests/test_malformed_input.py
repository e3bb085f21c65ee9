"""Malformed input for every data reader, strict and lenient: a clear error or a counted skip.

Each variant writes a small, valid dataset, then damages one file of it (truncated lines,
missing or repeated headers, bad ratings, dates, ids, encodings, BOM, CRLF, NUL, binary, empty,
folder, permission). Loading it must end one of two ways:
- a DataError of one short line that names the damaged file (and the line, where one line is
  to blame);
- a dataset in which every rating line of the files is either loaded or counted as skipped:
  `ratings + repeated ratings + skipped == rating lines` (a header, blank line or title line is
  no rating line).
`hatch run python tests/test_malformed_input.py` prints the table of classes tried and outcomes; with
`PYTHONPATH=<an older checkout>/packages/core/src` it tallies that version's loaders the same way
(at c006e37: 92 raw errors and 16 silent or unclear outcomes of 750; now 0 and 0).
"""

from __future__ import annotations

import os
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from movierec.core.data import load_dataset
from movierec.core.errors import DataError
from netflix_reference import as_rows, reference_parse

NETFLIX_RATINGS = b"1:\n10,3,2005-09-06\n11,4,2005-01-01\n2:\n12,5,2005-01-02\n13,1,2004-03-04\n14,2,1999-12-31\n"
NETFLIX_TITLES = b"1,2001,One\n2,NULL,Two, Too\n"
LATEST_RATINGS = b"userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n2,1,5.0,964982224\n3,2,0.5,1093070098\n"
LATEST_MOVIES = b'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n2,"American President, The (1995)",Comedy\n'
LATEST_LINKS = b"movieId,imdbId,tmdbId\n1,0114709,862\n2,0112346,9087\n"
DAT_RATINGS = b"1::1::5::978300760\n1::2::3::978302109\n2::1::4::978301968\n3::2::2::978300275\n"
DAT_MOVIES = b"1::Toy Story (1995)::Animation|Children's|Comedy\n2::Jumanji (1995)::Adventure|Children's|Fantasy\n"
FLAGS = "|".join(["0"] * 18)
U_DATA = b"196\t1\t3\t881250949\n186\t2\t3\t891717742\n22\t1\t1\t878887116\n244\t2\t2\t880606923\n"
U_ITEM = (
    f"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|{FLAGS}\n"
    f"2|GoldenEye (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?GoldenEye%20(1995)|1|{FLAGS}\n"
).encode()


@dataclass(frozen=True)
class Reader:
    """One reader: the files of a small valid dataset, which of them holds ratings, its format."""

    name: str
    kind: str  # the dataset spec's kind: netflix or movielens
    files: dict[str, bytes]
    ratings_file: str
    titles_file: str
    sep: bytes  # between the fields of a rating line
    header: bytes | None = None  # the first line a MovieLens ratings file must hold


READERS = {
    r.name: r
    for r in [
        Reader("netflix combined_data", "netflix", {"combined_data_1.txt": NETFLIX_RATINGS, "movie_titles.csv": NETFLIX_TITLES}, "combined_data_1.txt", "movie_titles.csv", b","),
        Reader(
            "netflix per-movie", "netflix",
            {"training_set/mv_0000001.txt": b"1:\n10,3,2005-09-06\n11,4,2005-01-01\n12,2,2005-01-05\n",
             "training_set/mv_0000002.txt": b"2:\n12,5,2005-01-02\n", "movie_titles.csv": NETFLIX_TITLES},
            "training_set/mv_0000001.txt", "movie_titles.csv", b",",
        ),
        Reader("movielens latest", "movielens", {"ratings.csv": LATEST_RATINGS, "movies.csv": LATEST_MOVIES, "links.csv": LATEST_LINKS}, "ratings.csv", "movies.csv", b",", b"userId,movieId,rating,timestamp"),
        Reader("movielens 1m", "movielens", {"ratings.dat": DAT_RATINGS, "movies.dat": DAT_MOVIES}, "ratings.dat", "movies.dat", b"::"),
        Reader("movielens 100k", "movielens", {"u.data": U_DATA, "u.item": U_ITEM}, "u.data", "u.item", b"\t"),
    ]
}  # fmt: skip


def rating_lines(reader: Reader, data: bytes) -> int:
    """Lines of a ratings file that carry (or should carry) a rating: not blank, not a header."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if reader.kind == "movielens":  # pandas ends a line at CR, LF or CRLF
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = [line[:-1] if line.endswith(b"\r") else line for line in data.split(b"\n")]
    if reader.kind == "netflix":
        return sum(1 for line in lines if line.strip(b" \t") and not re.fullmatch(rb"\d{1,9}:", line))
    if reader.header is not None and lines and lines[0] == reader.header:
        lines = lines[1:]
    return sum(1 for line in lines if line.replace(reader.sep, b"").strip(b" \t"))


def _field(reader: Reader, line: bytes, index: int, value: bytes) -> bytes:
    fields = line.split(reader.sep)
    fields[index] = value
    return reader.sep.join(fields)


def _replace_line(data: bytes, number: int, new: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[number - 1] = new
    return b"\n".join(lines)


def rating_variants(reader: Reader) -> list[tuple[str, str, bytes, int | None]]:
    """(class, label, new ratings-file bytes, line to blame or None) for one reader."""
    data = reader.files[reader.ratings_file]
    lines = data.split(b"\n")
    target = 3 if reader.kind == "netflix" or reader.header else 2  # a rating line, not the first
    line = lines[target - 1]
    netflix = reader.kind == "netflix"
    date_index = 2 if netflix else 3
    rng = random.Random(reader.name)
    out: list[tuple[str, str, bytes, int | None]] = [
        ("truncated", "last line cut", data[: len(data) - 6], len(lines) - 1),
        ("truncated", "middle line cut", _replace_line(data, target, line[:3]), target),
        ("truncated", "line cut after a separator", _replace_line(data, target, line[: line.index(reader.sep) + len(reader.sep)]), target),
    ]
    for value in [b"6", b"0", b"x", b"3.7", b"-1", b"", b"nan", b"1e9", b"5" * 300]:
        out.append(("ratings", f"rating {value[:10]!r}", _replace_line(data, target, _field(reader, line, 1 if netflix else 2, value)), target))
    dates = [b"2005-13-01", b"2005-02-30", b"1989-12-31", b"2005/01/01", b"x", b"", b"20050101", b"99999-01-01"] if netflix else [b"-5", b"1e20", b"x", b"", b"9.5", b"253402300800", b"99999999999999999999"]
    for value in dates:
        out.append(("dates", f"date {value[:12]!r}", _replace_line(data, target, _field(reader, line, date_index, value)), target))
    for value in [b"0", b"-3", b"99999999999", b"abc", b"1.5", b"", b" 7", b"\xd9\xa3"]:
        out.append(("ids", f"user id {value!r}", _replace_line(data, target, _field(reader, line, 0, value)), target))
        if not netflix:
            out.append(("ids", f"movie id {value!r}", _replace_line(data, target, _field(reader, line, 1, value)), target))
    out += [
        ("fields", "extra field", _replace_line(data, target, line + reader.sep + b"9"), target),
        ("fields", "missing field", _replace_line(data, target, reader.sep.join(line.split(reader.sep)[:-1])), target),
        ("fields", "trailing separator", _replace_line(data, target, line + reader.sep), target),
        ("fields", "wrong separator", _replace_line(data, target, line.replace(reader.sep, b";")), target),
        ("fields", "tab inside a field", _replace_line(data, target, b"3\t" + line), target),
        ("encodings", "Latin-1 byte", _replace_line(data, target, b"\xe9" + line), target),
        ("encodings", "invalid UTF-8", _replace_line(data, target, line + b"\xff\xfe"), target),
        ("encodings", "UTF-16 file", b"\xff\xfe" + data.decode("ascii").encode("utf-16-le"), None),
        ("BOM", "BOM at the start", b"\xef\xbb\xbf" + data, None),
        ("BOM", "BOM inside", _replace_line(data, target, b"\xef\xbb\xbf" + line), target),
        ("CRLF", "CRLF endings", data.replace(b"\n", b"\r\n"), None),
        ("CRLF", "CR endings only", data.replace(b"\n", b"\r"), None),
        ("CRLF", "stray CR", _replace_line(data, target, line + b"\r\r"), target),
        ("NUL", "NUL in a line", _replace_line(data, target, line[:2] + b"\x00" + line[2:]), target),
        ("NUL", "file of NUL bytes", b"\x00" * 1000, None),
        ("binary", "random bytes", rng.randbytes(4096), None),
        ("binary", "long line", _replace_line(data, target, b"x" * (1 << 20)), target),
        ("empty", "empty file", b"", None),
        ("empty", "blank lines only", b"\n\n  \n", None),
        ("empty", "no final newline", data.rstrip(b"\n"), None),
    ]
    if netflix:
        headerless = b"\n".join(lines[1:])
        out += [
            ("headers", "first header missing", headerless, 1),
            ("headers", "header repeated", data + b"1:\n15,2,2005-01-01\n", None),
            ("headers", "header without colon", _replace_line(data, 4 if len(lines) > 4 else 1, b"2"), None),
            ("headers", "header with trailing space", _replace_line(data, 1, b"1: "), 1),
            ("headers", "header with letters", _replace_line(data, 1, b"M1:"), 1),
            ("headers", "headers only", b"1:\n2:\n", None),
            ("headers", "rating line ending in a colon", _replace_line(data, target, line[:-1] + b":"), target),
        ]
    elif reader.header:
        out += [
            ("headers", "header missing", b"\n".join(lines[1:]), 1),
            ("headers", "header repeated", data + reader.header + b"\n", len(lines)),
            ("headers", "header misspelled", data.replace(b"userId", b"userID", 1), 1),
            ("headers", "header only", reader.header + b"\n", None),
        ]
    else:
        out.append(("headers", "a header line added", b"user" + reader.sep + b"movie" + reader.sep + b"rating" + reader.sep + b"time\n" + data, 1))
    return out


def title_variants(reader: Reader) -> list[tuple[str, str, bytes, int | None]]:
    """Damaged title files (the ratings stay valid)."""
    data = reader.files[reader.titles_file]
    lines = data.split(b"\n")
    target = 2
    line = lines[target - 1]
    sep = {"movie_titles.csv": b",", "movies.csv": b",", "movies.dat": b"::", "u.item": b"|"}[reader.titles_file]
    first = line.split(sep)[0]
    out = [
        ("ids", "title id above int32", _replace_line(data, target, line.replace(first, b"99999999999", 1)), target),
        ("ids", "title id not a number", _replace_line(data, target, line.replace(first, b"x1", 1)), target),
        ("ids", "title id repeated", data + lines[-2] + b"\n", len(lines)),
        ("fields", "title line cut", _replace_line(data, target, line[:2]), target),
        ("encodings", "Latin-1 byte", _replace_line(data, target, line + b"\xe9"), None),
        ("encodings", "UTF-16 file", b"\xff\xfe" + data.decode("ascii").encode("utf-16-le"), None),
        ("BOM", "BOM at the start", b"\xef\xbb\xbf" + data, None),
        ("CRLF", "CRLF endings", data.replace(b"\n", b"\r\n"), None),
        ("NUL", "NUL in a line", _replace_line(data, target, line + b"\x00"), None),
        ("binary", "random bytes", random.Random(reader.name).randbytes(4096), None),
        ("binary", "long line", _replace_line(data, target, line + b"x" * (1 << 20)), None),
        ("empty", "empty file", b"", None),
    ]
    if reader.titles_file == "movie_titles.csv":
        out += [
            ("dates", "year 99999", _replace_line(data, target, b"2,99999,Two"), target),
            ("dates", "year not a number", _replace_line(data, target, b"2,19x5,Two"), target),
        ]
    if reader.titles_file == "movies.csv":
        out += [
            ("fields", "unbalanced quote", _replace_line(data, target, b'2,"American President, The (1995),Comedy'), target),
            ("fields", "extra field", _replace_line(data, target, line + b",x"), target),
            ("headers", "header missing", b"\n".join(lines[1:]), 1),
            ("ids", "links.csv id repeated", None, 3),
            ("ids", "links.csv id not a number", None, 2),
            ("empty", "links.csv empty", None, None),
        ]
    return out


@dataclass(frozen=True)
class Variant:
    """One damaged dataset: the reader, the file damaged, its new bytes (None: a folder)."""

    klass: str
    reader: str
    label: str
    path: str
    data: bytes | None
    line: int | None

    def __str__(self) -> str:
        return f"{self.reader}/{self.path}: {self.label}"


def _links_data(label: str) -> bytes:
    if "repeated" in label:
        return LATEST_LINKS + b"2,0112346,9088\n"
    if "not a number" in label:
        return LATEST_LINKS.replace(b"\n1,", b"\nx1,", 1)
    return b""


IO_ERROR = b"<a link to /proc/self/mem: reading it fails with EIO, even for root>"


def all_variants() -> list[Variant]:
    """Every variant of every reader, plus a folder and an unreadable file for each data file."""
    variants = []
    for reader in READERS.values():
        for klass, label, data, line in rating_variants(reader):
            variants.append(Variant(klass, reader.name, label, reader.ratings_file, data, line))
        for klass, label, data, line in title_variants(reader):
            path = reader.titles_file
            if label.startswith("links.csv"):
                path, data = "links.csv", _links_data(label)
            variants.append(Variant(klass, reader.name, label, path, data, line))
        for path in reader.files:
            variants.append(Variant("folder", reader.name, "a folder instead of the file", path, None, None))
            variants.append(Variant("permission", reader.name, "file not readable", path, b"\x00unreadable", None))
            variants.append(Variant("permission", reader.name, "read fails (I/O error)", path, IO_ERROR, None))
    return variants


VARIANTS = all_variants()


def write_dataset(folder: Path, reader: Reader, path: str | None = None, data: bytes | None = None) -> Path:
    """Write the reader's valid files to `folder`, `path` replaced by `data` (None: a folder)."""
    for name, content in reader.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name == path and data is None:
            target.mkdir()
        elif name == path and data == IO_ERROR:
            target.symlink_to("/proc/self/mem")
        else:
            target.write_bytes(data if name == path else content)
    if path is not None and path not in reader.files:
        (folder / path).write_bytes(data or b"")
    return folder


def check(variant: Variant, folder: Path, lenient: bool) -> str:
    """Load the damaged dataset; return 'error' or 'loaded' when all is well, else what went wrong."""
    reader = READERS[variant.reader]
    write_dataset(folder, reader, variant.path, variant.data)
    if variant.label == "file not readable":
        os.chmod(folder / variant.path, 0)
    try:
        dataset = load_dataset(f"{reader.kind}:{folder}", lenient=lenient)
    except DataError as error:
        message = str(error)
        name = Path(variant.path).name
        if "\n" in message or len(message) > 400:
            return f"error message of {len(message)} characters or several lines: {message[:200]!r}"
        if name not in message and variant.klass not in ("empty", "headers") and not (
            variant.klass == "binary" and variant.path == reader.ratings_file
        ):
            return f"error does not name {name}: {message!r}"
        if variant.line is not None and not lenient and variant.path == reader.ratings_file:
            if not re.search(rf"{re.escape(name)}:{variant.line}\b", message):
                return f"error does not name line {variant.line}: {message!r}"
        return "error"
    except Exception as error:  # noqa: BLE001 - the point: anything else is a finding
        return f"raw {type(error).__name__}: {str(error)[:150]!r}"
    expected = sum(
        rating_lines(reader, (folder / name).read_bytes())
        for name in reader.files
        if name == reader.ratings_file or (reader.kind == "netflix" and "mv_" in name)
    )
    loaded = len(dataset.ratings) + int(getattr(dataset, "repeated_ratings", 0))
    if loaded + dataset.skipped_lines != expected:
        return f"{loaded} loaded + {dataset.skipped_lines} skipped != {expected} rating lines"
    if reader.kind == "netflix":  # each rating under the movie the plain reading gives it
        truth: dict[tuple[int, int], tuple[int, str]] = {}
        for name in sorted(reader.files, key=lambda n: (not n.startswith("combined"), n)):
            if name == reader.ratings_file or "mv_" in name:
                for movie, user, stars, day in reference_parse((folder / name).read_bytes())[0]:
                    truth[(movie, user)] = (stars, day)  # a repeated pair keeps its last rating
        got = {(m, u): (s, d) for m, u, s, d in as_rows(dataset.ratings)}
        if got != truth:
            return f"ratings differ from the plain reading: {sorted(set(got.items()) ^ set(truth.items()))[:3]}"
    return "loaded"


as_root = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "lenient"])
@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_damaged_input_is_a_clear_error_or_a_counted_skip(tmp_path: Path, variant: Variant, lenient: bool) -> None:
    if variant.label == "file not readable" and as_root:
        pytest.skip("root reads files whatever their permissions (the I/O-error variant stands in)")
    assert check(variant, tmp_path, lenient) in ("error", "loaded")


@pytest.mark.parametrize("name", list(READERS))
def test_valid_datasets_load_every_rating(tmp_path: Path, name: str) -> None:
    reader = READERS[name]
    write_dataset(tmp_path, reader)
    dataset = load_dataset(f"{reader.kind}:{tmp_path}")
    lines = sum(rating_lines(reader, c) for n, c in reader.files.items() if n == reader.ratings_file or "mv_" in n)
    assert (len(dataset.ratings), dataset.skipped_lines) == (lines, 0)


def test_a_folder_in_place_of_a_ratings_file_is_named(tmp_path: Path) -> None:
    write_dataset(tmp_path, READERS["movielens latest"], "ratings.csv", None)
    with pytest.raises(DataError, match=r"ratings\.csv: is a folder"):
        load_dataset(f"movielens:{tmp_path}")


# Property-based: random lines (valid, damaged or junk) in random order, for every reader.
_JUNK = st.binary(max_size=30).filter(lambda b: b"\n" not in b and b"\r" not in b)


@st.composite
def damaged_ratings(draw: st.DrawFn, reader: Reader) -> bytes:
    valid = reader.files[reader.ratings_file].split(b"\n")
    pool = [line for line in valid if line] + [b"", b"7:", b"x:", b"1: "]
    lines = draw(st.lists(st.one_of(st.sampled_from(pool), _JUNK, st.sampled_from(pool).map(lambda line: line[: len(line) // 2])), max_size=12))
    if reader.header and draw(st.booleans()):
        lines = [reader.header, *lines]
    return b"\n".join(lines) + draw(st.sampled_from([b"", b"\n", b"\r\n"]))


@pytest.mark.parametrize("name", list(READERS))
def test_random_damage_is_a_clear_error_or_a_counted_skip(tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    reader = READERS[name]

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=damaged_ratings(reader), lenient=st.booleans())
    def run(data: bytes, lenient: bool) -> None:
        folder = tmp_path_factory.mktemp("random")
        variant = Variant("random", name, "random lines", reader.ratings_file, data, None)
        outcome = check(variant, folder, lenient)
        assert outcome in ("error", "loaded"), (outcome, data)

    run()


def tally(lenient_modes: tuple[bool, ...] = (False, True)) -> dict[str, list[int]]:
    """Per class: [cases tried, raw errors, other failures] over every variant and mode."""
    import tempfile

    table: dict[str, list[int]] = {}
    for variant in VARIANTS:
        if variant.label == "file not readable" and as_root:
            continue
        for lenient in lenient_modes:
            with tempfile.TemporaryDirectory() as folder:
                outcome = check(variant, Path(folder), lenient)
            row = table.setdefault(variant.klass, [0, 0, 0])
            row[0] += 1
            row[1] += outcome.startswith("raw")
            row[2] += outcome not in ("error", "loaded") and not outcome.startswith("raw")
            if outcome not in ("error", "loaded") and "-v" in sys.argv:
                print(f"{variant} ({'lenient' if lenient else 'strict'}): {outcome}")
    return table


if __name__ == "__main__":
    rows = tally()
    print("| class | tried | raw errors | silent or unclear |")
    print("|---|---|---|---|")
    for klass, (tried, raw, other) in sorted(rows.items()):
        print(f"| {klass} | {tried} | {raw} | {other} |")
    total = [sum(r[i] for r in rows.values()) for i in range(3)]
    print(f"| all | {total[0]} | {total[1]} | {total[2]} |")
