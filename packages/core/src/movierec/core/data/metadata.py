"""Movie metadata (overviews) and how it is joined to a dataset's titles.

Sources: The Movies Dataset `movies_metadata.csv` (original_title, overview, vote_count, id = TMDB
id, imdb_id, release_date) and overview files keyed by ids (`movieId,title,genres,tmdb_id,overview`).
Joins go through TMDB/IMDb ids where a links table exists, else through normalized title + year;
the notebook's join on lower-cased title alone pairs remakes with the wrong film.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.errors import DataError

_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})\)\s*$")
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
    """Split MovieLens-style 'Heat (1995)' into ('Heat', 1995)."""
    match = _YEAR_SUFFIX.search(title)
    if not match:
        return title.strip(), None
    return title[: match.start()].strip(), int(match.group(1))


@dataclass
class MetadataReport:
    """How a metadata join went: rows read, rows skipped as malformed, titles matched."""

    source: str
    rows: int
    skipped_rows: int
    matched_by_id: int
    matched_by_title: int
    titles: int

    @property
    def matched(self) -> int:
        return self.matched_by_id + self.matched_by_title

    def sentence(self) -> str:
        return (
            f"{self.source}: {self.rows} metadata rows ({self.skipped_rows} malformed skipped); "
            f"overviews matched for {self.matched} of {self.titles} titles "
            f"({self.matched_by_id} by id, {self.matched_by_title} by title and year)"
        )


def read_movies_metadata(path: str | Path) -> tuple[pd.DataFrame, int]:
    """Read The Movies Dataset metadata; return (table, malformed rows skipped).

    Columns returned: tmdb_id (Int64), imdb_id (str), title, year (Int16), overview, vote_count.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: metadata file not found")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], on_bad_lines="skip")
    title_column = "original_title" if "original_title" in raw.columns else "title"
    needed = {title_column, "overview"}
    if not needed <= set(raw.columns):
        raise DataError(
            f"{path}: expected columns original_title and overview (The Movies Dataset "
            f"movies_metadata.csv), found {', '.join(raw.columns[:8])}"
        )
    tmdb = pd.to_numeric(raw.get("id"), errors="coerce") if "id" in raw.columns else None
    # Malformed rows in the real file have a date or junk where the TMDB id should be.
    bad = tmdb.isna() if tmdb is not None else pd.Series(False, index=raw.index)
    year = pd.to_datetime(raw.get("release_date"), errors="coerce", format="%Y-%m-%d")
    table = pd.DataFrame(
        {
            "tmdb_id": (tmdb if tmdb is not None else pd.Series(np.nan, index=raw.index)).astype(
                "Int64"
            ),
            "imdb_id": raw["imdb_id"].astype("string") if "imdb_id" in raw.columns else pd.NA,
            "title": raw[title_column].astype("string"),
            "english_title": raw["title"].astype("string") if "title" in raw.columns else pd.NA,
            "year": (year.dt.year if year is not None else pd.Series(pd.NA, index=raw.index)).astype(
                "Int16"
            ),
            "overview": raw["overview"].astype("string"),
            "vote_count": pd.to_numeric(raw.get("vote_count"), errors="coerce"),
        }
    )
    table = table[~bad].reset_index(drop=True)
    return table, int(bad.sum())


def read_overview_file(path: str | Path) -> pd.DataFrame:
    """Read an overview file keyed by ids, such as `movieId,title,genres,tmdb_id,overview`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: overview file not found")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    if "overview" not in raw.columns:
        raise DataError(f"{path}: expected an 'overview' column, found {', '.join(raw.columns)}")
    return raw


def attach_overviews(
    movies: pd.DataFrame,
    metadata: pd.DataFrame,
    source: str,
    skipped_rows: int = 0,
    id_column: str | None = None,
) -> tuple[pd.DataFrame, MetadataReport]:
    """Fill `movies.overview` from metadata, by id column where both sides have it, else title+year.

    `id_column` is a column present in both tables (e.g. 'tmdb_id' or 'imdb_id'); titles without
    an id match fall back to (normalized title, year) equality, and only unambiguous pairs match.
    """
    movies = movies.copy()
    overview = movies["overview"].copy() if "overview" in movies.columns else pd.Series(
        pd.NA, index=movies.index, dtype="string"
    )
    usable = metadata[metadata["overview"].notna() & (metadata["overview"].str.strip() != "")]
    by_id = 0
    if id_column and id_column in movies.columns and id_column in usable.columns:
        lookup = usable.dropna(subset=[id_column]).drop_duplicates(id_column).set_index(id_column)[
            "overview"
        ]
        found = movies[id_column].map(lookup)
        take = overview.isna() & found.notna()
        overview[take] = found[take]
        by_id = int(take.sum())

    keys = usable.assign(key=usable["title"].map(normalize_title))
    keys = keys[keys["key"] != ""]
    # A (title, year) key that names two different films is ambiguous: match neither.
    counts = keys.groupby(["key", "year"], dropna=False)["overview"].transform("size")
    keys = keys[counts == 1]
    lookup = {(k, None if pd.isna(y) else int(y)): o for k, y, o in zip(keys["key"], keys["year"], keys["overview"])}
    by_title = 0
    missing = overview.isna()
    for index in movies.index[missing]:
        key = (normalize_title(movies.at[index, "title"]), _year(movies.at[index, "year"]))
        text = lookup.get(key)
        if text is not None:
            overview[index] = text
            by_title += 1
    movies["overview"] = overview.astype("string")
    report = MetadataReport(
        source=source,
        rows=int(len(metadata)) + skipped_rows,
        skipped_rows=skipped_rows,
        matched_by_id=by_id,
        matched_by_title=by_title,
        titles=int(len(movies)),
    )
    return movies, report


def _year(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)
