"""A plain line-by-line reader of Netflix ratings files, the reference the fast parser is checked against."""

from __future__ import annotations

import datetime
import re

import pandas as pd


def reference_parse(data: bytes, max_user_digits: int = 8) -> tuple[list[tuple[int, int, int, str]], list[int]]:
    """A plain line-by-line reading of the format: (valid ratings, 1-based bad line numbers).

    The rules of netflix/reader.py's docstring, written the obvious way: a line without a comma is a
    header ('MovieID:' or damaged, and then the lines under it are bad too), one with a comma
    is a rating line; blank lines and lines of spaces carry nothing.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    rows, bad = [], []
    movie = None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    user_pattern = re.compile(rb"[0-9]{1,%d}" % max_user_digits)
    for number, raw in enumerate(lines, start=1):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if not line.strip(b" \t"):
            continue
        if b"," not in line:
            header = re.fullmatch(rb"([0-9]{1,9}):", line)
            movie = int(header.group(1)) if header else None
            if movie is None:
                bad.append(number)
            continue
        fields = line.split(b",")
        if movie is None or len(fields) != 3:
            bad.append(number)
            continue
        user, rating, date = fields
        day = re.fullmatch(rb"([0-9]{4})-([0-9]{2})-([0-9]{2})", date)
        try:
            valid_day = day is not None and datetime.date(*map(int, day.groups())).year >= 1990
        except ValueError:
            valid_day = False
        if not (user_pattern.fullmatch(user) and re.fullmatch(rb"[1-5]", rating) and valid_day):
            bad.append(number)
            continue
        rows.append((movie, int(user), int(rating), date.decode()))
    return rows, bad


def as_rows(table: pd.DataFrame) -> list[tuple[int, int, int, str]]:
    dates = table["date"].dt.strftime("%Y-%m-%d")
    return list(zip(table["movie"].tolist(), table["user"].tolist(),
                    table["rating"].astype(int).tolist(), dates.tolist()))
