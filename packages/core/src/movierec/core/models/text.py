"""TF-IDF vectors of movie overviews, one row per asked movie id, shared by the text engines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.errors import DataError

# sklearn's ValueError texts when the data, not the code, leaves no vocabulary
_DEGENERATE = ("no terms remain", "empty vocabulary", "max_df corresponds to < documents than min_df")


def overview_texts(movies: pd.DataFrame, ids: np.ndarray) -> pd.Series:
    """The overview of each id in `ids` (first row per movie), NA where the table has none."""
    return movies.drop_duplicates("movie").set_index("movie")["overview"].reindex(np.asarray(ids))


def has_overview(texts: pd.Series) -> np.ndarray:
    """True where an overview holds more than white space."""
    return (texts.notna() & (texts.astype("string").str.strip() != "")).to_numpy(dtype=bool)


def overview_tfidf(
    movies: pd.DataFrame, ids: np.ndarray, *, empty_in_idf: bool = False, **vectorizer_options: Any
) -> tuple[sp.csr_matrix, np.ndarray]:
    """TF-IDF rows (English stop words) of `ids`' overviews and which ids have text; empty rows elsewhere.

    `empty_in_idf` fits on every id, so movies without text count as documents in the IDF
    (LightFM's item features were built that way); otherwise only the overviews are fitted.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = overview_texts(movies, ids)
    has_text = has_overview(texts)
    fitted = texts.fillna("").astype(str) if empty_in_idf else texts[has_text].astype(str)
    vectorizer = TfidfVectorizer(stop_words="english", **vectorizer_options)
    try:
        matrix = vectorizer.fit_transform(fitted.tolist()).tocsr()
    except ValueError as error:
        if not any(text in str(error) for text in _DEGENERATE):
            raise
        options = ", ".join(f"{key}={value!r}" for key, value in sorted(vectorizer_options.items()))
        raise DataError(
            f"overview TF-IDF: {int(has_text.sum())} of {len(has_text)} movies have an overview and, "
            f"with English stop words removed and options ({options or 'defaults'}), no term is left "
            f"to describe them ({error}); give more movies with distinct overviews or loosen min_df/max_df"
        ) from error
    if not empty_in_idf:
        matrix = _place_rows(matrix, np.flatnonzero(has_text), len(has_text))
    matrix.sort_indices()
    return matrix, has_text


def _place_rows(matrix: sp.csr_matrix, rows: np.ndarray, n_rows: int) -> sp.csr_matrix:
    """A n_rows-row CSR with `matrix`'s rows at the ascending positions `rows`, empty rows elsewhere."""
    lengths = np.zeros(n_rows, dtype=np.int64)
    lengths[rows] = np.diff(matrix.indptr)
    indptr = np.r_[0, np.cumsum(lengths)]
    return sp.csr_matrix((matrix.data, matrix.indices, indptr), shape=(n_rows, matrix.shape[1]))
