"""Checked reading of `user<sep>movie<sep>rating<sep>unix-time` files (MovieLens ratings).

Ratings files go through pandas' C parser with explicit dtypes. Only when that fast read fails
does a chunked reader (still vectorized) find the offending lines: a DataError naming file and
line, or, in lenient mode, lines skipped and counted. Blank lines (nothing but spaces and
separators) carry no rating and are not counted. Bytes that are not UTF-8 are an error naming
the line. A `::` file is read with `::` as the only separator: a tab inside it stays part of a
field (so `3<TAB>1::5::978300760` is a malformed line, not user 3's rating).
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.files import check_regular_file, first_bad_utf8, reading, utf8_error
from movierec.core.data.tables import empty_ratings, make_ratings
from movierec.core.errors import DataError, excerpt

_FIELDS = ("user", "movie", "rating", "timestamp")
_DTYPES = {"user": np.int32, "movie": np.int32, "rating": np.float32, "timestamp": np.int64}
_INT32_MAX = np.iinfo(np.int32).max
_MAX_STAMP = 253_402_300_799  # 9999-12-31T23:59:59
_CHUNK_ROWS = 1_000_000
_UNIT_SEPARATOR = b"\x1f"  # stands for a multi-byte separator, which the C parser cannot take


def read_rating_file(
    path: str | Path, sep: str, header: str | None = None, lenient: bool = False
) -> tuple[pd.DataFrame, int]:
    """Read `user<sep>movie<sep>rating<sep>unix-time` lines; return (ratings, skipped lines).

    `header`, when given, is the exact first line the file must hold. A malformed line raises
    DataError naming file and line; with lenient=True it is skipped and counted.
    """
    path = Path(path)
    with reading(path):
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        check_regular_file(path)
        if header is not None:
            with open(path, "rb") as handle:
                first = handle.readline(len(header) + 8).rstrip(b"\r\n").removeprefix(b"\xef\xbb\xbf")
            if first.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise utf8_error(path, first, 0)
            if first != header.encode():
                shown = excerpt(first.decode("utf-8", errors="replace"))
                raise DataError(f"{path}:1: expected the header {header!r}, got {shown}")
        source: Path | io.BytesIO = path
        if len(sep) > 1:
            source = io.BytesIO(_single_separator(path, path.read_bytes(), sep.encode()))
            sep = _UNIT_SEPARATOR.decode()
        first_line = 2 if header is not None else 1
        try:
            columns = _read_fast(source, sep, first_line - 1)
            checked = None
        except pd.errors.EmptyDataError:  # a ValueError too: catch it first
            return empty_ratings(), 0
        except (ValueError, OverflowError, pd.errors.ParserError, pd.errors.ParserWarning):
            data = source.getvalue() if isinstance(source, io.BytesIO) else path.read_bytes()
            bad_byte = first_bad_utf8(data)
            if bad_byte is not None:
                raise utf8_error(path, data, bad_byte) from None
            columns, checked = _read_checked(data, sep, first_line - 1)
    bad = _bad_values(*columns)
    if checked is not None:
        bad |= checked.wrong_count
    skipped = 0 if checked is None else len(checked.skipped)
    if bad.any() or skipped:
        bad_rows = np.flatnonzero(bad)
        if not lenient:
            problems = list(checked.skipped.items()) if checked is not None else []
            if len(bad_rows):
                row = int(bad_rows[0])
                line = row + first_line if checked is None else int(checked.lines[row])
                problems.append((line, _describe(columns, row, checked)))
            line, message = min(problems)
            raise DataError(f"{path}:{line}: {message}")
        skipped += len(bad_rows)
        columns = tuple(c[~bad] for c in columns)
    user, movie, rating, stamp = columns
    return make_ratings(user, movie, rating, stamp.astype(np.int64, copy=False).view("datetime64[s]")), skipped


def _single_separator(path: Path, data: bytes, sep: bytes) -> bytes:
    """`data` with `sep` (e.g. '::') turned into one byte the C parser takes; that byte is refused."""
    if _UNIT_SEPARATOR in data:
        line = data.count(b"\n", 0, data.index(_UNIT_SEPARATOR)) + 1
        raise DataError(f"{path}:{line}: control byte 0x1f in a '{sep.decode()}'-separated file")
    return data.replace(sep, _UNIT_SEPARATOR)


def _read_fast(source: Path | io.BytesIO, sep: str, skiprows: int) -> tuple[np.ndarray, ...]:
    with warnings.catch_warnings():
        # a row with extra fields must not be silently truncated
        warnings.simplefilter("error", pd.errors.ParserWarning)
        # an id past int32 makes pandas warn of the cast, then raise OverflowError: the error counts
        warnings.simplefilter("ignore", RuntimeWarning)
        frame = pd.read_csv(
            source, sep=sep, header=None, names=list(_FIELDS), skiprows=skiprows, dtype=_DTYPES,
            index_col=False, quoting=csv.QUOTE_NONE, skip_blank_lines=False, engine="c",
            encoding="utf-8-sig",
        )  # fmt: skip
    return tuple(frame[name].to_numpy() for name in _FIELDS)


@dataclass
class _Checked:
    """What the slow read learned besides the values: line numbers and field-count problems."""

    lines: np.ndarray  # physical line number of each row
    wrong_count: np.ndarray  # rows with too few or too many fields
    skipped: dict[int, str]  # lines the parser dropped (far too many fields) -> problem
    texts: dict[int, tuple[str, ...]]  # row -> its raw fields, for the first bad row of each chunk


def _read_checked(data: bytes, sep: str, skiprows: int) -> tuple[tuple[np.ndarray, ...], _Checked]:
    """The slow path: chunks with inferred dtypes; only a column holding text is coerced to NaN.

    Inference keeps clean chunks numeric (fast); a line with no values at all (blank, spaces
    only, or only separators) carries no rating and is dropped uncounted, as the Netflix reader
    does. Lines with more fields than the parser is given are counted here, not by the parser.
    """
    if b"\r" in data:  # the C parser ends lines at CR, LF or CRLF; so does the count below
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    names = [*_FIELDS, "extra"]
    skipped = {line: f"expected 4 fields ({', '.join(_FIELDS)}), got more" for line in _overlong_lines(data, sep, len(names))}
    parts: list[list[np.ndarray]] = [[], [], [], []]
    wrong: list[np.ndarray] = []
    blank: list[np.ndarray] = []
    texts: dict[int, tuple[str, ...]] = {}
    offset = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        reader = pd.read_csv(
            io.BytesIO(data), sep=sep, header=None, names=names, skiprows=skiprows, index_col=False,
            quoting=csv.QUOTE_NONE, skip_blank_lines=False, engine="c", encoding="utf-8-sig",
            keep_default_na=False, na_values=[""], on_bad_lines="skip", chunksize=_CHUNK_ROWS,
        )  # fmt: skip
        for chunk in reader:
            numbers = [_as_numbers(chunk[name]) for name in names[:4]]
            missing = [_is_empty(chunk[name], values) for name, values in zip(names, [*numbers, None])]
            is_blank = np.logical_and.reduce(missing)
            is_wrong = ~is_blank & (~missing[4] | np.logical_or.reduce(missing[:4]))
            for i, values in enumerate(numbers):
                parts[i].append(values)
            for row in np.flatnonzero(~is_blank & (is_wrong | _bad_values(*numbers)))[:1]:
                texts[offset + int(row)] = tuple("" if m[row] else str(chunk[n].iloc[row]) for n, m in zip(names, missing))
            blank.append(is_blank)
            wrong.append(is_wrong)
            offset += len(chunk)
    if not parts[0]:
        empty_columns = (np.array([], dtype=np.float64),) * 4
        return empty_columns, _Checked(np.array([], dtype=np.int64), np.array([], dtype=bool), skipped, {})
    # line of row r: r + first line, plus the lines the parser skipped before it
    skipped_base = np.array(sorted(skipped), dtype=np.int64)
    skipped_base -= np.arange(len(skipped_base))
    rows = np.arange(offset, dtype=np.int64) + skiprows + 1
    lines = rows + np.searchsorted(skipped_base, rows, side="right")
    columns = tuple(np.concatenate(p) for p in parts)
    is_blank = np.concatenate(blank)
    is_wrong = np.concatenate(wrong)
    if not is_blank.any():
        return columns, _Checked(lines, is_wrong, skipped, texts)
    kept = np.flatnonzero(~is_blank)
    position = np.full(offset, -1, dtype=np.int64)
    position[kept] = np.arange(len(kept))
    kept_texts = {int(position[row]): text for row, text in texts.items() if position[row] >= 0}
    return tuple(c[kept] for c in columns), _Checked(lines[kept], is_wrong[kept], skipped, kept_texts)


def _overlong_lines(data: bytes, sep: str, max_fields: int) -> list[int]:
    """1-based numbers of the lines holding more than `max_fields` fields (the parser skips them)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    separators = np.flatnonzero(buf == ord(sep))
    if len(separators) < max_fields:
        return []
    # separators before each line end, differenced: the separators of each line
    before_end = np.searchsorted(separators, np.flatnonzero(buf == ord("\n")))
    per_line = np.diff(np.concatenate(([0], before_end, [len(separators)])))
    return (np.flatnonzero(per_line >= max_fields) + 1).tolist()


def _is_empty(column: pd.Series, numbers: np.ndarray | None) -> np.ndarray:
    """Cells that hold nothing: missing, or only spaces (only cells that are no number are looked at)."""
    missing = column.isna().to_numpy()
    if column.dtype.kind in "iuf":
        return missing
    candidates = ~missing if numbers is None else ~missing & np.isnan(numbers)
    rows = np.flatnonzero(candidates)
    if len(rows):
        missing = missing.copy()  # to_numpy may hand out a read-only view
        texts = column.to_numpy()[rows]
        missing[rows[[not str(text).strip() for text in texts]]] = True
    return missing


def _as_numbers(column: pd.Series) -> np.ndarray:
    """A column as float64; text that is no number becomes NaN (only text columns pay for this)."""
    if column.dtype.kind in "iuf":
        return column.to_numpy(dtype=np.float64)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)


_PROBLEMS = (
    "user id {} is not a positive integer",
    "movie id {} is not a positive integer",
    "rating {} is not 0.5-5 in half stars",
    "timestamp {} is not whole seconds since 1970 (up to the year 9999)",
)


def _field_problems(user: np.ndarray, movie: np.ndarray, rating: np.ndarray, stamp: np.ndarray) -> list[np.ndarray]:
    """Per field, the rows whose value breaks its rule (NaN, from unparsable text, breaks all)."""
    with np.errstate(invalid="ignore"):
        return [
            ~((user > 0) & _whole(user, _INT32_MAX)),
            ~((movie > 0) & _whole(movie, _INT32_MAX)),
            ~((rating >= 0.5) & (rating <= 5) & _whole(rating * 2)),
            ~((stamp >= 0) & (stamp <= _MAX_STAMP) & _whole(stamp)),
        ]


def _whole(values: np.ndarray, limit: float | None = None) -> np.ndarray | bool:
    """Whole numbers (up to `limit`); integer columns from the fast read need no check."""
    if values.dtype.kind in "iu":
        return True
    whole = values == np.floor(values)
    return whole if limit is None else whole & (values <= limit)


def _bad_values(user: np.ndarray, movie: np.ndarray, rating: np.ndarray, stamp: np.ndarray) -> np.ndarray:
    """Rows whose ids are not positive int32, rating not 0.5-5 in half stars, or time not >= 0."""
    return np.logical_or.reduce(_field_problems(user, movie, rating, stamp))


def _describe(columns: tuple[np.ndarray, ...], row: int, checked: _Checked | None) -> str:
    """Say what is wrong with one rating row, quoting its text when the slow read kept it."""
    raw = checked.texts.get(row) if checked is not None else None
    if checked is not None and checked.wrong_count[row]:
        got = f", got {sum(1 for f in raw if f != '')} non-empty" if raw else ""
        return f"expected 4 fields ({', '.join(_FIELDS)}){got}"
    values = list(raw[:4]) if raw else [str(c[row]) for c in columns]
    problems = _field_problems(*(c[row : row + 1] for c in columns))
    field = next(i for i, problem in enumerate(problems) if problem[0])
    number = float(columns[field][row])
    if field < 2 and _INT32_MAX < number < float("inf") and number == int(number):  # whole and positive, too large
        return f"{('user', 'movie')[field]} id {excerpt(values[field])} is out of range (ids go up to {_INT32_MAX:,})"
    return _PROBLEMS[field].format(excerpt(values[field]))
