"""Overview TF-IDF shared by the text engines, and unit-length movie vectors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.core.errors import DataError
from movierec.core.models.registry import create_engine
from movierec.core.models.text import overview_tfidf
from movierec.core.models.vectors import cached_unit_rows, unit_rows

MOVIES = pd.DataFrame({
    "movie": [30, 10, 20, 40, 10],
    "overview": pd.array([
        "A pirate captain sails the stormy sea for buried gold.",
        "A detective hunts a killer through the rainy city.",
        None,
        "   ",
        "A duplicate row that the first row for movie 10 overrides.",
    ], dtype="string"),
})


def test_rows_follow_the_asked_ids_and_movies_without_overview_get_empty_rows():
    ids = np.array([40, 10, 99, 30, 20])
    matrix, has_text = overview_tfidf(MOVIES, ids)
    assert matrix.shape[0] == len(ids)
    assert has_text.tolist() == [False, True, False, True, False]
    assert np.diff(matrix.indptr)[~has_text].tolist() == [0, 0, 0]
    assert (np.diff(matrix.indptr)[has_text] > 0).all()
    # each text row holds its own words: the two overviews share no term
    detective, pirate = matrix[1].toarray().ravel(), matrix[3].toarray().ravel()
    assert detective @ pirate == 0
    assert np.linalg.norm(detective) == pytest.approx(1.0) and np.linalg.norm(pirate) == pytest.approx(1.0)


def test_row_order_does_not_change_the_vectors():
    forward, _ = overview_tfidf(MOVIES, np.array([10, 30]))
    backward, _ = overview_tfidf(MOVIES, np.array([30, 10]))
    assert (forward[0] != backward[1]).nnz == 0 and (forward[1] != backward[0]).nnz == 0


def test_two_identical_overviews_raise_a_data_error_naming_the_options():
    twins = pd.DataFrame({"movie": [1, 2], "overview": ["A quiet town.", "A quiet town."]})
    with pytest.raises(DataError, match=r"2 of 2 movies have an overview.*max_df=0\.5"):
        overview_tfidf(twins, np.array([1, 2]), max_df=0.5)


def test_overviews_of_stop_words_only_raise_a_data_error():
    empty = pd.DataFrame({"movie": [1], "overview": ["the and of it"]})
    with pytest.raises(DataError, match="no term is left"):
        overview_tfidf(empty, np.array([1]))


def test_unit_rows_have_length_one_and_zero_rows_stay_zero():
    matrix = np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]], dtype=np.float32)
    unit = unit_rows(matrix)
    assert unit.dtype == np.float64
    assert np.allclose(unit, [[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]])


def test_cached_unit_rows_are_recomputed_after_a_refit():
    first = pd.DataFrame({"user": [1, 1, 2], "movie": [1, 2, 1], "rating": [5.0, 3.0, 4.0]})
    second = pd.DataFrame({"user": [1, 2, 3], "movie": [7, 8, 9], "rating": [2.0, 3.0, 4.0]})
    engine = create_engine("baseline").fit(first)
    rows = cached_unit_rows(engine, np.array([[2.0, 0.0], [0.0, 3.0]]))
    assert cached_unit_rows(engine, np.array([[9.0, 9.0]])) is rows  # kept while the fit stands
    engine.fit(second)
    assert np.allclose(cached_unit_rows(engine, np.array([[0.0, 5.0]])), [[0.0, 1.0]])
