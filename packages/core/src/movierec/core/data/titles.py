"""Finding a movie by the title a person types: fuzzy matches with years, so remakes stay apart.

`find_titles` ranks candidates (rapidfuzz WRatio on case-, accent- and punctuation-free titles);
`resolve_title` turns a title (optionally with a year or 'Title (1999)') into one movie id, or
raises an error that lists the closest titles or, for remakes, every candidate with its year.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from movierec.core.data.metadata import normalize_title, split_title_year
from movierec.core.errors import UnknownMovieError

_LEADING_ARTICLE = re.compile(r"^(the|a|an) ")


class AmbiguousTitleError(UnknownMovieError):
    """Several movies carry the title asked for (remakes); `candidates` lists them."""

    def __init__(self, message: str, candidates: pd.DataFrame) -> None:
        super().__init__(message)
        self.candidates = candidates


def title_key(title: object) -> str:
    """A title as compared here: normalize_title without a leading article ('Matrix, The' -> 'matrix')."""
    if title is None or title is pd.NA or (isinstance(title, float) and np.isnan(title)):
        return ""
    return _LEADING_ARTICLE.sub("", normalize_title(str(title)))


def _keys_of(movies: pd.DataFrame) -> np.ndarray:
    return _title_keys(tuple(movies["title"].astype("string").fillna("").tolist()))


@lru_cache(maxsize=8)
def _title_keys(titles: tuple[str, ...]) -> np.ndarray:
    """Keys of a whole title column, computed once per catalogue (lookups happen per keystroke)."""
    keys = np.array([title_key(t) for t in titles], dtype=object)
    keys.flags.writeable = False  # shared by every caller through the cache
    return keys


def split_query(text: str) -> tuple[str, int | None]:
    """'Heat (1995)' -> ('Heat', 1995); a title without a year suffix -> (title, None)."""
    return split_title_year(text.strip())


def find_titles(movies: pd.DataFrame, text: str, limit: int = 5, year: int | None = None) -> pd.DataFrame:
    """The `limit` best title matches: columns movie, title, year, score (0-100), best first."""
    from rapidfuzz import fuzz, process

    query, query_year = split_query(text)
    year = year if year is not None else query_year
    key = title_key(query)
    keys = _keys_of(movies)
    scores = process.cdist([key], keys, scorer=fuzz.WRatio, dtype=np.float32)[0].astype(np.float64)
    exact = keys == key
    scores[exact] = 100.0
    same_year = np.zeros(len(keys), dtype=bool)
    if year is not None and "year" in movies.columns:
        same_year = (movies["year"].astype("Int16") == year).fillna(False).to_numpy(dtype=bool)
    # an exact title always outranks a fuzzy one; a matching year breaks ties of equal score
    candidates = np.flatnonzero(scores > 0)
    order = np.lexsort((candidates, ~same_year[candidates], -scores[candidates], ~exact[candidates]))
    chosen = candidates[order[: max(int(limit), 0)]]
    return pd.DataFrame(
        {
            "movie": movies["movie"].to_numpy(np.int64)[chosen],
            "title": movies["title"].astype("string").to_numpy()[chosen],
            "year": (movies["year"].astype("Int16").array[chosen] if "year" in movies.columns
                     else pd.array([None] * len(chosen), dtype="Int16")),
            "score": scores[chosen],
        }
    )


def describe(candidates: pd.DataFrame) -> str:
    """'Title (1999) [id 12]; Other (2001) [id 40]' for error messages and listings."""
    return "; ".join(
        f"{row.title}{'' if pd.isna(row.year) else f' ({row.year})'} [id {row.movie}]"
        for row in candidates.itertuples(index=False)
    )


def resolve_title(
    movies: pd.DataFrame, text: str | None = None, year: int | None = None, movie_id: int | None = None
) -> int:
    """One movie id for a title (or an id); clear errors for unknown or ambiguous titles."""
    if movie_id is not None:
        if not (movies["movie"] == int(movie_id)).any():
            raise UnknownMovieError(f"unknown movie id {movie_id}: not in this dataset's movie list")
        return int(movie_id)
    if not text or not text.strip():
        raise UnknownMovieError("give a title (or a movie id) to look up")
    query, query_year = split_query(text)
    year = year if year is not None else query_year
    keys = _keys_of(movies)
    same = movies[keys == title_key(query)]
    if year is not None and len(same) and "year" in movies.columns:
        same = same[same["year"].astype("Int16") == year]
    if len(same) == 1:
        return int(same["movie"].iloc[0])
    if len(same) > 1:
        candidates = find_titles(same, query, limit=len(same))
        raise AmbiguousTitleError(
            f"{len(same)} movies are titled {query!r}: {describe(candidates)}; "
            "pick one with --year or --movie-id",
            candidates,
        )
    closest = find_titles(movies, query, limit=5, year=year)
    wanted = f"{query!r}" + (f" from {year}" if year is not None else "")
    hint = f"; closest titles: {describe(closest)}" if len(closest) else ""
    raise UnknownMovieError(f"no movie titled {wanted}{hint}")
