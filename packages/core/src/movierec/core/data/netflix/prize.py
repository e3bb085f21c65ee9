"""The Netflix Prize's own protocol files: `probe.txt` and `qualifying.txt`.

Both sit in the top folder of the download, in the Kaggle copy and the original one alike:

- probe.txt: blocks of a `MovieID:` line, then one `CustomerID` per line: the (customer, movie)
  pairs of the 1.4M training ratings that the contestants held out to tune on;
- qualifying.txt: blocks of a `MovieID:` line, then `CustomerID,Date` lines: the 2.8M ratings
  whose predictions were submitted, in this file's order.

The rules are those of the rating files (reader.py), strict and lenient alike (lenient skips and
counts what strict reports): a `MovieID:` header (1-9 digits) starts a block; a damaged header
(`X:`, `2: `) is reported, and the lines under it, up to the next valid header, are skipped
with it; a damaged line is skipped alone; blank lines carry nothing; a BOM at the start and CRLF
endings are accepted; a header repeated within a file merges its lines. In probe.txt a header is
told from a customer line by its colon (a customer line has none); in qualifying.txt, as in the
rating files, a header is a line without a comma.

The files are a few percent of the ratings' size, so they are read line by line; only dates are
converted all at once (and diagnosed one by one only when that fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.files import check_regular_file, reading
from movierec.core.data.netflix.block import DEFAULT_LAYOUT, FIRST_YEAR, MAX_MOVIE_DIGITS, movie_id
from movierec.core.errors import DataError, excerpt

PROBE = "probe.txt"
QUALIFYING = "qualifying.txt"
_USER_DIGITS = DEFAULT_LAYOUT.max_user_digits
_LATIN_BOM = "\u00ef\u00bb\u00bf"  # the UTF-8 byte-order mark, read as Latin-1


@dataclass
class PrizeFile:
    """One probe or qualifying file, read: its rows in file order and the lines skipped."""

    path: Path
    rows: pd.DataFrame  # user, movie (int32), [date (datetime64[s])], line (1-based, int64)
    skipped_lines: int
    repeated_headers: int  # headers naming a movie already seen in the file (lines merged)


def read_probe(path: str | Path, lenient: bool = False) -> PrizeFile:
    """Read probe.txt: `MovieID:` blocks of one customer id per line."""
    return _read(Path(path), with_date=False, lenient=lenient)


def read_qualifying(path: str | Path, lenient: bool = False) -> PrizeFile:
    """Read qualifying.txt: `MovieID:` blocks of `CustomerID,Date` lines."""
    return _read(Path(path), with_date=True, lenient=lenient)


def _read(path: Path, with_date: bool, lenient: bool) -> PrizeFile:
    with reading(path):
        if path.is_dir():
            raise DataError(f"{path}: is a folder, expected a {path.name} file")
        text = check_regular_file(path, f"{path.name} file").read_bytes().decode("latin-1")  # any byte decodes; non-ASCII fails the checks
    if text.startswith(_LATIN_BOM):
        text = text[len(_LATIN_BOM) :]
    what = "'CustomerID,Date'" if with_date else "'CustomerID'"
    users: list[str] = []
    movies: list[int] = []
    dates: list[str] = []
    numbers: list[int] = []
    headers: list[int] = []
    skipped = 0
    movie = -1  # no valid header yet

    def bad(number: int, problem: str) -> None:
        nonlocal skipped
        if not lenient:
            raise DataError(f"{path}:{number}: {problem}")
        skipped += 1

    for number, line in enumerate(text.split("\n"), start=1):
        if line.endswith("\r"):
            line = line[:-1]
        is_header = ("," not in line) if with_date else (":" in line)
        if is_header:
            if not line.strip(" \t"):
                continue  # blank
            movie = movie_id(line.encode("latin-1"))
            if movie < 0:
                bad(number, _bad_header(line))
            else:
                headers.append(movie)
            continue
        if with_date:
            user, _, date = line.partition(",")
        else:
            if not line.strip(" \t"):
                continue  # blank
            user, date = line, ""
        if movie < 0:
            bad(number, f"{what} line {excerpt(line)} before any valid 'MovieID:' header")
            continue
        if not (user.isascii() and user.isdigit() and len(user) <= _USER_DIGITS):
            bad(number, _bad_line(line, user, date, with_date, what))
            continue
        if with_date and not _date_shape(date):
            bad(number, _bad_line(line, user, date, with_date, what))
            continue
        users.append(user)
        movies.append(movie)
        dates.append(date)
        numbers.append(number)
    rows = pd.DataFrame(
        {
            "user": np.array(users, dtype=np.int64).astype(np.int32),
            "movie": np.array(movies, dtype=np.int32),
        }
    )
    line_numbers = np.array(numbers, dtype=np.int64)
    if with_date:
        days, valid = _days(dates)
        if not valid.all():
            for index in np.flatnonzero(~valid).tolist():
                bad(int(line_numbers[index]), f"date {excerpt(dates[index])} is not a YYYY-MM-DD day from {FIRST_YEAR} on")
            rows, days, line_numbers = rows[valid].reset_index(drop=True), days[valid], line_numbers[valid]
        rows["date"] = days.astype("datetime64[s]")
    rows["line"] = line_numbers
    repeated = len(headers) - len(set(headers))
    return PrizeFile(path=path, rows=rows, skipped_lines=skipped, repeated_headers=repeated)


def _date_shape(date: str) -> bool:
    """YYYY-MM-DD with ASCII digits (the calendar is checked later, all dates at once)."""
    return (
        len(date) == 10
        and date[4] == "-"
        and date[7] == "-"
        and date.isascii()
        and (date[:4] + date[5:7] + date[8:]).isdigit()
    )


def _days(dates: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers of well-shaped dates and which are real days from FIRST_YEAR on."""
    first = np.datetime64(f"{FIRST_YEAR}-01-01", "D")
    try:
        days = np.array(dates, dtype="datetime64[D]")
        return days, days >= first
    except ValueError:  # 2005-02-30 somewhere: find it
        days = np.full(len(dates), np.datetime64("NaT"), dtype="datetime64[D]")
        for index, date in enumerate(dates):
            try:
                days[index] = np.datetime64(date, "D")
            except ValueError:
                continue
        return days, ~np.isnat(days) & (days >= first)


def _bad_header(line: str) -> str:
    shown = excerpt(line)
    if _LATIN_BOM in line:
        return f"stray byte-order mark in {shown}"
    if movie_id(line.strip(" \t").encode("latin-1")) >= 0:
        return f"movie header with trailing space: {shown} (expected 'MovieID:' and nothing else)"
    return f"movie header {shown} is not 'MovieID:' with an id of 1-{MAX_MOVIE_DIGITS} digits"


def _bad_line(line: str, user: str, date: str, with_date: bool, what: str) -> str:
    shown = excerpt(line)
    if "\r" in line:
        return f"stray carriage return in {shown}"
    if with_date and line.count(",") != 1:
        return f"expected {what} (2 fields), got {line.count(',') + 1} in {shown}"
    if not (user.isascii() and user.isdigit() and 1 <= len(user) <= _USER_DIGITS):
        return f"customer id {excerpt(user)} is not an integer of 1-{_USER_DIGITS} digits"
    return f"date {excerpt(date)} is not a YYYY-MM-DD day from {FIRST_YEAR} on"


def find_prize_files(directory: Path) -> dict[str, Path]:
    """The probe and qualifying files of a Netflix folder, by name ('probe', 'qualifying')."""
    found = {}
    for name, file_name in (("probe", PROBE), ("qualifying", QUALIFYING)):
        path = directory / file_name
        if path.exists():
            found[name] = path
    return found
