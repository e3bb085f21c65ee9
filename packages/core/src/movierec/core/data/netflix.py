"""Netflix Prize files: `movie_titles.csv` and the `MovieID:` / `CustomerID,Rating,Date` ratings.

Both layouts are read: Kaggle's `combined_data_1..4.txt` and the original `training_set/mv_*.txt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.tables import empty_ratings, make_movies, make_ratings
from movierec.core.errors import DataError

TITLE_ENCODING = "ISO-8859-1"


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


_MIN_DATE = np.datetime64("1990-01-01")


def read_netflix_ratings(path: str | Path, lenient: bool = False) -> ParsedRatings:
    """Parse one ratings file (combined_data_N.txt or mv_NNNNNNN.txt) into a ratings table.

    A malformed line raises DataError naming file and line; with lenient=True it is skipped
    and counted instead. Blank lines carry no rating and are ignored.
    """
    path = Path(path)
    users: list[int] = []
    movies: list[int] = []
    ratings: list[int] = []
    dates: list[str] = []
    headers: list[int] = []
    skipped = 0
    movie: int | None = None
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip(b"\r\n")
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            problem = None
            if line.endswith(b":"):
                try:
                    movie = int(line[:-1])
                    headers.append(movie)
                    continue
                except ValueError:
                    problem = f"movie header {line.decode('latin-1')!r} is not 'MovieID:'"
            else:
                fields = line.split(b",")
                if movie is None:
                    problem = "rating line before any 'MovieID:' header"
                elif len(fields) != 3:
                    problem = f"expected 'CustomerID,Rating,Date' (3 fields), got {len(fields)}"
                else:
                    user_text, rating_text, date_text = fields
                    if not user_text.isdigit():
                        problem = f"customer id {user_text.decode('latin-1')!r} is not an integer"
                    elif rating_text not in (b"1", b"2", b"3", b"4", b"5"):
                        problem = f"rating {rating_text.decode('latin-1')!r} is not 1-5"
                    else:
                        problem = _check_date(date_text)
                    if problem is None:
                        users.append(int(user_text))
                        movies.append(movie)
                        ratings.append(int(rating_text))
                        dates.append(date_text.decode("ascii"))
                        continue
            if not lenient:
                raise DataError(f"{path}:{number}: {problem}")
            skipped += 1
    if not users:
        table = empty_ratings()
    else:
        table = make_ratings(users, movies, ratings, np.array(dates, dtype="datetime64[D]"))
    return ParsedRatings(table, skipped, np.array(headers, dtype=np.int32))


def _check_date(text: bytes) -> str | None:
    try:
        value = np.datetime64(text.decode("ascii"), "D")
    except ValueError:
        return f"date {text.decode('latin-1')!r} is not YYYY-MM-DD"
    if len(text) != 10 or value < _MIN_DATE:
        return f"date {text.decode('latin-1')!r} is not YYYY-MM-DD"
    return None
