"""Netflix Prize files: `movie_titles.csv` and the `MovieID:` / `CustomerID,Rating,Date` ratings.

The ratings parser works on raw bytes with numpy, 256 KiB at a time (chunks end at a line
boundary; worker threads parse them and the movie carried across a boundary is settled in file
order), and writes straight into preallocated columns, so a combined_data file costs about its
final table in memory: 20 bytes a rating. Lines that fail the vectorized checks are diagnosed one
by one in Python, only to name the problem. docs/benchmarks/loading.md has the figures.
"""

from __future__ import annotations

import mmap
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.tables import make_movies
from movierec.core.errors import DataError

TITLE_ENCODING = "ISO-8859-1"
WORKERS = min(4, os.cpu_count() or 1)  # threads parsing chunks of one large file
CHUNK_BYTES = 1 << 18  # 256 KiB per step: temporaries stay under the allocator's mmap threshold

_BOM = b"\xef\xbb\xbf"
_NEWLINE, _CR, _COLON = (ord(c) for c in "\n\r:")
_MAX_ID_DIGITS = 9  # movie ids stay below 10**9, inside int32
_MAX_USER_DIGITS = 8  # one 8-byte word; Netflix customer ids stop at 2,649,429
_TAIL = 13  # ",R,YYYY-MM-DD": every rating line ends with these 13 bytes
_MIN_RATING_LINE = 14  # "1,1,2005-01-01": the shortest valid rating line
_FIRST_YEAR = 1990  # Netflix opened in 1997; an earlier date is a corrupt field
_INVALID = np.int32(-(1 << 30))  # far below any valid day number, so a sum with it stays negative


def _date_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup tables for dates read as (year, month << 8 | day).

    Indices reach 165 * 100 + 165 for years and 165 << 8 | 165 for month-days, the most that two
    nibbles per digit can give, so a garbled line indexes safely and is rejected by its value.
    """
    years = np.arange(_FIRST_YEAR, 10_000)
    year_start = np.full(16_666, _INVALID, dtype=np.int32)
    year_start[years] = years.astype("U4").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int32)
    leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    leap_offset = np.zeros(16_666, dtype=np.int64)
    leap_offset[years[leap]] = 1 << 16
    day_of_year = np.full(2 << 16, _INVALID, dtype=np.int32)
    for is_leap, year in ((0, "2001"), (1, "2000")):
        days = np.arange(f"{year}-01-01", f"{int(year) + 1}-01-01", dtype="datetime64[D]")
        month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        day = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
        day_of_year[(is_leap << 16) | (month << 8) | day] = np.arange(len(days))
    return year_start, leap_offset, day_of_year


_YEAR_START, _LEAP_OFFSET, _DAY_OF_YEAR = _date_tables()
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
    path: Path,
    columns: RatingColumns,
    lenient: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
    workers: int | None = None,
) -> tuple[int, np.ndarray]:
    """Append a ratings file's ratings to `columns`; return (lines skipped, movie ids of headers).

    Chunks are parsed by `workers` threads (numpy releases the GIL in its loops), then taken
    in file order: the movie carried into a chunk is settled then, so results do not depend
    on the threads.
    """
    size = _file_size(path)
    chunk_bytes = max(1, min(chunk_bytes, size))  # a per-movie file gets a small buffer
    workers = WORKERS if workers is None else workers
    blocks = _read_blocks(path, chunk_bytes)
    if workers > 1 and size > 2 * chunk_bytes:
        with ThreadPoolExecutor(workers) as pool:
            return _take_in_order(path, _parsed_in_order(pool, blocks, 2 * workers), columns, lenient)
    return _take_in_order(path, (_parse_chunk(*block) for block in blocks), columns, lenient)


def _read_blocks(path: Path, chunk_bytes: int) -> Iterator[tuple[bytearray, int]]:
    """Yield (buffer, stop): _PAD newlines, then whole lines up to stop; a BOM at the start goes."""
    held = b""  # an unfinished line carried to the next block
    first = True
    with open(path, "rb") as handle:
        while True:
            buffer = bytearray(_PAD + len(held) + chunk_bytes + 1)
            buffer[:_PAD] = b"\n" * _PAD
            buffer[_PAD : _PAD + len(held)] = held
            with memoryview(buffer) as view:
                got = handle.readinto(view[_PAD + len(held) : -1])
            if first and buffer.startswith(_BOM, _PAD):
                del buffer[_PAD : _PAD + len(_BOM)]
                got -= len(_BOM)
            first = False
            end = _PAD + len(held) + got
            if got:
                cut = buffer.rfind(b"\n", _PAD, end) + 1
                if cut == 0:  # one line longer than a chunk: keep reading until it ends
                    held = bytes(buffer[_PAD:end])
                    continue
            elif held:  # the last line, without its newline
                buffer[end] = _NEWLINE
                cut = end = end + 1
            else:
                return
            held = bytes(buffer[cut:end])
            yield buffer, cut


def _parsed_in_order(
    pool: ThreadPoolExecutor, blocks: Iterator[tuple[bytearray, int]], depth: int
) -> Iterator[_Chunk]:
    """Parse blocks on the pool, at most `depth` ahead, yielding results in file order."""
    pending: deque[Future[_Chunk]] = deque()
    for block in blocks:
        pending.append(pool.submit(_parse_chunk, *block))
        if len(pending) >= depth:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _take_in_order(
    path: Path, chunks: Iterable[_Chunk], columns: RatingColumns, lenient: bool
) -> tuple[int, np.ndarray]:
    skipped = 0
    headers: list[np.ndarray] = []
    movie = -1  # no header yet
    lines_before = 0
    for chunk in chunks:
        chunk.settle(movie)
        if len(chunk.bad_lines):
            if not lenient:
                line = int(chunk.bad_lines[0])
                raise DataError(f"{path}:{lines_before + line + 1}: {chunk.problem(line)}")
            skipped += len(chunk.bad_lines)
        columns.append(chunk.user, chunk.movie, chunk.rating, chunk.day)
        headers.append(chunk.headers)
        movie = chunk.last_movie
        lines_before += chunk.n_lines
    return skipped, np.concatenate(headers) if headers else np.empty(0, dtype=np.int32)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{path}: ratings file not found") from None


_CARRIED = -2  # movie of the lines before a chunk's first header: settled in file order


@dataclass
class _Chunk:
    """What one block of whole lines holds: valid ratings, header ids and bad line numbers."""

    buf: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    line_movie: np.ndarray  # the movie in force at each line (-1: none, _CARRIED: see settle)
    ok: np.ndarray
    user: np.ndarray
    movie: np.ndarray
    rating: np.ndarray
    day: np.ndarray
    headers: np.ndarray
    bad_lines: np.ndarray
    last_movie: int
    n_lines: int
    first_header: int  # line of the first header, n_lines if none
    carried_ok: int  # valid rating lines before it: the first entries of the outputs
    carried: int = _CARRIED

    def settle(self, movie: int) -> None:
        """Give the lines before the first header the movie in force at the chunk's start."""
        self.carried = movie
        if self.last_movie == _CARRIED:
            self.last_movie = movie
        if not self.carried_ok:
            return
        if movie >= 0:
            self.movie[: self.carried_ok] = movie
            return
        # No valid header yet: those lines are malformed after all.
        early = np.flatnonzero(self.ok[: self.first_header])
        self.bad_lines = np.sort(np.concatenate((early, self.bad_lines)))
        keep = slice(self.carried_ok, None)
        self.user, self.movie = self.user[keep], self.movie[keep]
        self.rating, self.day = self.rating[keep], self.day[keep]

    def problem(self, line: int) -> str:
        """Why line `line` (0-based in this chunk) was rejected."""
        raw = self.buf[self.starts[line] : self.ends[line]].tobytes()
        movie = int(self.line_movie[line])
        return describe_bad_line(raw, self.carried if movie == _CARRIED else movie)


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


def _parse_chunk(buffer: bytearray, stop: int) -> _Chunk:
    """Vectorized parse of the whole lines in buffer[_PAD:stop].

    Every line is read through three unaligned 8-byte words ending at its last byte: the
    customer id (right-aligned, at most 8 digits), ",R,YYYY-" and "YY-MM-DD", and checked with
    byte-parallel masks. Header and blank lines go through the same steps and are masked out
    afterwards, which is cheaper than selecting the rating lines first.
    """
    buf = np.frombuffer(buffer, dtype=np.uint8, count=stop)  # _PAD newlines, then whole lines
    newlines = np.flatnonzero(buf == _NEWLINE)
    ends = newlines[_PAD:]
    starts = newlines[_PAD - 1 : -1] + 1
    if buffer.find(b"\r", _PAD, stop) >= 0:  # CRLF: the CR is no part of the line
        ends = ends - ((buf[ends - 1] == _CR) & (ends > starts))
    lengths = ends - starts
    nonblank = lengths > 0

    # One gather of each line's last 21 bytes, read as three overlapping unaligned words.
    windows = np.ndarray((len(buf) - _PAD + 1,), dtype=f"V{_PAD}", buffer=buf, strides=(1,))
    window = windows[ends - _PAD]
    user_word, head_word, date_word = (  # contiguous copies: every later step reads them faster
        np.ndarray((len(ends),), dtype="<u8", buffer=window, offset=offset, strides=(_PAD,)).copy()
        for offset in (0, _PAD - _TAIL, _PAD - 8)
    )
    # A blank line's last byte is the newline before it, so only real headers end in ':'.
    is_header = (date_word >> _U(56)) == _COLON

    header_lines = np.flatnonzero(is_header)
    header_movies = np.array(  # few per chunk: plain Python is cheaper than vector set-up
        [
            _movie_id(buffer[begin : end - 1])
            for begin, end in zip(starts[header_lines].tolist(), ends[header_lines].tolist())
        ],
        dtype=np.int32,
    )
    header_ok = header_movies >= 0
    # Each line's movie is the last header at or before it (or the one carried in).
    segment = np.diff(np.concatenate(([0], header_lines, [len(ends)])))
    line_movie = np.repeat(np.concatenate(([_CARRIED], header_movies)).astype(np.int32), segment)

    user_length = lengths - _TAIL
    keep = _USER_KEEP[user_length & 15]  # lengths outside 1-8 fail below whatever they keep
    problems = _non_digits(user_word) & keep
    problems |= ((head_word ^ _HEAD_EXPECT) & _HEAD_SHAPE) | ((date_word ^ _DATE_EXPECT) & _DATE_SHAPE)
    problems |= (((head_word & _HEAD_LOW) + _SIX) | ((date_word & _DATE_LOW) + _SIX)) & _CARRY
    stars = (head_word >> _U(8)).astype(np.uint8) - np.uint8(ord("1"))

    # Digit pairs to numbers in one multiply-add: "YY-MM-DD" gives year % 100, month and day.
    pairs = date_word & _DATE_LOW
    pairs = pairs * _U(10) + (pairs >> _U(8))
    century = (head_word >> _U(24)) & _U(0x0F0F)
    century = (century * _U(10) + (century >> _U(8))) & _U(0xFF)
    year = (century * _U(100) + (pairs & _U(0xFF))).view(np.int64)  # signed: no index cast
    month_day = (((pairs >> _U(16)) & _U(0xFF00)) | ((pairs >> _U(48)) & _U(0xFF))).view(np.int64)
    day = _YEAR_START[year] + _DAY_OF_YEAR[_LEAP_OFFSET[year] + month_day]

    # Header and blank lines fail these checks too (too short, or no digit at the end).
    ok = (problems == 0) & (stars <= 4) & (day >= 0)
    if not header_ok.all():  # lines under a malformed header
        ok &= line_movie != -1
    ok &= (user_length >= 1) & (user_length <= _MAX_USER_DIGITS)
    n_ok = int(np.count_nonzero(ok))
    n_bad = len(ends) - n_ok - len(header_lines) - (len(ends) - int(np.count_nonzero(nonblank)))
    bad = np.flatnonzero(nonblank & ~is_header & ~ok) if n_bad else np.empty(0, dtype=np.intp)
    if not header_ok.all():
        bad = np.sort(np.concatenate((header_lines[~header_ok], bad)))
    user = _digits_value(user_word[ok] & _LOW_NIBBLES & keep[ok]).astype(np.int32)
    first_header = int(header_lines[0]) if len(header_lines) else len(ends)
    return _Chunk(
        buf=buf,
        starts=starts,
        ends=ends,
        line_movie=line_movie,
        ok=ok,
        user=user,
        movie=line_movie[ok],
        rating=stars[ok] + np.float32(1),
        day=day[ok],
        headers=header_movies[header_ok],
        bad_lines=bad,
        last_movie=int(line_movie[-1]),
        n_lines=len(ends),
        first_header=first_header,
        carried_ok=int(np.count_nonzero(ok[:first_header])),
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
    shown = line[:80].decode("latin-1") + ("..." if len(line) > 80 else "")  # a binary file has long lines
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
