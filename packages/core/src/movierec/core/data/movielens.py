"""MovieLens directories: 100k (`u.data`), 1M/10M (`ratings.dat`) and latest/25M (`ratings.csv`).

Ratings files are read by `rating_file.read_rating_file` (fast, checked; lenient mode counts
skipped lines in `Dataset.skipped_lines`); this module knows the formats and the movie files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.matrix import IdIndex
from movierec.core.data.metadata import split_title_year
from movierec.core.data.rating_file import read_rating_file
from movierec.core.data.tables import Dataset, make_movies
from movierec.core.errors import DataError

FORMATS = ("100k", "1m", "latest")
GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
PREDEFINED_100K = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
LATEST_HEADER = "userId,movieId,rating,timestamp"
NO_GENRES = "(no genres listed)"



def detect_format(directory: str | Path) -> str:
    """Return '100k', '1m' or 'latest' for a MovieLens directory, or raise DataError."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: MovieLens directory not found")
    if (directory / "ratings.csv").exists():
        return "latest"
    if (directory / "ratings.dat").exists():
        return "1m"
    if (directory / "u.data").exists():
        return "100k"
    raise DataError(
        f"{directory}: not a MovieLens directory (expected ratings.csv, ratings.dat or u.data)"
    )


def resolve_movielens(location: str | Path, cache_dir: str | Path | None = None) -> Path:
    """An existing directory as is, else a known archive name ('ml-100k', ...) fetched and cached."""
    from movierec.core.data.fetch import ARCHIVES, fetch_movielens

    path = Path(location).expanduser()
    if path.is_dir():
        return path
    name = str(location).strip().rstrip("/")
    if name in ARCHIVES:
        return fetch_movielens(name, cache_dir)
    raise DataError(
        f"{location}: no such MovieLens directory, and not a MovieLens archive name "
        f"({', '.join(ARCHIVES)})"
    )


def load_movielens(directory: str | Path, spec: str | None = None, lenient: bool = False) -> Dataset:
    """Load a MovieLens directory (or fetch a known name) of any supported format into a Dataset."""
    directory = resolve_movielens(directory)
    spec = spec or f"movielens:{directory}"
    kind = detect_format(directory)
    loader = {"latest": _load_latest, "1m": _load_1m, "100k": _load_100k}[kind]
    dataset = loader(directory, spec, lenient)
    if dataset.skipped_lines:
        dataset.notes.append(f"{dataset.skipped_lines} malformed rating line(s) skipped (lenient mode)")
    _note_untitled(dataset)
    return dataset


def _load_latest(directory: Path, spec: str, lenient: bool) -> Dataset:
    ratings, skipped = read_rating_file(directory / "ratings.csv", ",", LATEST_HEADER, lenient)
    notes = ["MovieLens latest format (ratings.csv)"]
    movies_path = directory / "movies.csv"
    movies = _read_movies_csv(movies_path) if movies_path.exists() else None
    if movies is not None and (directory / "links.csv").exists():
        movies = _attach_links(movies, directory / "links.csv")
    tags = directory / "tags.csv"
    if tags.exists():
        count = _count_rows(tags)
        notes.append(f"tags.csv: {count:,} tags present, not used")
    return _dataset(spec, ratings, movies, skipped, notes, "movies.csv")


def _load_1m(directory: Path, spec: str, lenient: bool) -> Dataset:
    ratings, skipped = read_rating_file(directory / "ratings.dat", "::", None, lenient)
    movies_path = directory / "movies.dat"
    movies = _read_movies_dat(movies_path) if movies_path.exists() else None
    return _dataset(spec, ratings, movies, skipped, ["MovieLens 1M/10M format (ratings.dat)"], "movies.dat")


def _load_100k(directory: Path, spec: str, lenient: bool) -> Dataset:
    ratings, skipped = read_rating_file(directory / "u.data", "\t", None, lenient)
    notes = ["MovieLens 100k format (u.data)"]
    movies_path = directory / "u.item"
    movies = _read_u_item(movies_path, _read_u_genre(directory / "u.genre")) if movies_path.exists() else None
    splits: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for name in PREDEFINED_100K:
        base, test = directory / f"{name}.base", directory / f"{name}.test"
        if base.exists() and test.exists():
            train_part, skipped_train = read_rating_file(base, "\t", None, lenient)
            test_part, skipped_test = read_rating_file(test, "\t", None, lenient)
            splits[name] = (train_part, test_part)
            skipped += skipped_train + skipped_test
        elif base.exists() or test.exists():
            present = base if base.exists() else test
            notes.append(f"{present.name} has no partner file: predefined split {name} left out")
    dataset = _dataset(spec, ratings, movies, skipped, notes, "u.item")
    dataset.predefined_splits = splits
    return dataset


def _dataset(
    spec: str, ratings: pd.DataFrame, movies: pd.DataFrame | None, skipped: int, notes: list[str], titles: str
) -> Dataset:
    if movies is None:
        ids = IdIndex.from_values(ratings["movie"].to_numpy()).ids
        movies = make_movies(ids, [f"movie {i}" for i in ids])
        notes.append(f"no {titles}: titles are 'movie <id>'")
    return Dataset(spec=spec, ratings=ratings, movies=movies, skipped_lines=skipped, notes=notes)


def _note_untitled(dataset: Dataset) -> None:
    rated = IdIndex.from_values(dataset.ratings["movie"].to_numpy()).ids  # counting, not sorting
    untitled = rated[~np.isin(rated, dataset.movies["movie"].to_numpy())]
    if len(untitled):
        dataset.notes.append(f"{len(untitled)} rated movie(s) have no title (e.g. movie {untitled[0]})")


def _movies_from_titles(path: Path, ids: list[int], raw_titles: list[str], genres: list[str | None], fallback_years: list[int | None] | None = None) -> pd.DataFrame:
    titles, years = [], []
    for i, raw in enumerate(raw_titles):
        title, year = split_title_year(raw)
        if year is None and fallback_years is not None:
            year = fallback_years[i]
        titles.append(title)
        years.append(year)
    movies = make_movies(ids, titles, years, [None if g in ("", NO_GENRES) else g for g in genres])
    duplicated = movies["movie"].duplicated()
    if duplicated.any():
        raise DataError(f"{path}: movie id {int(movies.loc[duplicated, 'movie'].iloc[0])} appears more than once")
    return movies


def _read_movies_csv(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in ("movieId", "title", "genres") if c not in table.columns]
    if missing:
        raise DataError(f"{path}:1: missing column(s) {', '.join(missing)}; expected movieId,title,genres")
    ids = pd.to_numeric(table["movieId"], errors="coerce")
    bad = (ids.isna() | (ids % 1 != 0)).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}:{row + 2}: movie id {table['movieId'].iloc[row]!r} is not an integer")
    return _movies_from_titles(path, ids.astype(int).tolist(), table["title"].tolist(), table["genres"].tolist())


def _attach_links(movies: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Add tmdb_id (Int64) and imdb_id ('tt0114709') from links.csv; empty cells stay NA."""
    links = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in ("movieId", "imdbId", "tmdbId") if c not in links.columns]
    if missing:
        raise DataError(f"{path}:1: missing column(s) {', '.join(missing)}; expected movieId,imdbId,tmdbId")
    links = links.set_index(pd.to_numeric(links["movieId"], errors="coerce"))
    imdb = links["imdbId"].where(links["imdbId"] != "")
    movies["imdb_id"] = movies["movie"].map("tt" + imdb).astype("string")
    movies["tmdb_id"] = movies["movie"].map(pd.to_numeric(links["tmdbId"], errors="coerce")).astype("Int64")
    return movies


def _count_rows(path: Path) -> int:
    """Rows of a CSV with a header (quoted fields may span lines, so ask the parser)."""
    return len(pd.read_csv(path, usecols=[0], dtype=str, keep_default_na=False))


def _read_movies_dat(path: Path) -> pd.DataFrame:
    """Read `MovieID::Title::Genres` (Latin-1)."""
    ids, titles, genres = [], [], []
    for number, line in enumerate(_text_lines(path), start=1):
        if line.strip():
            head, sep_1, rest = line.partition("::")
            title, sep_2, genre = rest.rpartition("::")
            if not (sep_1 and sep_2) or not head.strip().isdigit():
                raise DataError(f"{path}:{number}: expected 'MovieID::Title::Genres', got {line!r}")
            ids.append(int(head))
            titles.append(title)
            genres.append(genre)
    return _movies_from_titles(path, ids, titles, genres)


def _text_lines(path: Path) -> list[str]:
    """Lines of a small text file: UTF-8 when it decodes, else Latin-1 (1M and 100k titles)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # split on newlines only: str.splitlines would also break at U+0085, a Latin-1 byte
    return [line.rstrip("\r") for line in text.split("\n")]


def _read_u_genre(path: Path) -> tuple[str, ...]:
    """Genre names in flag order from u.genre (`name|index`), or the published list."""
    if not path.exists():
        return GENRES_100K
    names: dict[int, str] = {}
    for number, line in enumerate(_text_lines(path), start=1):
        if line.strip():
            name, _, index = line.strip().rpartition("|")
            if not name or not index.isdigit():
                raise DataError(f"{path}:{number}: expected 'Genre|index', got {line!r}")
            names[int(index)] = name
    if sorted(names) != list(range(len(names))):
        raise DataError(f"{path}: genre indexes must be 0..{len(names) - 1}")
    return tuple(names[i] for i in range(len(names)))


def _read_u_item(path: Path, genre_names: tuple[str, ...]) -> pd.DataFrame:
    """Read u.item: id|title|release date|video date|IMDb URL|one 0/1 flag per genre (Latin-1)."""
    ids, titles, genres, years = [], [], [], []
    expected = 5 + len(genre_names)
    for number, line in enumerate(_text_lines(path), start=1):
        if line.strip():
            fields = line.split("|")
            if len(fields) != expected or not fields[0].isdigit():
                raise DataError(
                    f"{path}:{number}: expected {expected} '|'-separated fields "
                    f"(id|title|release date|video release date|IMDb URL|{len(genre_names)} genre flags), "
                    f"got {len(fields)}"
                )
            flags = fields[5:]
            if any(flag not in ("0", "1") for flag in flags):
                raise DataError(f"{path}:{number}: genre flags must be 0 or 1, got {'|'.join(flags)!r}")
            ids.append(int(fields[0]))
            titles.append(fields[1])
            genres.append("|".join(g for g, flag in zip(genre_names, flags) if flag == "1" and g != "unknown"))
            release = fields[2].strip()  # '01-Jan-1995': the year when the title has none
            years.append(int(release[-4:]) if len(release) >= 4 and release[-4:].isdigit() else None)
    return _movies_from_titles(path, ids, titles, genres, years)
