"""A movie's text and its TF-IDF vector, shared by the text engines (content_tfidf, keras_hybrid, LightFM).

A movie's text is its overview; a movie without one is described by its genres and its users'
tags (MovieLens `tags.csv`) plus its title words. Title words alone describe nothing (a Netflix
title file without overviews leaves every movie without text), so they count only next to genres
or tags.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.data.movielens import NO_GENRES  # MovieLens's genres of a movie without any
from movierec.core.errors import DataError

# sklearn's ValueError texts when the data, not the code, leaves no vocabulary
_DEGENERATE = ("no terms remain", "empty vocabulary", "max_df corresponds to < documents than min_df")

SOURCE_OVERVIEWS = "overviews"
SOURCE_DESCRIPTIONS = "genres, tags and title words"
SOURCE_BOTH = "overviews, else genres, tags and title words"


def _present(values: pd.Series) -> np.ndarray:
    """True where a text column holds more than white space."""
    return (values.notna() & (values.astype("string").str.strip() != "")).to_numpy(dtype=bool)


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    """A text column of `table`, all NA when the table lacks it (genres and tags are optional)."""
    if name in table.columns:
        return table[name].astype("string")
    return pd.Series(pd.NA, index=table.index, dtype="string")


def movie_texts(movies: pd.DataFrame, ids: np.ndarray) -> pd.Series:
    """Each id's text (first row per movie): its overview, else genres, tags and title words; NA when none."""
    table = movies.drop_duplicates("movie").set_index("movie").reindex(np.asarray(ids))
    overview = _column(table, "overview")
    genres = _column(table, "genres").str.replace(NO_GENRES, "", regex=False)
    tags = _column(table, "tags")
    # '|' joins genres and tags; 'Sci-Fi' stays one token
    described = (genres.fillna("") + " " + tags.fillna("")).str.replace("|", " ", regex=False).str.replace(
        "-", "", regex=False
    ).str.strip()
    description = (described + " " + _column(table, "title").fillna("")).where(described != "")
    return overview.where(_present(overview), description)


def has_text(texts: pd.Series) -> np.ndarray:
    """True where a text holds more than white space."""
    return _present(texts)


def text_source(movies: pd.DataFrame) -> str | None:
    """What `movie_texts` makes of this table: overviews, genres/tags/titles, both, or None (no text)."""
    overviews = bool(_present(_column(movies, "overview")).any())
    genres = _column(movies, "genres").str.replace(NO_GENRES, "", regex=False)
    descriptions = bool(_present(genres).any() or _present(_column(movies, "tags")).any())
    if overviews and descriptions:
        every_overview = bool(_present(_column(movies, "overview")).all())
        return SOURCE_OVERVIEWS if every_overview else SOURCE_BOTH
    if overviews:
        return SOURCE_OVERVIEWS
    return SOURCE_DESCRIPTIONS if descriptions else None


def text_tfidf(
    movies: pd.DataFrame, ids: np.ndarray, *, empty_in_idf: bool = False, **vectorizer_options: Any
) -> tuple[sp.csr_matrix, np.ndarray]:
    """TF-IDF rows (English stop words) of `ids`' texts and which ids have text; empty rows elsewhere.

    `empty_in_idf` fits on every id, so movies without text count as documents in the IDF
    (LightFM's item features were built that way); otherwise only the texts are fitted.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = movie_texts(movies, ids)
    with_text = has_text(texts)
    fitted = texts.fillna("").astype(str) if empty_in_idf else texts[with_text].astype(str)
    vectorizer = TfidfVectorizer(stop_words="english", **vectorizer_options)
    try:
        matrix = vectorizer.fit_transform(fitted.tolist()).tocsr()
    except ValueError as error:
        if not any(text in str(error) for text in _DEGENERATE):
            raise
        options = ", ".join(f"{key}={value!r}" for key, value in sorted(vectorizer_options.items()))
        raise DataError(
            f"movie text TF-IDF: {int(with_text.sum())} of {len(with_text)} movies have text (an overview, "
            f"or genres or tags) and, with English stop words removed and options ({options or 'defaults'}), "
            f"no term is left to describe them ({error}); give more movies with distinct text or loosen min_df/max_df"
        ) from error
    if not empty_in_idf:
        matrix = _place_rows(matrix, np.flatnonzero(with_text), len(with_text))
    matrix.sort_indices()
    return matrix, with_text


def _place_rows(matrix: sp.csr_matrix, rows: np.ndarray, n_rows: int) -> sp.csr_matrix:
    """A n_rows-row CSR with `matrix`'s rows at the ascending positions `rows`, empty rows elsewhere."""
    lengths = np.zeros(n_rows, dtype=np.int64)
    lengths[rows] = np.diff(matrix.indptr)
    indptr = np.r_[0, np.cumsum(lengths)]
    return sp.csr_matrix((matrix.data, matrix.indices, indptr), shape=(n_rows, matrix.shape[1]))
