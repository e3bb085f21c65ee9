"""Finding a movie by the title a person types: fuzzy matches with years, so remakes stay apart.

`find_titles` ranks candidates on case-, accent- and punctuation-free titles: an exact title first,
then titles holding the query's words in order (each word may carry a typo, the last may be cut
short as while typing), the fewer other words the better. rapidfuzz WRatio picks the candidates
to rank; it alone would let short titles inside the query win ('The Matrix' -> 'M', 'godfater' ->
'Go'). `resolve_title` turns a title (optionally with a year or 'Title (1999)') into one movie id, or
raises an error that lists the closest titles or, for remakes, every candidate with its year.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd

from movierec.core.data.metadata import normalize_title, split_title_year
from movierec.core.errors import UnknownMovieError

_LEADING_ARTICLE = re.compile(r"^(the|a|an) ")
_ROMAN = {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9"}  # not i, v, x: words too
CANDIDATES = 300  # titles WRatio lets through to the word-by-word ranking, which costs Python time per title
WORD_MATCH = 82.0  # least rapidfuzz ratio for a typed word to count as a title word ('godfater' ~ 'godfather')
EXTRA_WORDS_WEIGHT = 0.15  # share of the score that titles lose for characters the query lacks
WHOLE_STRING_WEIGHT = 0.9  # a whole-string match ranks below the same match word by word


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


def match_score(query: str, title: str) -> float:
    """0-100: how well a title key holds the query key's words, in order, with few other words."""
    from rapidfuzz import fuzz

    query_words, title_words = _numbered(query.split()), _numbered(title.split())
    if not query_words or not title_words:
        return 0.0
    # best order-keeping alignment of query words to title words (a tiny edit-distance table)
    previous = [0.0] * (len(title_words) + 1)
    for i, word in enumerate(query_words, start=1):
        last = i == len(query_words)
        row = [0.0]
        for j, other in enumerate(title_words, start=1):
            similar = _word_similarity(word, other, fuzz.ratio, typing=last)
            row.append(max(previous[j], row[j - 1], previous[j - 1] + similar))
        previous = row
    found = previous[-1] / len(query_words)
    # among titles holding the query, the one with fewer other characters wins ('Matrix' over 'Matrix Reloaded')
    extra = max(len(title.replace(" ", "")) - len(query.replace(" ", "")), 0) / max(len(title.replace(" ", "")), 1)
    in_order = found * (1.0 - EXTRA_WORDS_WEIGHT * extra)
    # a title typed without its spaces ('toystory') still matches as one string, a little below
    return max(in_order, WHOLE_STRING_WEIGHT * fuzz.ratio(query, title))


def _numbered(words: list[str]) -> list[str]:
    """Roman numerals II..IX as digits, so 'godfather 2' finds 'Godfather: Part II'."""
    return [_ROMAN.get(word, word) for word in words]


def _word_similarity(word: str, other: str, ratio: Callable[[str, str], float], typing: bool) -> float:
    """A query word against a title word: ratio when close enough, 0 otherwise; prefixes count while typing."""
    if word == other:
        return 100.0
    if typing and len(word) >= 2 and other.startswith(word):
        return 95.0
    similar = ratio(word, other)
    return similar if similar >= WORD_MATCH and min(len(word), len(other)) >= 3 else 0.0


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
    rough = process.cdist([key], keys, scorer=fuzz.WRatio, dtype=np.float32)[0]
    scores = np.zeros(len(keys), dtype=np.float64)
    pool = np.flatnonzero(rough > 0)
    pool = pool[np.argsort(-rough[pool], kind="stable")[:CANDIDATES]]
    scores[pool] = [match_score(key, keys[i]) for i in pool]
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
