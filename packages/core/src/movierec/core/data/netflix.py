"""Netflix Prize files: `movie_titles.csv` and the `MovieID:` / `CustomerID,Rating,Date` ratings.

The ratings parser works on raw bytes with numpy, a bounded chunk at a time (chunks end at a line
boundary and the current movie carries over), and writes straight into preallocated columns, so a
combined_data file costs about its final table in memory. Lines that fail the vectorized checks
are diagnosed one by one in Python, only to name the problem.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.metadata import NETFLIX_LINKS, attach_netflix_links
from movierec.core.data.tables import Dataset, make_movies
from movierec.core.errors import DataError

TITLE_ENCODING = "ISO-8859-1"
CHUNK_BYTES = 1 << 19  # 512 KiB per vectorized step: temporaries stay small, cached and reused

_BOM = b"\xef\xbb\xbf"
_NEWLINE, _CR, _COLON, _ZERO = (ord(c) for c in "\n\r:0")
_MAX_ID_DIGITS = 9  # movie ids stay below 10**9, inside int32
_MAX_USER_DIGITS = 8  # one 8-byte word; Netflix customer ids stop at 2,649,429
_TAIL = 13  # ",R,YYYY-MM-DD": every rating line ends with these 13 bytes
_MIN_RATING_LINE = 14  # "1,1,2005-01-01": the shortest valid rating line
_FIRST_YEAR = 1990  # Netflix opened in 1997; an earlier date is a corrupt field
# Days since 1970-01-01 of the first of each month, and month lengths, from 1990-01 to 9999-12.
_MONTHS = np.arange("1990-01", "10000-01", dtype="datetime64[M]")
_MONTH_START = _MONTHS.astype("datetime64[D]").astype(np.int64).astype(np.int32)
_MONTH_DAYS = np.diff(
    np.append(_MONTHS, np.datetime64("10000-01", "M")).astype("datetime64[D]").astype(np.int64)
).astype(np.int8)
_SECONDS_PER_DAY = 86_400


def read_movie_titles(path: str | Path) -> pd.DataFrame:
    """Read `MovieID,YearOfRelease,Title` (no header, Latin-1); titles may contain commas."""
    path = Path(path)
    ids: list[int] = []
    years: list[int | None] = []
    titles: list[str] = []
    with open(path, encoding=TITLE_ENCODING, newline="") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if number == 1:
                line = line.lstrip("\ufeff\u00ef\u00bb\u00bf")
            if not line.strip():
                continue
            parts = line.split(",", 2)  # the title is everything after the second comma
            if len(parts) != 3:
                raise DataError(
                    f"{path}:{number}: expected 'MovieID,YearOfRelease,Title', got {line!r}"
                )
            movie, year, title = parts
            try:
                ids.append(int(movie))
            except ValueError:
                raise DataError(f"{path}:{number}: movie id {movie!r} is not an integer") from None
            year = year.strip()
            if year in ("NULL", ""):
                years.append(None)
            else:
                try:
                    years.append(int(year))
                except ValueError:
                    raise DataError(
                        f"{path}:{number}: year {year!r} is not an integer or NULL"
                    ) from None
            titles.append(title)
    movies = make_movies(ids, titles, years)
    duplicated = movies["movie"].duplicated()
    if duplicated.any():
        first = int(movies.loc[duplicated, "movie"].iloc[0])
        raise DataError(f"{path}: movie id {first} appears more than once")
    return movies


@dataclass
class ParsedRatings:
    """Ratings read from one file, with the number of lines skipped in lenient mode."""

    ratings: pd.DataFrame
    skipped_lines: int
    movies: np.ndarray  # the movie ids whose header appeared in the file


class RatingColumns:
    """Canonical rating columns, sized for the worst case, that several files are parsed into.

    The capacity is an upper bound (one rating per 14 bytes of text). The columns live in
    anonymous memory maps: pages never written are never backed, so the spare capacity costs
    address space only and the finished table is a view of the written part, not a copy.
    (numpy's own large arrays ask for transparent huge pages, whose compaction costs more system
    time than the writes themselves here.)
    """

    def __init__(self, n_bytes: int) -> None:
        self.capacity = n_bytes // _MIN_RATING_LINE + 1
        self.user = _mapped(self.capacity, np.int32)
        self.movie = _mapped(self.capacity, np.int32)
        self.rating = _mapped(self.capacity, np.float32)
        self.date = _mapped(self.capacity, np.dtype("datetime64[s]"))
        self.size = 0

    def append(self, user: np.ndarray, movie: np.ndarray, rating: np.ndarray, day: np.ndarray) -> None:
        """Copy one parsed chunk in (day: days since 1970-01-01)."""
        stop = self.size + len(user)
        self.user[self.size : stop] = user
        self.movie[self.size : stop] = movie
        self.rating[self.size : stop] = rating
        seconds = self.date[self.size : stop].view(np.int64)
        np.multiply(day, _SECONDS_PER_DAY, out=seconds, casting="unsafe")
        self.size = stop

    def to_frame(self) -> pd.DataFrame:
        """The ratings table: views of the written rows, no copy."""
        columns = {name: getattr(self, name)[: self.size] for name in ("user", "movie", "rating", "date")}
        return pd.DataFrame(columns, copy=False)


def _mapped(length: int, dtype: np.dtype | type) -> np.ndarray:
    """A writable array of `length` items in an anonymous memory map, backed only once written."""
    itemsize = np.dtype(dtype).itemsize
    return np.frombuffer(mmap.mmap(-1, max(length, 1) * itemsize), dtype=dtype, count=length)


def read_netflix_ratings(path: str | Path, lenient: bool = False) -> ParsedRatings:
    """Parse one ratings file (combined_data_N.txt or mv_NNNNNNN.txt) into a ratings table.

    A malformed line raises DataError naming file and line; with lenient=True it is skipped
    and counted instead. Blank lines carry no rating and are ignored; a byte-order mark at the
    start of the file and CRLF line endings are accepted.
    """
    path = Path(path)
    columns = RatingColumns(_file_size(path))
    skipped, headers = parse_ratings_into(path, columns, lenient=lenient)
    return ParsedRatings(columns.to_frame(), skipped, headers)


def parse_ratings_into(
    path: Path, columns: RatingColumns, lenient: bool = False, chunk_bytes: int = CHUNK_BYTES
) -> tuple[int, np.ndarray]:
    """Append a ratings file's ratings to `columns`; return (lines skipped, movie ids of headers)."""
    skipped = 0
    headers: list[np.ndarray] = []
    movie = -1  # no header yet
    lines_before = 0
    # One reusable buffer: padding newlines, then whole lines, then an unfinished line held over.
    buffer = bytearray(b"\n" * _PAD + bytes(chunk_bytes + 1))
    held = 0
    with open(path, "rb") as handle:
        while True:
            if _PAD + held + 1 >= len(buffer):  # a line longer than the buffer
                buffer.extend(bytes(len(buffer)))
            with memoryview(buffer) as view:
                got = handle.readinto(view[_PAD + held : len(buffer) - 1])
            if lines_before == 0 and held == 0 and buffer.startswith(_BOM, _PAD):
                buffer[_PAD : _PAD + got] = buffer[_PAD + len(_BOM) : _PAD + got] + _BOM
                got -= len(_BOM)
            end = _PAD + held + got
            if got:
                cut = buffer.rfind(b"\n", _PAD, end) + 1
                if cut == 0:
                    held += got
                    continue
            elif held:  # the last line, without its newline
                buffer[end] = _NEWLINE
                cut = end = end + 1
            else:
                break
            chunk = _parse_chunk(buffer, cut, movie)
            if len(chunk.bad_lines):
                if not lenient:
                    line = int(chunk.bad_lines[0])
                    raise DataError(f"{path}:{lines_before + line + 1}: {chunk.problem(line)}")
                skipped += len(chunk.bad_lines)
            columns.append(chunk.user, chunk.movie, chunk.rating, chunk.day)
            headers.append(chunk.headers)
            movie = chunk.last_movie
            lines_before += chunk.n_lines
            del chunk
            held = end - cut
            buffer[_PAD : _PAD + held] = buffer[cut:end]
    return skipped, np.concatenate(headers) if headers else np.empty(0, dtype=np.int32)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{path}: ratings file not found") from None


@dataclass
class _Chunk:
    """What one block of whole lines holds: valid ratings, header ids and bad line numbers."""

    buf: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    line_movie: np.ndarray  # the movie in force at each line (-1: none)
    user: np.ndarray
    movie: np.ndarray
    rating: np.ndarray
    day: np.ndarray
    headers: np.ndarray
    bad_lines: np.ndarray
    last_movie: int
    n_lines: int

    def problem(self, line: int) -> str:
        """Why line `line` (0-based in this chunk) was rejected."""
        raw = self.buf[self.starts[line] : self.ends[line]].tobytes()
        return describe_bad_line(raw, int(self.line_movie[line]))


_PAD = _MAX_USER_DIGITS + _TAIL  # newlines before the text, so every line has full windows


def _bytes_mask(*positions: int, value: int = 0xFF) -> np.uint64:
    """A little-endian word with `value` in the given byte positions."""
    return np.uint64(sum(value << (8 * p) for p in positions))


def _pattern(text: bytes) -> np.uint64:
    return np.uint64(int.from_bytes(text, "little"))


_LOW_NIBBLES = _bytes_mask(*range(8), value=0x0F)
_HIGH_NIBBLES = _bytes_mask(*range(8), value=0xF0)
_DIGIT_HIGH = _bytes_mask(*range(8), value=0x30)
_SIX = _bytes_mask(*range(8), value=0x06)
_CARRY = _bytes_mask(*range(8), value=0x10)
# Customer-id bytes kept for a field of length n: the last n bytes of the word before the tail.
_USER_KEEP = np.array(
    [_bytes_mask(*range(8 - n, 8)) for n in range(9)] + [0] * 7, dtype=np.uint64
)
# ",R,YYYY-": commas at 0 and 2, year digits at 3-6, dash at 7 (the rating is checked apart).
# Punctuation bytes must match exactly; digit bytes must have high nibble 3 and low nibble <= 9.
_HEAD_EXPECT = _pattern(b",\x00,0000-")
_HEAD_SHAPE = _bytes_mask(0, 2, 7) | _bytes_mask(3, 4, 5, 6, value=0xF0)
_HEAD_LOW = _bytes_mask(3, 4, 5, 6, value=0x0F)
# "YY-MM-DD": the last 8 bytes of every rating line.
_DATE_EXPECT = _pattern(b"00-00-00")
_DATE_SHAPE = _bytes_mask(2, 5) | _bytes_mask(0, 1, 3, 4, 6, 7, value=0xF0)
_DATE_LOW = _bytes_mask(0, 1, 3, 4, 6, 7, value=0x0F)
_MONTH_DAY_NIBBLES = _bytes_mask(0, 1, 3, 4, value=0x0F)  # of the date word shifted by 3 bytes
_U = np.uint64


def _non_digits(words: np.ndarray) -> np.ndarray:
    """Per byte: zero where the byte is an ASCII digit, non-zero elsewhere."""
    high = (words & _HIGH_NIBBLES) ^ _DIGIT_HIGH
    return high | (((words & _LOW_NIBBLES) + _SIX) & _CARRY)  # low nibble above 9 carries


def _digits_value(words: np.ndarray) -> np.ndarray:
    """The decimal number in a word of digit values 0-9, first byte most significant."""
    words = (words * _U(10) + (words >> _U(8))) & _bytes_mask(0, 2, 4, 6)
    words = (words * _U(100) + (words >> _U(16))) & _U(0x0000FFFF0000FFFF)
    return (words * _U(10000) + (words >> _U(32))) & _U(0xFFFFFFFF)


def _parse_chunk(buffer: bytearray, stop: int, movie: int) -> _Chunk:
    """Vectorized parse of the whole lines in buffer[_PAD:stop]; `movie` is the header in force
    before the first of them.

    Every line is read through three unaligned 8-byte words ending at its last byte: the
    customer id (right-aligned, at most 8 digits), ",R,YYYY-" and "YY-MM-DD", and checked with
    byte-parallel masks. Header and blank lines go through the same steps and are masked out
    afterwards, which is cheaper than selecting the rating lines first.
    """
    buf = np.frombuffer(buffer, dtype=np.uint8, count=stop)  # _PAD newlines, then whole lines
    ends = np.flatnonzero(buf[_PAD:] == _NEWLINE) + _PAD
    starts = np.empty_like(ends)
    starts[0] = _PAD
    starts[1:] = ends[:-1] + 1
    last = buf[ends - 1]
    crlf = (last == _CR) & (ends > starts)
    if crlf.any():  # CRLF: the CR is no part of the line
        ends -= crlf
        last = buf[ends - 1]
    lengths = ends - starts
    nonblank = lengths > 0
    is_header = nonblank & (last == _COLON)

    header_lines = np.flatnonzero(is_header)
    header_movies = np.array(  # few per chunk: plain Python is cheaper than vector set-up
        [
            _movie_id(buffer[begin : stop - 1])
            for begin, stop in zip(starts[header_lines].tolist(), ends[header_lines].tolist())
        ],
        dtype=np.int32,
    )
    header_ok = header_movies >= 0
    # Each line's movie is the last header at or before it (or the one carried in).
    segment = np.diff(np.concatenate(([0], header_lines, [len(ends)])))
    line_movie = np.repeat(np.concatenate(([movie], header_movies)).astype(np.int32), segment)

    # One gather of each line's last 21 bytes, read as three overlapping unaligned words.
    windows = np.ndarray((len(buf) - _PAD + 1,), dtype=f"V{_PAD}", buffer=buf, strides=(1,))
    window = windows[ends - _PAD]
    user_word, head_word, date_word = (
        np.ndarray((len(ends),), dtype="<u8", buffer=window, offset=offset, strides=(_PAD,))
        for offset in (0, _PAD - _TAIL, _PAD - 8)
    )
    user_length = lengths - _TAIL
    keep = _USER_KEEP[user_length & 15]  # lengths outside 1-8 fail below whatever they keep
    problems = _non_digits(user_word) & keep
    problems |= ((head_word ^ _HEAD_EXPECT) & _HEAD_SHAPE) | ((date_word ^ _DATE_EXPECT) & _DATE_SHAPE)
    problems |= (((head_word & _HEAD_LOW) + _SIX) | ((date_word & _DATE_LOW) + _SIX)) & _CARRY
    stars = (head_word >> _U(8)).astype(np.uint8) - np.uint8(ord("1"))
    ok = (problems == 0) & (stars <= 4) & (user_length >= 1) & (user_length <= _MAX_USER_DIGITS)
    ok &= (line_movie >= 0) & ~is_header

    year = ((head_word >> _U(24)).astype(np.uint32)) & np.uint32(0x0F0F0F0F)  # Y1 Y2 Y3 Y4
    year = (year * np.uint32(10) + (year >> np.uint32(8))) & np.uint32(0x00FF00FF)
    year = ((year * np.uint32(100) + (year >> np.uint32(16))) & np.uint32(0xFFFF)).view(np.int32)
    # "MM-DD" as M1 M2 - D1 D2: one multiply-add turns digit pairs into numbers.
    month_day = (date_word >> _U(24)) & _MONTH_DAY_NIBBLES
    month_day = month_day * _U(10) + (month_day >> _U(8))
    month = (month_day & _U(0xFF)).astype(np.int32)
    day_of_month = ((month_day >> _U(24)) & _U(0xFF)).astype(np.int32)
    ok &= (year >= _FIRST_YEAR) & (month >= 1) & (month <= 12)
    month_index = ((year - _FIRST_YEAR) * 12 + month - 1) * ok
    ok &= (day_of_month >= 1) & (day_of_month <= _MONTH_DAYS[month_index])

    bad = np.flatnonzero(nonblank & ~is_header & ~ok)
    if not header_ok.all():
        bad = np.sort(np.concatenate((header_lines[~header_ok], bad)))
    user = _digits_value(user_word[ok] & _LOW_NIBBLES & keep[ok]).astype(np.int32)
    return _Chunk(
        buf=buf,
        starts=starts,
        ends=ends,
        line_movie=line_movie,
        user=user,
        movie=line_movie[ok],
        rating=stars[ok] + np.float32(1),
        day=_MONTH_START[month_index[ok]] + day_of_month[ok] - 1,
        headers=header_movies[header_ok],
        bad_lines=bad,
        last_movie=int(line_movie[-1]),
        n_lines=len(ends),
    )


def _movie_id(text: bytes | bytearray) -> int:
    """The id of a 'MovieID:' header without its colon, or -1 when it is not 1-9 digits."""
    if 1 <= len(text) <= _MAX_ID_DIGITS and text.isdigit():
        return int(text)
    return -1


def describe_bad_line(raw: bytes, movie: int) -> str:
    """Name what is wrong with one ratings-file line, its CRLF ending removed.

    `movie` is the header in force at that line, -1 if none.
    """
    line = raw
    shown = line.decode("latin-1")
    if _BOM in line:
        return f"stray byte-order mark in {shown!r}"
    if b"\r" in line:
        return f"stray carriage return in {shown!r}"
    if line.endswith(b":"):
        return f"movie header {shown!r} is not 'MovieID:' with an id of 1-{_MAX_ID_DIGITS} digits"
    if movie < 0:
        return f"rating line {shown!r} before any valid 'MovieID:' header"
    fields = line.split(b",")
    if len(fields) != 3:
        return f"expected 'CustomerID,Rating,Date' (3 fields), got {len(fields)} in {shown!r}"
    user, rating, date = (f.decode("latin-1") for f in fields)
    if not (user.isascii() and user.isdigit() and 1 <= len(user) <= _MAX_USER_DIGITS):
        return f"customer id {user!r} is not an integer of 1-{_MAX_USER_DIGITS} digits"
    if rating not in ("1", "2", "3", "4", "5"):
        return f"rating {rating!r} is not 1-5"
    try:
        valid = len(date) == 10 and np.datetime64(date, "D") >= np.datetime64(f"{_FIRST_YEAR}-01-01")
    except ValueError:
        valid = False
    if not valid:
        return f"date {date!r} is not a YYYY-MM-DD day from {_FIRST_YEAR} on"
    return f"malformed line {shown!r}"



def load_netflix(
    directory: str | Path, spec: str, lenient: bool = False, links: str | Path | None = None
) -> Dataset:
    """Load a Netflix Prize directory in the Kaggle or the original layout, or both.

    Kaggle's combined_data_*.txt files are read first; a training_set/mv_NNNNNNN.txt file is
    read only when no combined file holds its movie, so each rating counts once. Titles come
    from movie_titles.csv (or .txt). TMDB/IMDb ids come from `links`, by default the
    netflix_imdb_tmdb.csv inside the directory when present.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: Netflix directory not found")
    combined = sorted(directory.glob("combined_data_*.txt"), key=_natural_key)
    per_movie = _per_movie_files(directory / "training_set")
    titles_path = next(
        (p for p in (directory / "movie_titles.csv", directory / "movie_titles.txt") if p.exists()),
        None,
    )
    if not combined and not per_movie and titles_path is None:
        raise DataError(
            f"{directory}: no Netflix Prize files (expected combined_data_*.txt or "
            "training_set/mv_*.txt, and movie_titles.csv or movie_titles.txt)"
        )
    notes: list[str] = []
    columns = RatingColumns(sum(p.stat().st_size for p in [*combined, *per_movie.values()]))
    skipped = 0
    source_of: dict[int, Path] = {}
    for path in combined:
        lines, headers = parse_ratings_into(path, columns, lenient=lenient)
        skipped += lines
        for movie in headers.tolist():
            if source_of.setdefault(movie, path) != path:
                raise DataError(
                    f"movie {movie} appears in both {source_of[movie]} and {path}; "
                    "remove the file that repeats it so no rating counts twice"
                )
    covered = [m for m in per_movie if m in source_of]
    for movie, path in per_movie.items():
        if movie in source_of:
            continue
        lines, headers = parse_ratings_into(path, columns, lenient=lenient)
        skipped += lines
        strangers = sorted(set(headers.tolist()) - {movie})
        if strangers:
            raise DataError(f"{path}: holds movie {strangers[0]}, expected only movie {movie}")
    if combined and per_movie:
        notes.append(
            f"both layouts present: read {len(combined)} combined_data file(s) and "
            f"{len(per_movie) - len(covered)} training_set file(s); skipped {len(covered)} "
            "training_set/mv_*.txt file(s) whose movies the combined files hold, "
            "so no rating counts twice"
        )
    ratings = columns.to_frame()
    if titles_path is not None:
        movies = read_movie_titles(titles_path)
    else:
        ids = np.unique(ratings["movie"].to_numpy())
        movies = make_movies(ids, [f"movie {i}" for i in ids])
        notes.append("no movie_titles file: titles are 'movie <id>'")
    untitled = np.setdiff1d(np.unique(ratings["movie"].to_numpy()), movies["movie"].to_numpy())
    if len(untitled):
        notes.append(f"{len(untitled)} rated movie(s) have no title, e.g. movie {untitled[0]}")
    links_path = Path(links) if links is not None else directory / NETFLIX_LINKS
    if links is not None or links_path.exists():
        movies, linked = attach_netflix_links(movies, links_path)
        notes.append(f"{links_path.name}: TMDB/IMDb ids for {linked} of {len(movies)} titles")
    if skipped:
        notes.append(f"{skipped} malformed rating line(s) skipped (lenient mode)")
    return Dataset(spec=spec, ratings=ratings, movies=movies, skipped_lines=skipped, notes=notes)


def _per_movie_files(folder: Path) -> dict[int, Path]:
    files: dict[int, Path] = {}
    for path in sorted(folder.glob("mv_*.txt")):
        number = path.stem[3:]
        if not number.isdigit():
            raise DataError(f"{path}: expected a per-movie file name like mv_0000001.txt")
        files[int(number)] = path
    return files


def _natural_key(path: Path) -> tuple[int, str]:
    """combined_data_2 before combined_data_10; names without a number last."""
    digits = "".join(ch for ch in path.stem if ch.isdigit())
    return (int(digits) if digits else 1 << 30, path.name)
