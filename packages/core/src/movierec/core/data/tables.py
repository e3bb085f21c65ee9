"""The canonical ratings and movies tables, and the Dataset that holds them.

ratings: user int32, movie int32, rating float32, date datetime64[s] (day resolution for Netflix)
movies:  movie int32, title str, year Int16 (nullable), genres str (pipe-separated, optional),
         overview str (optional), plus optional link columns tmdb_id / imdb_id (Int64 / str)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RATING_COLUMNS = ("user", "movie", "rating", "date")
MOVIE_COLUMNS = ("movie", "title", "year", "genres", "overview")


def make_ratings(
    user: Any, movie: Any, rating: Any, date: Any | None = None
) -> pd.DataFrame:
    """Build a canonical ratings table from four array-likes (date may be None: unknown)."""
    user = np.asarray(user, dtype=np.int32)
    n = len(user)
    if date is None:
        dates = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    else:
        dates = np.asarray(date).astype("datetime64[s]")
    return pd.DataFrame(
        {
            "user": user,
            "movie": np.asarray(movie, dtype=np.int32),
            "rating": np.asarray(rating, dtype=np.float32),
            "date": dates,
        }
    )


def empty_ratings() -> pd.DataFrame:
    """A ratings table with no rows and the canonical dtypes."""
    return make_ratings([], [], [], np.array([], dtype="datetime64[s]"))


def repeated_pairs(user: np.ndarray, movie: np.ndarray) -> np.ndarray | None:
    """Rows to drop so that each (user, movie) pair keeps only its LAST rating in file order.

    None when no pair repeats, the usual case, found with one in-place sort of a 64-bit key;
    the stable sort that picks the last rating runs only when there are repeats.
    """
    if len(user) < 2:
        return None

    def pair_key() -> np.ndarray:
        return (movie.astype(np.int64) << 32) | (user.astype(np.int64) & 0xFFFFFFFF)

    key = pair_key()
    key.sort()  # in place: 8 bytes a rating while it runs
    if not np.any(key[1:] == key[:-1]):
        return None
    key = pair_key()
    order = np.argsort(key, kind="stable")  # equal keys stay in file order
    ordered = key[order]
    superseded = np.zeros(len(key), dtype=bool)
    superseded[order[:-1][ordered[1:] == ordered[:-1]]] = True  # a later rating of the pair follows
    return superseded


def runs_of(values: np.ndarray, step: int = 1 << 22) -> tuple[np.ndarray, np.ndarray]:
    """(starts, stops) of the runs of equal neighbours, e.g. each movie's block of a Netflix file.

    Found a slice of `step` values at a time, so no temporary as long as the table is made.
    """
    if len(values) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    changes = [np.zeros(1, dtype=np.int64)]
    for start in range(0, len(values) - 1, step):
        stop = min(start + step, len(values) - 1)
        changes.append(np.flatnonzero(values[start + 1 : stop + 1] != values[start:stop]) + start + 1)
    starts = np.concatenate(changes)
    return starts, np.r_[starts[1:], len(values)]


def drop_repeated_ratings(ratings: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep the last rating of each (user, movie) pair; return the table and how many were dropped."""
    drop = repeated_pairs(ratings["user"].to_numpy(), ratings["movie"].to_numpy())
    if drop is None:
        return ratings, 0
    return ratings[~drop].reset_index(drop=True), int(np.count_nonzero(drop))


REPEATED_RULE = "the last one in file order is kept"


def make_movies(
    movie: Any,
    title: Any,
    year: Any | None = None,
    genres: Any | None = None,
    overview: Any | None = None,
    **extra: Any,
) -> pd.DataFrame:
    """Build a canonical movies table; missing optional columns are filled with NA."""
    movie = np.asarray(movie, dtype=np.int32)
    n = len(movie)
    frame = pd.DataFrame(
        {
            "movie": movie,
            "title": pd.array(list(title), dtype="string"),
            "year": pd.array([None] * n if year is None else list(year), dtype="Int16"),
            "genres": pd.array([None] * n if genres is None else list(genres), dtype="string"),
            "overview": pd.array([None] * n if overview is None else list(overview), dtype="string"),
        }
    )
    for name, values in extra.items():
        frame[name] = values
    return frame


def check_ratings(ratings: pd.DataFrame, where: str = "ratings") -> pd.DataFrame:
    """Check a table has the canonical rating columns; return it with canonical dtypes."""
    missing = [c for c in ("user", "movie", "rating") if c not in ratings.columns]
    if missing:
        from movierec.core.errors import DataError

        raise DataError(
            f"{where}: missing column(s) {', '.join(missing)}; expected columns "
            f"{', '.join(RATING_COLUMNS)}"
        )
    date = ratings["date"] if "date" in ratings.columns else None
    if (
        ratings["user"].dtype == np.int32
        and ratings["movie"].dtype == np.int32
        and ratings["rating"].dtype == np.float32
        and date is not None
    ):
        return ratings
    return make_ratings(ratings["user"], ratings["movie"], ratings["rating"], date)


@dataclass
class Dataset:
    """A loaded dataset: ratings and movies tables plus what loading noticed."""

    spec: str
    ratings: pd.DataFrame
    movies: pd.DataFrame
    skipped_lines: int = 0
    notes: list[str] = field(default_factory=list)
    # name -> (train, test), e.g. MovieLens 100k "u1".."u5", "ua", "ub"
    predefined_splits: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = field(default_factory=dict)
    # repeated (user, movie) ratings dropped at load: only the last of each pair is kept
    repeated_ratings: int = 0
    # the Netflix Prize's probe pairs (user, movie, line) and qualifying rows (user, movie, date,
    # line), in file order, where the folder has probe.txt / qualifying.txt; files by those names
    probe: pd.DataFrame | None = None
    qualifying: pd.DataFrame | None = None
    prize_files: dict[str, Path] = field(default_factory=dict)
    lenient: bool = False  # loaded with --lenient: later checks (the probe split) skip and count too

    def stats(self) -> dict[str, Any]:
        """Summary figures: counts, rating and date ranges, sparsity, skipped lines."""
        r = self.ratings
        n_users = int(r["user"].nunique())
        n_movies = int(r["movie"].nunique())
        dates = r["date"].dropna() if "date" in r.columns else pd.Series([], dtype="datetime64[s]")

        def day(value: Any) -> str | None:
            return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")

        cells = n_users * n_movies
        return {
            "spec": self.spec,
            "ratings": int(len(r)),
            "users": n_users,
            "movies": n_movies,
            "titles": int(len(self.movies)),
            "overviews": int(self.movies["overview"].notna().sum())
            if "overview" in self.movies.columns
            else 0,
            "rating_min": float(r["rating"].min()) if len(r) else None,
            "rating_max": float(r["rating"].max()) if len(r) else None,
            "date_min": day(dates.min()) if len(dates) else None,
            "date_max": day(dates.max()) if len(dates) else None,
            "density": (len(r) / cells) if cells else 0.0,
            "skipped_lines": int(self.skipped_lines),
            "repeated_ratings": int(self.repeated_ratings),
            "predefined_splits": sorted(self.predefined_splits),
            **({"probe_pairs": int(len(self.probe))} if self.probe is not None else {}),
            **({"qualifying_rows": int(len(self.qualifying))} if self.qualifying is not None else {}),
            "notes": list(self.notes),
        }

    def drop_repeated_ratings(self) -> None:
        """Keep the last rating of each repeated (user, movie) pair, counted and noted."""
        self.ratings, dropped = drop_repeated_ratings(self.ratings)
        if dropped:
            self.repeated_ratings += dropped
            self.notes.append(
                f"{dropped} repeated (user, movie) rating(s) dropped: {REPEATED_RULE}, "
                "so every engine sees one rating per pair"
            )

    def title_of(self, movie: int) -> str:
        """The title of a movie id, or 'movie <id>' when the title file lacks it."""
        index = self._title_index()
        title = index.get(int(movie))
        return f"movie {movie}" if title is None or pd.isna(title) else str(title)

    def _title_index(self) -> dict[int, str]:
        cached = getattr(self, "_titles_cache", None)
        if cached is None:
            cached = dict(zip(self.movies["movie"].tolist(), self.movies["title"].tolist()))
            object.__setattr__(self, "_titles_cache", cached)
        return cached
