"""MovieLens directories: 100k (`u.data`), 1M (`ratings.dat`) and latest/25M (`ratings.csv`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.metadata import split_title_year
from movierec.core.data.tables import Dataset, make_movies, make_ratings
from movierec.core.errors import DataError


def detect_format(directory: str | Path) -> str:
    """Return '100k', '1m' or 'latest' for a MovieLens directory, or raise DataError."""
    directory = Path(directory)
    if (directory / "ratings.csv").exists():
        return "latest"
    if (directory / "ratings.dat").exists():
        return "1m"
    if (directory / "u.data").exists():
        return "100k"
    raise DataError(
        f"{directory}: not a MovieLens directory (expected ratings.csv, ratings.dat or u.data)"
    )


def load_movielens(directory: str | Path, spec: str | None = None) -> Dataset:
    """Load a MovieLens directory of any supported format into a Dataset."""
    directory = Path(directory)
    kind = detect_format(directory)
    if kind == "latest":
        return _load_latest(directory, spec or f"movielens:{directory}")
    raise DataError(f"{directory}: MovieLens {kind} format is not supported yet")


def _load_latest(directory: Path, spec: str) -> Dataset:
    ratings_path = directory / "ratings.csv"
    raw = pd.read_csv(
        ratings_path,
        dtype={"userId": np.int32, "movieId": np.int32, "rating": np.float32, "timestamp": np.int64},
    )
    expected = ["userId", "movieId", "rating", "timestamp"]
    if list(raw.columns[:4]) != expected:
        raise DataError(f"{ratings_path}:1: expected header {','.join(expected)}")
    ratings = make_ratings(
        raw["userId"], raw["movieId"], raw["rating"], raw["timestamp"].to_numpy().astype("datetime64[s]")
    )
    movies_path = directory / "movies.csv"
    if movies_path.exists():
        movies_raw = pd.read_csv(movies_path, dtype=str, keep_default_na=False)
        split = [split_title_year(t) for t in movies_raw["title"]]
        genres = movies_raw["genres"].replace("(no genres listed)", None)
        movies = make_movies(
            movies_raw["movieId"].astype(int), [t for t, _ in split], [y for _, y in split], genres
        )
    else:
        ids = np.unique(ratings["movie"].to_numpy())
        movies = make_movies(ids, [f"movie {i}" for i in ids])
    links = directory / "links.csv"
    if links.exists():
        link_table = pd.read_csv(links, dtype=str, keep_default_na=False, na_values=[""])
        link_table["movieId"] = link_table["movieId"].astype(int)
        link_table = link_table.set_index("movieId")
        movies["imdb_id"] = movies["movie"].map("tt" + link_table["imdbId"]).astype("string")
        movies["tmdb_id"] = movies["movie"].map(pd.to_numeric(link_table["tmdbId"], errors="coerce")).astype("Int64")
    return Dataset(spec=spec, ratings=ratings, movies=movies)
