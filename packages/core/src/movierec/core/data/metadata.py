"""Movie metadata (overviews) and how it is joined to a dataset's titles.

Sources: The Movies Dataset `movies_metadata.csv` (original_title, overview, vote_count, id = TMDB
id, imdb_id, release_date) and overview files keyed by ids (`movieId,title,genres,tmdb_id,overview`).
Joins go through TMDB/IMDb ids where a links table exists, else through normalized title + year;
the notebook's join on lower-cased title alone pairs remakes with the wrong film.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.files import check_regular_file, reading
from movierec.core.errors import DataError, excerpt

# '(1995)', or a span '(2006-2007)' / '(2006\u20132007)' whose first year counts
_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})(?:\s*[-\u2013]\s*\d{4})?\)\s*$")
_ARTICLE_SUFFIX = re.compile(r",\s*(the|a|an|les|la|le|el|il|der|die|das)$")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalize_title(title: str) -> str:
    """Lower-case, accent-free, punctuation-free title; 'Matrix, The' becomes 'the matrix'."""
    if title is None or (isinstance(title, float) and np.isnan(title)):
        return ""
    text = unicodedata.normalize("NFKD", str(title))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().strip()
    text = _YEAR_SUFFIX.sub("", text)
    article = _ARTICLE_SUFFIX.search(text)
    if article:
        text = f"{article.group(1)} {text[: article.start()]}"
    return _NON_WORD.sub(" ", text).strip()


def split_title_year(title: str) -> tuple[str, int | None]:
    """Split 'Heat (1995)' into ('Heat', 1995); a span '(2006\u20132007)' gives its first year."""
    match = _YEAR_SUFFIX.search(title)
    if not match:
        return title.strip(), None
    return title[: match.start()].strip(), int(match.group(1))


NETFLIX_LINKS = "netflix_imdb_tmdb.csv"
MIN_LINK_CONFIDENCE = 0.8  # the id-map file's own floor; its 0.8-0.9 pairs differ by a year or an article
METADATA_COLUMNS = ("movie", "tmdb_id", "imdb_id", "title", "year", "overview")


@dataclass
class MetadataReport:
    """How a metadata join went: rows read and dropped, titles matched by id and by title."""

    source: str
    rows: int
    skipped_rows: int
    disagreeing_rows: int
    matched_by_id: int
    matched_by_title: int
    titles: int

    @property
    def matched(self) -> int:
        return self.matched_by_id + self.matched_by_title

    def sentence(self) -> str:
        dropped = [f"{self.skipped_rows} malformed skipped"] if self.skipped_rows else []
        if self.disagreeing_rows:
            dropped.append(f"{self.disagreeing_rows} dropped: tmdb_id disagrees with links.csv")
        return (
            f"{self.source}: {self.rows} metadata rows"
            + (f" ({', '.join(dropped)})" if dropped else "")
            + f"; overviews matched for {self.matched} of {self.titles} titles "
            f"({self.matched_by_id} by TMDB/IMDb id, {self.matched_by_title} by title and year)"
        )


@dataclass
class Metadata:
    """Overview rows in one shape, whatever the source file: see METADATA_COLUMNS."""

    table: pd.DataFrame
    source: str
    rows: int  # data rows in the file, malformed ones included
    skipped_rows: int = 0
    disagreeing_rows: int = 0


def read_metadata(path: str | Path) -> Metadata:
    """Read The Movies Dataset `movies_metadata.csv` or an overview file keyed by ids.

    An overview file with a movieId column that sits next to a MovieLens links.csv is checked
    against it: rows whose tmdb_id disagrees with links.csv are dropped and counted.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a metadata file")
    check_regular_file(path, "metadata file")
    with reading(path):
        try:
            header = pd.read_csv(path, nrows=0, encoding="utf-8", encoding_errors="replace").columns
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as error:
            raise DataError(f"{path}: not a metadata CSV ({excerpt(str(error))})") from None
        if "overview" not in header:
            raise DataError(
                f"{path}: expected an 'overview' column (The Movies Dataset movies_metadata.csv, or "
                f"an overview file keyed by movieId/tmdb_id/imdb_id), found {excerpt(', '.join(map(str, header[:8])))}"
            )
        if "original_title" in header and "id" in header:
            return read_movies_metadata(path)
        return read_overview_file(path)


def read_movies_metadata(path: str | Path) -> Metadata:
    """Read The Movies Dataset metadata; rows with a wrong field count or a non-integer id are
    skipped and counted (the full file has three, with a date where the TMDB id belongs)."""
    path = check_regular_file(path, "metadata file")
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise DataError(f"{path}: empty metadata file")
    header = rows[0]
    required = ("id", "original_title", "overview")
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(f"{path}:1: missing column(s) {', '.join(missing)}")
    id_at = header.index("id")
    good = [r for r in rows[1:] if len(r) == len(header) and r[id_at].strip().isdigit()]
    raw = pd.DataFrame(good, columns=header)
    released = pd.to_datetime(raw.get("release_date"), errors="coerce", format="%Y-%m-%d")
    table = _metadata_frame(
        movie=None,
        tmdb_id=raw["id"],
        imdb_id=raw.get("imdb_id"),
        title=raw["original_title"],
        year=released.dt.year if "release_date" in raw.columns else None,
        overview=raw["overview"],
    )
    # An English title helps the title fallback where the original title is in another language.
    if "title" in raw.columns:
        english = table.assign(title=raw["title"].astype("string"))
        table = pd.concat([table, english[english["title"] != table["title"]]], ignore_index=True)
    return Metadata(table, path.name, rows=len(rows) - 1, skipped_rows=len(rows) - 1 - len(good))


def read_overview_file(path: str | Path) -> Metadata:
    """Read an overview file keyed by ids, such as `movieId,title,genres,tmdb_id,overview`."""
    path = check_regular_file(path, "metadata file")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    if not {"movieId", "tmdb_id", "tmdbId", "imdb_id", "imdbId", "title"} & set(raw.columns):
        raise DataError(f"{path}: expected a movieId, tmdb_id, imdb_id or title column to join on")
    titles = raw["title"] if "title" in raw.columns else pd.Series("", index=raw.index)
    split = [split_title_year(t) if isinstance(t, str) else ("", None) for t in titles]
    table = _metadata_frame(
        movie=raw.get("movieId"),
        tmdb_id=raw.get("tmdb_id", raw.get("tmdbId")),
        imdb_id=raw.get("imdb_id", raw.get("imdbId")),
        title=[t for t, _ in split],
        year=[y for _, y in split],
        overview=raw["overview"],
    )
    disagreeing = 0
    links = path.parent / "links.csv"
    if "movieId" in raw.columns and links.exists():
        linked = read_movielens_links(links)
        expected = table["movie"].map(linked.set_index("movie")["tmdb_id"])
        wrong = (expected.notna() & table["tmdb_id"].notna() & (expected != table["tmdb_id"])).fillna(
            False
        )
        disagreeing = int(wrong.sum())
        table = table[~wrong.to_numpy()].reset_index(drop=True)
    return Metadata(table, path.name, rows=len(raw), disagreeing_rows=disagreeing)


def read_movielens_links(path: str | Path) -> pd.DataFrame:
    """MovieLens `links.csv` as columns movie, tmdb_id (Int64), imdb_id ('tt0114709')."""
    raw = pd.read_csv(check_regular_file(path), dtype=str, keep_default_na=False, na_values=[""])
    return pd.DataFrame(
        {
            "movie": pd.to_numeric(raw["movieId"]).astype("Int64"),
            "tmdb_id": _tmdb(raw["tmdbId"]),
            "imdb_id": _imdb(raw["imdbId"]),
        }
    )


def read_netflix_links(path: str | Path, min_confidence: float = MIN_LINK_CONFIDENCE) -> pd.DataFrame:
    """The Netflix-Prize-IMDB-TMDB id map as columns movie, tmdb_id, imdb_id.

    Pairs below `min_confidence` (its confidence_score) are left out.
    """
    path = Path(path)
    check_regular_file(path, "Netflix id-map file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        reason = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error).strip().splitlines()[0][:120]
        raise DataError(f"{path}: not a Netflix id-map CSV ({reason})") from None
    needed = ["netflix_id", "imdb_id", "tmdb_id", "confidence_score"]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise DataError(
            f"{path}:1: missing column(s) {', '.join(missing)}; expected the "
            "Netflix-Prize-IMDB-TMDB map (netflix_id,imdb_id,tmdb_id,...,confidence_score)"
        )
    trusted = pd.to_numeric(raw["confidence_score"], errors="coerce") >= min_confidence
    raw = raw[trusted]
    return pd.DataFrame(
        {
            "movie": pd.to_numeric(raw["netflix_id"]).astype("Int64"),
            "tmdb_id": _tmdb(raw["tmdb_id"]),
            "imdb_id": _imdb(raw["imdb_id"]),
        }
    ).reset_index(drop=True)


def attach_netflix_links(movies: pd.DataFrame, path: str | Path) -> tuple[pd.DataFrame, int]:
    """Add tmdb_id / imdb_id columns to Netflix titles; return (movies, titles with an id)."""
    links = read_netflix_links(path).drop_duplicates("movie").set_index("movie")
    movies = movies.copy()
    movies["tmdb_id"] = movies["movie"].map(links["tmdb_id"]).astype("Int64")
    imdb = movies["movie"].map(links["imdb_id"]).astype("Int64")
    movies["imdb_id"] = pd.array(
        [None if pd.isna(n) else f"tt{n:07d}" for n in imdb], dtype="string"
    )  # the 'tt0114709' form MovieLens links get too
    linked = int((movies["tmdb_id"].notna() | movies["imdb_id"].notna()).sum())
    return movies, linked


def attach_overviews(movies: pd.DataFrame, metadata: Metadata) -> tuple[pd.DataFrame, MetadataReport]:
    """Fill `movies.overview`: by TMDB id, then IMDb id, where both sides have one, then by
    (normalized title, year) for titles that no id matched.

    The title fallback never pairs two films whose TMDB ids are both known and differ, and a
    (title, year) key that names two films on either side matches neither.
    """
    movies = movies.copy()
    overview = (
        movies["overview"].astype("string").copy()
        if "overview" in movies.columns
        else pd.Series(pd.NA, index=movies.index, dtype="string")
    )
    rows = metadata.table
    rows = rows[rows["overview"].notna() & (rows["overview"].str.strip() != "")]
    by_id = 0
    for column in ("tmdb_id", "imdb_id"):
        if column not in movies.columns:
            continue
        keys = movies[column] if column == "tmdb_id" else _imdb(movies[column])
        lookup = rows.dropna(subset=[column]).drop_duplicates(column).set_index(column)["overview"]
        found = keys.map(lookup)
        take = (overview.isna() & found.notna()).to_numpy()
        overview[take] = found[take]
        by_id += int(take.sum())

    # Title fallback: rows no id matched, keyed by (normalized title, year), unambiguous only.
    rows = rows.assign(key=rows["title"].map(normalize_title))
    rows = rows[rows["key"] != ""]
    rows = rows.drop_duplicates(["key", "year", "tmdb_id", "overview"])
    films = rows.groupby(["key", "year"], dropna=False)["overview"].transform("size")
    rows = rows[films == 1]
    lookup = {
        (k, _year(y)): (o, None if pd.isna(t) else int(t))
        for k, y, o, t in zip(rows["key"], rows["year"], rows["overview"], rows["tmdb_id"])
    }
    movie_keys = [
        (normalize_title(t), _year(y)) for t, y in zip(movies["title"], movies["year"])
    ]
    key_counts = pd.Series(movie_keys, dtype=object).value_counts()
    movie_tmdb = (
        movies["tmdb_id"].tolist() if "tmdb_id" in movies.columns else [None] * len(movies)
    )
    by_title = 0
    missing = overview.isna().to_numpy()
    for position in np.flatnonzero(missing):
        key = movie_keys[position]
        hit = lookup.get(key)
        if hit is None or key_counts[key] > 1:
            continue
        text, tmdb = hit
        own = movie_tmdb[position]
        if tmdb is not None and own is not None and not pd.isna(own) and int(own) != tmdb:
            continue  # a different film under the same title and year
        overview.iloc[position] = text
        by_title += 1
    movies["overview"] = overview.astype("string")
    report = MetadataReport(
        source=metadata.source,
        rows=metadata.rows,
        skipped_rows=metadata.skipped_rows,
        disagreeing_rows=metadata.disagreeing_rows,
        matched_by_id=by_id,
        matched_by_title=by_title,
        titles=int(len(movies)),
    )
    return movies, report


def _metadata_frame(
    movie: Iterable[object] | None,
    tmdb_id: Iterable[object] | None,
    imdb_id: Iterable[object] | None,
    title: Iterable[object],
    year: Iterable[object] | None,
    overview: Iterable[object],
) -> pd.DataFrame:
    """Metadata rows in METADATA_COLUMNS form; a source without a column gets NA there."""
    overview = list(overview)
    n = len(overview)

    def column(values: Iterable[object] | None) -> pd.Series:
        return pd.Series(list(values) if values is not None else [None] * n, dtype=object)

    return pd.DataFrame(
        {
            "movie": pd.to_numeric(column(movie), errors="coerce").astype("Int64"),
            "tmdb_id": _tmdb(column(tmdb_id)),
            "imdb_id": _imdb(column(imdb_id)),
            "title": pd.array(list(title), dtype="string"),
            "year": pd.array([_year(y) for y in column(year)], dtype="Int16"),
            "overview": pd.array(overview, dtype="string"),
        }
    )


def _tmdb(values: pd.Series) -> pd.Series:
    """TMDB ids as Int64 ('862.0' and '862' agree; junk becomes NA)."""
    return pd.to_numeric(values, errors="coerce").round().astype("Int64")


def _imdb(values: pd.Series) -> pd.Series:
    """IMDb ids as Int64 numbers, so 'tt0114709', '0114709' and '114709' agree."""
    digits = values.astype("string").str.strip().str.removeprefix("tt")
    return pd.to_numeric(digits, errors="coerce").astype("Int64")


def _year(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)
