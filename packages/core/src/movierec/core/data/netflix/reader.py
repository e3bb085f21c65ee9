"""Netflix Prize files: `movie_titles.csv` and the `MovieID:` / `CustomerID,Rating,Date` ratings.

The ratings parser reads a file 256 KiB at a time (a block ends at a line boundary), parses
blocks on worker threads with numpy (`block.parse_block`: every line checked and
converted at once, no line split in Python), then takes them in file order, settling the movie
carried across each block boundary, and writes straight into preallocated columns: a
combined_data file costs about its final table in memory, 20 bytes a rating. Lines that fail
the vectorized checks are diagnosed one by one, only to name the problem.
docs/benchmarks/loading.md has the figures.

Rules, the same in strict and lenient mode (lenient skips and counts what strict reports):
- a line with no comma is a movie header; `MovieID:` (1-9 digits) is valid, anything else
  (`2`, `2: `, `X:`) is a damaged header, and the rating lines under it, up to the next valid
  header, are skipped with it rather than given to the movie before;
- a line with a comma is a rating line, `CustomerID,Rating,Date`; a bad one is skipped alone;
- blank lines (or only spaces) carry nothing; a BOM at the start and CRLF endings are accepted;
- a header repeated within a file merges its ratings (`ParsedRatings.repeated_headers`).
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

from movierec.core.data.files import check_regular_file, reading
from movierec.core.data.netflix.block import (
    DEFAULT_LAYOUT,
    MAX_MOVIE_DIGITS,
    UNSETTLED,
    LineLayout,
    ParsedBlock,
    describe_bad_line,
    movie_id,
    parse_block,
)
from movierec.core.data.tables import make_movies
from movierec.core.errors import DataError, excerpt

TITLE_ENCODING = "ISO-8859-1"
WORKERS = min(4, os.cpu_count() or 1)  # threads parsing blocks of one large file
CHUNK_BYTES = 1 << 18  # 256 KiB per block: temporaries stay under the allocator's mmap threshold
_BOM = b"\xef\xbb\xbf"
_SECONDS_PER_DAY = 86_400
_YEARS = (1000, 9999)  # a release year has four digits


def read_movie_titles(path: str | Path) -> pd.DataFrame:
    """Read `MovieID,YearOfRelease,Title` (no header, Latin-1); titles may contain commas."""
    path = Path(path)
    ids: list[int] = []
    years: list[int | None] = []
    titles: list[str] = []
    first_line: dict[int, int] = {}
    check_regular_file(path, "titles file")
    with reading(path), open(path, encoding=TITLE_ENCODING, newline="") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if number == 1:
                line = line.lstrip("\ufeff\u00ef\u00bb\u00bf")
            if not line.strip():
                continue
            parts = line.split(",", 2)  # the title is everything after the second comma
            if len(parts) != 3:
                raise DataError(f"{path}:{number}: expected 'MovieID,YearOfRelease,Title', got {excerpt(line)}")
            movie, year, title = parts
            if not (movie.isascii() and movie.isdigit() and len(movie) <= MAX_MOVIE_DIGITS):
                raise DataError(
                    f"{path}:{number}: movie id {excerpt(movie)} is not an integer of 1-{MAX_MOVIE_DIGITS} digits"
                )
            if int(movie) in first_line:
                raise DataError(
                    f"{path}:{number}: movie id {int(movie)} appears more than once (first on line "
                    f"{first_line[int(movie)]})"
                )
            first_line[int(movie)] = number
            ids.append(int(movie))
            years.append(_year(path, number, year.strip()))
            titles.append(title)
    return make_movies(ids, titles, years)


def _year(path: Path, number: int, year: str) -> int | None:
    """A release year of four digits, None for NULL or empty; else a DataError naming the line."""
    if year in ("NULL", ""):
        return None
    if len(year) == 4 and year.isascii() and year.isdigit() and _YEARS[0] <= int(year):
        return int(year)
    raise DataError(f"{path}:{number}: year {excerpt(year)} is not a year of four digits or NULL")


@dataclass
class ParsedRatings:
    """Ratings read from one file, with the number of lines skipped in lenient mode."""

    ratings: pd.DataFrame
    skipped_lines: int
    movies: np.ndarray  # the movie ids of the file's valid headers, in order (repeats kept)

    @property
    def repeated_headers(self) -> int:
        """Headers that name a movie already seen in the file (their ratings are merged)."""
        return len(self.movies) - len(np.unique(self.movies))


class RatingColumns:
    """Canonical rating columns, sized for the worst case, that several files are parsed into.

    The capacity is an upper bound (one rating per shortest valid line). The columns live in
    anonymous memory maps: pages never written are never backed, so the spare capacity costs
    address space only and the finished table is a view of the written part, not a copy.
    (numpy's own large arrays ask for transparent huge pages, whose compaction costs more system
    time than the writes themselves here.)
    """

    def __init__(self, n_bytes: int, layout: LineLayout = DEFAULT_LAYOUT) -> None:
        self.capacity = n_bytes // layout.min_line + 1
        self.user = _mapped(self.capacity, np.int32)
        self.movie = _mapped(self.capacity, np.int32)
        self.rating = _mapped(self.capacity, np.float32)
        self.date = _mapped(self.capacity, np.dtype("datetime64[s]"))
        self.size = 0

    def append(self, user: np.ndarray, movie: np.ndarray, rating: np.ndarray, day: np.ndarray) -> None:
        """Copy one parsed block in (day: days since 1970-01-01)."""
        stop = self.size + len(user)
        self.user[self.size : stop] = user
        self.movie[self.size : stop] = movie
        self.rating[self.size : stop] = rating
        seconds = self.date[self.size : stop].view(np.int64)
        seconds[:] = day  # widen first: day * 86,400 leaves int32 for dates after 2038-01-19
        seconds *= _SECONDS_PER_DAY
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
    and counted instead (module docstring: the rules).
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
    layout: LineLayout = DEFAULT_LAYOUT,
) -> tuple[int, np.ndarray]:
    """Append a ratings file's ratings to `columns`; return (lines skipped, movie ids of headers).

    Blocks are parsed by `workers` threads (numpy releases the GIL in its loops), then taken
    in file order, so results do not depend on the threads.
    """
    path = Path(path)
    size = _file_size(path)
    chunk_bytes = max(1, min(chunk_bytes, size))  # a per-movie file gets a small buffer
    workers = WORKERS if workers is None else workers
    with reading(path):
        blocks = _read_blocks(path, chunk_bytes, layout.pad)
        if workers > 1 and size > 2 * chunk_bytes:
            with ThreadPoolExecutor(workers) as pool:
                parsed = _parsed_in_order(pool, blocks, 2 * workers, layout)
                return _take_in_order(path, parsed, columns, lenient, layout)
        parsed_here = (parse_block(*block, layout) for block in blocks)
        return _take_in_order(path, parsed_here, columns, lenient, layout)


def _read_blocks(path: Path, chunk_bytes: int, pad: int) -> Iterator[tuple[bytearray, int]]:
    """Yield (buffer, stop): `pad` newlines, then whole lines up to stop; a BOM at the start goes."""
    held = b""  # an unfinished line carried to the next block
    with open(path, "rb") as handle:
        if handle.read(len(_BOM)) != _BOM:
            handle.seek(0)
        while True:
            buffer = bytearray(pad + len(held) + chunk_bytes + 1)
            buffer[:pad] = b"\n" * pad
            buffer[pad : pad + len(held)] = held
            with memoryview(buffer) as view:
                got = handle.readinto(view[pad + len(held) : -1])
            end = pad + len(held) + got
            if got:
                cut = buffer.rfind(b"\n", pad, end) + 1
                if cut == 0:  # one line longer than a block: keep reading until it ends
                    held = bytes(buffer[pad:end])
                    continue
            elif held:  # the last line, without its newline
                buffer[end] = ord("\n")
                cut = end = end + 1
            else:
                return
            held = bytes(buffer[cut:end])
            yield buffer, cut


def _parsed_in_order(
    pool: ThreadPoolExecutor, blocks: Iterator[tuple[bytearray, int]], depth: int, layout: LineLayout
) -> Iterator[ParsedBlock]:
    """Parse blocks on the pool, at most `depth` ahead, yielding results in file order."""
    pending: deque[Future[ParsedBlock]] = deque()
    for block in blocks:
        pending.append(pool.submit(parse_block, *block, layout))
        if len(pending) >= depth:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _take_in_order(
    path: Path, blocks: Iterable[ParsedBlock], columns: RatingColumns, lenient: bool, layout: LineLayout
) -> tuple[int, np.ndarray]:
    """Settle each block's carried movie, stop at (or count) bad lines, append the ratings."""
    skipped = 0
    headers: list[np.ndarray] = []
    movie = -1  # no header yet
    lines_before = 0
    for block in blocks:
        block.settle(movie)
        if len(block.bad_lines):
            if not lenient:
                line = int(block.bad_lines[0])
                in_force = _movie_at(block, line)
                problem = describe_bad_line(block.line_text(line), in_force, layout)
                raise DataError(f"{path}:{lines_before + line + 1}: {problem}")
            skipped += len(block.bad_lines)
        columns.append(block.user, block.movie, block.rating, block.day)
        headers.append(block.header_movies)
        movie = block.last_movie
        lines_before += block.n_lines
    return skipped, np.concatenate(headers) if headers else np.empty(0, dtype=np.int32)


def _movie_at(block: ParsedBlock, line: int) -> int:
    """The valid movie header in force at `line` of a block (-1: none), for error messages."""
    if line < block.first_header:
        return block.carried_movie if block.carried_movie != UNSETTLED else -1
    for previous in range(line - 1, block.first_header - 1, -1):
        text = block.line_text(previous)
        if text.strip(b" \t") and b"," not in text:  # the nearest header above, valid or not
            return movie_id(text)
    return -1


def _file_size(path: Path) -> int:
    with reading(path):
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        return check_regular_file(path, "ratings file").stat().st_size
