"""MovieLens directories: 100k (`u.data`), 1M/10M (`ratings.dat`) and latest/25M (`ratings.csv`).

Ratings files are read by `rating_file.read_rating_file` (fast, checked; lenient mode counts
skipped lines in `Dataset.skipped_lines`); this module knows the formats and the movie files.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.files import check_regular_file, decode_utf8, expand_user, reading
from movierec.core.data.matrix import IdIndex
from movierec.core.data.metadata import split_title_year
from movierec.core.data.rating_file import read_rating_file
from movierec.core.data.tables import Dataset, make_movies
from movierec.core.data.tags import attach_tags
from movierec.core.errors import DataError, excerpt

FORMATS = ("100k", "1m", "latest")
GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
PREDEFINED_100K = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
LATEST_HEADER = "userId,movieId,rating,timestamp"
NO_GENRES = "(no genres listed)"
_INT32_MAX = 2**31 - 1



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

    path = expand_user(location)
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
    """Load a MovieLens directory (or fetch a known name) of any supported format into a Dataset.

    A (user, movie) pair rated more than once keeps its last rating in file order (counted in
    `Dataset.repeated_ratings`); a ratings file that yields no rating is a DataError.
    """
    directory = resolve_movielens(directory)
    spec = spec or f"movielens:{directory}"
    kind = detect_format(directory)
    loader = {"latest": _load_latest, "1m": _load_1m, "100k": _load_100k}[kind]
    with reading(directory):
        dataset = loader(directory, spec, lenient)
    if not len(dataset.ratings):
        ratings_file = {"latest": "ratings.csv", "1m": "ratings.dat", "100k": "u.data"}[kind]
        why = f", {dataset.skipped_lines} malformed line(s) skipped" if dataset.skipped_lines else ""
        raise DataError(f"{directory / ratings_file}: no ratings found{why}; expected one rating per line")
    if dataset.skipped_lines:
        dataset.notes.append(f"{dataset.skipped_lines} malformed rating line(s) skipped (lenient mode)")
    dataset.drop_repeated_ratings()  # every engine then sees one rating per (user, movie)
    _note_untitled(dataset)
    return dataset


def _load_latest(directory: Path, spec: str, lenient: bool) -> Dataset:
    ratings, skipped = read_rating_file(directory / "ratings.csv", ",", LATEST_HEADER, lenient)
    notes = ["MovieLens latest format (ratings.csv)"]
    movies_path = directory / "movies.csv"
    movies = _read_movies_csv(movies_path) if movies_path.exists() else None
    if movies is not None and (directory / "links.csv").exists():
        movies, links_note = _attach_links(movies, directory / "links.csv")
        notes += [links_note] if links_note else []
    if (directory / "tags.csv").exists():  # user tags describe movies that have no overview
        movies, tags_note = attach_tags(movies, directory / "tags.csv")
        notes.append(tags_note)
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


def _movies_from_titles(
    path: Path,
    ids: list[int],
    raw_titles: list[str],
    genres: list[str | None],
    fallback_years: list[int | None] | None = None,
    lines: list[int] | None = None,
) -> pd.DataFrame:
    """The movies table of a title file; ids must be positive int32, each on one line only."""
    lines = lines or list(range(1, len(ids) + 1))
    first_line: dict[int, int] = {}
    for movie, line in zip(ids, lines):
        if not 0 < movie <= _INT32_MAX:
            raise DataError(f"{path}:{line}: movie id {excerpt(str(movie))} is not a positive 32-bit integer")
        if movie in first_line:
            raise DataError(f"{path}:{line}: movie id {movie} appears more than once (first on line {first_line[movie]})")
        first_line[movie] = line
    titles, years = [], []
    for i, raw in enumerate(raw_titles):
        title, year = split_title_year(raw)
        if year is None and fallback_years is not None:
            year = fallback_years[i]
        titles.append(title)
        years.append(year)
    return make_movies(ids, titles, years, [None if g in ("", NO_GENRES) else g for g in genres])


def _csv_rows(path: Path, columns: tuple[str, ...]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(line, fields)]) of a UTF-8 CSV file with a header holding `columns`."""
    with reading(path):
        text = decode_utf8(path, check_regular_file(path).read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: empty file, expected the header {','.join(columns)}")
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataError(
                f"{path}:1: missing column(s) {', '.join(missing)}; expected {','.join(columns)}, "
                f"got {excerpt(','.join(header))}"
            )
        for fields in reader:
            if fields:
                if len(fields) != len(header):
                    raise DataError(
                        f"{path}:{reader.line_num}: expected {len(header)} fields ({excerpt(','.join(header))}), "
                        f"got {len(fields)}"
                    )
                rows.append((reader.line_num, fields))
    except csv.Error as error:
        raise DataError(f"{path}:{reader.line_num}: {error} (a quote left open?)") from None
    return header, rows


def _read_movies_csv(path: Path) -> pd.DataFrame:
    """Read `movieId,title,genres` (UTF-8; quoted titles may hold commas)."""
    header, rows = _csv_rows(path, ("movieId", "title", "genres"))
    at = {name: header.index(name) for name in ("movieId", "title", "genres")}
    ids, titles, genres, lines = [], [], [], []
    for line, fields in rows:
        movie = fields[at["movieId"]].strip()
        if not (movie.isascii() and movie.isdigit() and len(movie) <= 20):  # range checked below
            raise DataError(f"{path}:{line}: movie id {excerpt(movie)} is not an integer")
        ids.append(int(movie))
        titles.append(fields[at["title"]])
        genres.append(fields[at["genres"]])
        lines.append(line)
    return _movies_from_titles(path, ids, titles, genres, lines=lines)


def _attach_links(movies: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, str | None]:
    """Add tmdb_id (Int64) and imdb_id ('tt0114709') from links.csv; empty cells stay NA.

    A malformed row (an id that is not a number, a movie repeated) only costs that movie its
    links, never a rating: it is ignored, counted, and the returned note names the first one.
    """
    header, rows = _csv_rows(path, ("movieId", "imdbId", "tmdbId"))
    at = {name: header.index(name) for name in ("movieId", "imdbId", "tmdbId")}
    imdb: dict[int, str] = {}
    tmdb: dict[int, int] = {}
    seen: set[int] = set()
    bad: list[str] = []
    for line, fields in rows:
        movie, imdb_id, tmdb_id = (fields[at[name]].strip() for name in ("movieId", "imdbId", "tmdbId"))
        problem = None
        if not (movie.isascii() and movie.isdigit() and len(movie) <= 10):
            problem = f"movie id {excerpt(movie)} is not an integer"
        elif int(movie) in seen:
            problem = f"movie {int(movie)} listed again"
        elif not all(v == "" or (v.isascii() and v.isdigit() and len(v) <= 12) for v in (imdb_id, tmdb_id)):
            problem = f"imdbId {excerpt(imdb_id)} or tmdbId {excerpt(tmdb_id)} is not an integer"
        if problem:
            bad.append(f"line {line}: {problem}")
            continue
        seen.add(int(movie))
        if imdb_id:
            imdb[int(movie)] = "tt" + imdb_id
        if tmdb_id:
            tmdb[int(movie)] = int(tmdb_id)
    movies["imdb_id"] = movies["movie"].map(imdb).astype("string")
    movies["tmdb_id"] = movies["movie"].map(tmdb).astype("Int64")
    note = f"{path.name}: {len(bad)} malformed row(s) ignored (first: {bad[0]})" if bad else None
    return movies, note


def _read_movies_dat(path: Path) -> pd.DataFrame:
    """Read `MovieID::Title::Genres` (Latin-1)."""
    ids, titles, genres, lines = [], [], [], []
    for number, line in enumerate(_text_lines(path), start=1):
        if line.strip():
            head, sep_1, rest = line.partition("::")
            title, sep_2, genre = rest.rpartition("::")
            if not (sep_1 and sep_2) or not (head.strip().isascii() and head.strip().isdigit()):
                raise DataError(f"{path}:{number}: expected 'MovieID::Title::Genres', got {excerpt(line)}")
            ids.append(int(head) if len(head.strip()) <= 20 else 10**20)  # huge: refused below
            titles.append(title)
            genres.append(genre)
            lines.append(number)
    return _movies_from_titles(path, ids, titles, genres, lines=lines)


def _text_lines(path: Path) -> list[str]:
    """Lines of a small text file: UTF-8 when it decodes, else Latin-1 (1M and 100k titles)."""
    with reading(path):
        data = check_regular_file(path).read_bytes()
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
                raise DataError(f"{path}:{number}: expected 'Genre|index', got {excerpt(line)}")
            names[int(index)] = name
    if sorted(names) != list(range(len(names))):
        raise DataError(f"{path}: genre indexes must be 0..{len(names) - 1}")
    return tuple(names[i] for i in range(len(names)))


def _read_u_item(path: Path, genre_names: tuple[str, ...]) -> pd.DataFrame:
    """Read u.item: id|title|release date|video date|IMDb URL|one 0/1 flag per genre (Latin-1)."""
    ids, titles, genres, years, lines = [], [], [], [], []
    expected = 5 + len(genre_names)
    for number, line in enumerate(_text_lines(path), start=1):
        if line.strip():
            fields = line.split("|")
            if len(fields) != expected or not (fields[0].isascii() and fields[0].isdigit()):
                raise DataError(
                    f"{path}:{number}: expected {expected} '|'-separated fields "
                    f"(id|title|release date|video release date|IMDb URL|{len(genre_names)} genre flags), "
                    f"got {len(fields)}"
                )
            flags = fields[5:]
            if any(flag not in ("0", "1") for flag in flags):
                raise DataError(f"{path}:{number}: genre flags must be 0 or 1, got {excerpt('|'.join(flags))}")
            ids.append(int(fields[0]) if len(fields[0]) <= 20 else 10**20)  # huge: refused below
            lines.append(number)
            titles.append(fields[1])
            genres.append("|".join(g for g, flag in zip(genre_names, flags) if flag == "1" and g != "unknown"))
            release = fields[2].strip()  # '01-Jan-1995': the year when the title has none
            years.append(int(release[-4:]) if len(release) >= 4 and release[-4:].isdigit() else None)
    return _movies_from_titles(path, ids, titles, genres, years, lines)
