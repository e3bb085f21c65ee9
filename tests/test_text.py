"""Movie text (overview, else genres, tags and title words) and its TF-IDF, user tags, unit-length movie vectors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.core.errors import DataError
from movierec.core.models.registry import create_engine
from movierec.core.data.tags import attach_tags, read_tags
from movierec.core.models.text import (
    SOURCE_BOTH, SOURCE_DESCRIPTIONS, SOURCE_OVERVIEWS, movie_texts, text_source, text_tfidf,
)
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
    matrix, has_text = text_tfidf(MOVIES, ids)
    assert matrix.shape[0] == len(ids)
    assert has_text.tolist() == [False, True, False, True, False]
    assert np.diff(matrix.indptr)[~has_text].tolist() == [0, 0, 0]
    assert (np.diff(matrix.indptr)[has_text] > 0).all()
    # each text row holds its own words: the two overviews share no term
    detective, pirate = matrix[1].toarray().ravel(), matrix[3].toarray().ravel()
    assert detective @ pirate == 0
    assert np.linalg.norm(detective) == pytest.approx(1.0) and np.linalg.norm(pirate) == pytest.approx(1.0)


def test_row_order_does_not_change_the_vectors():
    forward, _ = text_tfidf(MOVIES, np.array([10, 30]))
    backward, _ = text_tfidf(MOVIES, np.array([30, 10]))
    assert (forward[0] != backward[1]).nnz == 0 and (forward[1] != backward[0]).nnz == 0


def test_two_identical_overviews_raise_a_data_error_naming_the_options():
    twins = pd.DataFrame({"movie": [1, 2], "overview": ["A quiet town.", "A quiet town."]})
    with pytest.raises(DataError, match=r"2 of 2 movies have text.*max_df=0\.5"):
        text_tfidf(twins, np.array([1, 2]), max_df=0.5)


def test_overviews_of_stop_words_only_raise_a_data_error():
    empty = pd.DataFrame({"movie": [1], "overview": ["the and of it"]})
    with pytest.raises(DataError, match="no term is left"):
        text_tfidf(empty, np.array([1]))


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


DESCRIBED = pd.DataFrame({
    "movie": [1, 2, 3, 4],
    "title": ["Toy Story", "Toy Story 2", "Heat", "Untold"],
    "genres": pd.array(["Animation|Children", "Animation|Sci-Fi", "Crime", "(no genres listed)"], dtype="string"),
    "overview": pd.array(["A cowboy doll fears a new space toy.", None, None, None], dtype="string"),
    "tags": pd.array([None, "pixar|sequel", None, None], dtype="string"),
})


def test_a_movie_without_overview_is_described_by_genres_tags_and_title_words():
    texts = movie_texts(DESCRIBED, np.array([1, 2, 3, 4, 99]))
    assert texts.iloc[0] == "A cowboy doll fears a new space toy."  # an overview wins
    assert texts.iloc[1] == "Animation SciFi pixar sequel Toy Story 2"
    assert texts.iloc[2] == "Crime Heat"
    # no genres and no tags: the title alone describes nothing
    assert pd.isna(texts.iloc[3]) and pd.isna(texts.iloc[4])


def test_tfidf_of_described_movies_links_the_sequel_by_its_title_and_genres():
    matrix, has = text_tfidf(DESCRIBED, np.array([1, 2, 3, 4]))
    assert has.tolist() == [True, True, True, False]
    heat, sequel = matrix[2].toarray().ravel(), matrix[1].toarray().ravel()
    assert heat @ sequel == 0 and np.diff(matrix.indptr)[3] == 0


def test_text_source_names_what_the_text_is_made_of():
    assert text_source(DESCRIBED) == SOURCE_BOTH
    assert text_source(DESCRIBED.assign(overview=pd.NA)) == SOURCE_DESCRIPTIONS
    assert text_source(MOVIES.iloc[:2]) == SOURCE_OVERVIEWS
    titles_only = pd.DataFrame({"movie": [1, 2], "title": ["Heat", "Ronin"], "overview": [None, None]})
    assert text_source(titles_only) is None


def test_tags_are_distinct_per_movie_most_used_first_and_blank_ones_counted(tmp_path):
    path = tmp_path / "tags.csv"
    path.write_text("userId,movieId,tag,timestamp\r\n1,1,fun,1\r\n2,1,Pixar,2\r\n3,1,pixar,3\r\n"
                    "4,2,a|b,4\r\n5,2,  ,5\r\n", encoding="utf-8")
    tags = read_tags(path)
    assert tags.by_movie.to_dict() == {1: "Pixar|fun", 2: "a b"}
    assert (tags.rows, tags.empty) == (4, 1)
    assert tags.sentence() == "tags.csv: 4 tags on 2 movies, used as movie text; 1 empty tag(s) skipped"
    movies = pd.DataFrame({"movie": np.array([1, 3], dtype=np.int32), "title": ["Toy Story", "Heat"]})
    tagged, _ = attach_tags(movies, path)
    assert tagged["tags"].iloc[0] == "Pixar|fun" and pd.isna(tagged["tags"].iloc[1])


def test_a_bad_tags_file_names_the_file_and_line(tmp_path):
    path = tmp_path / "tags.csv"
    path.write_text("userId,movieId,tag,timestamp\n1,1,fun,1\n2,x7,odd,2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"tags\.csv:3: movie id 'x7' is not an integer"):
        read_tags(path)
    path.write_text("userId,tag\n1,fun\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"tags\.csv:1: missing column\(s\) movieId"):
        read_tags(path)
    path.write_bytes(b"userId,movieId,tag,timestamp\n1,1,caf\xe9,1\n")
    with pytest.raises(DataError, match=r"tags\.csv: not UTF-8"):
        read_tags(path)


def test_movielens_tags_reach_the_movies_table_and_content_similarity(movielens_small):
    from movierec.core.models import create_engine

    toy_story = movielens_small.movies.set_index("movie").loc[1]
    assert "pixar" in str(toy_story["tags"]).lower() and pd.isna(toy_story["overview"])
    assert any(note.startswith("tags.csv: 3,683 tags") for note in movielens_small.notes)
    engine = create_engine("content_tfidf").fit(movielens_small.ratings, movielens_small.movies)
    similar = [movielens_small.title_of(m) for m in engine.similar_movies(1, k=5, min_ratings=5)["movie"]]
    assert {"Toy Story 2", "Toy Story 3"} <= set(similar)
