"""Finding movies by the title a person types, remakes included."""

from __future__ import annotations

import pytest

from movierec.core.data import make_movies
from movierec.core.data.titles import AmbiguousTitleError, find_titles, resolve_title, title_key
from movierec.core.errors import UnknownMovieError


@pytest.fixture(scope="module")
def movies():
    return make_movies(
        [1, 2, 3, 4, 5],
        ["The Wild Hollow", "The Wild Hollow", "Matrix, The", "Toy Story", "Toy Story 2"],
        [2001, 1970, 1999, 1995, 1999],
    )


def test_title_keys_ignore_case_punctuation_accents_and_articles():
    assert title_key("Matrix, The") == title_key("the matrix") == "matrix"
    assert title_key("Amélie!") == "amelie"


def test_a_typo_still_finds_the_movie(movies):
    found = find_titles(movies, "toy stroy", limit=2)
    assert found["movie"].tolist()[0] in (4, 5)
    assert list(found.columns) == ["movie", "title", "year", "score"]


def test_remakes_are_listed_with_their_years(movies):
    found = find_titles(movies, "wild hollow", limit=2)
    assert sorted(found["movie"].tolist()) == [1, 2]
    assert sorted(found["year"].tolist()) == [1970, 2001]
    assert (found["score"] == 100).all()


def test_an_exact_title_resolves_to_its_id(movies):
    assert resolve_title(movies, "the matrix") == 3
    assert resolve_title(movies, "Toy Story") == 4


def test_an_ambiguous_title_lists_candidates_and_asks_for_a_year(movies):
    with pytest.raises(AmbiguousTitleError, match=r"\(2001\).*\(1970\)|\(1970\).*\(2001\)") as error:
        resolve_title(movies, "The Wild Hollow")
    assert "--year" in str(error.value)
    assert sorted(error.value.candidates["movie"].tolist()) == [1, 2]


def test_a_year_or_id_picks_one_remake(movies):
    assert resolve_title(movies, "The Wild Hollow", year=1970) == 2
    assert resolve_title(movies, "The Wild Hollow (2001)") == 1
    assert resolve_title(movies, movie_id=2) == 2


def test_an_unknown_title_suggests_the_closest(movies):
    with pytest.raises(UnknownMovieError, match="closest titles: Toy Story"):
        resolve_title(movies, "Toy Storey")
    with pytest.raises(UnknownMovieError, match="unknown movie id 99"):
        resolve_title(movies, movie_id=99)


@pytest.fixture(scope="module")
def catalogue():
    """Short titles that sit inside longer queries ('M' in 'matrix', 'Go' in 'godfather') next to the real ones."""
    return make_movies(
        list(range(1, 15)),
        ["M", "Matrix, The", "Matrix Reloaded, The", "Animatrix, The", "Go", "O", "Water", "Godfather, The",
         "Godfather: Part II, The", "Father of the Bride Part II", "Star Wars: Episode V - The Empire Strikes Back",
         "Empire of the Sun", "Star Wars: Episode IV - A New Hope", "Toy Story"],
        [1931, 1999, 2003, 2003, 1999, 2001, 2005, 1972, 1974, 1991, 1980, 1987, 1977, 1995],
    )


def titles(found) -> list[str]:
    return found["title"].tolist()


def test_the_matrix_lists_matrix_titles_before_short_titles_inside_it(catalogue):
    matrix_titles = ["Matrix, The", "Matrix Reloaded, The", "Animatrix, The"]
    assert titles(find_titles(catalogue, "The Matrix", limit=3)) == matrix_titles
    assert titles(find_titles(catalogue, "the matrx", limit=2)) == ["Matrix, The", "Matrix Reloaded, The"]


def test_a_misspelt_godfather_finds_the_godfather_not_go_or_o(catalogue):
    found = titles(find_titles(catalogue, "godfater", limit=3))
    assert found[:2] == ["Godfather, The", "Godfather: Part II, The"]
    assert not {"Go", "O"} & set(found)


def test_titles_holding_the_query_words_in_order_come_first(catalogue):
    empire = ["Star Wars: Episode V - The Empire Strikes Back"]
    assert titles(find_titles(catalogue, "star wars empire", limit=1)) == empire
    assert titles(find_titles(catalogue, "empire sun", limit=1)) == ["Empire of the Sun"]


def test_a_half_typed_last_word_and_a_numbered_sequel_are_understood(catalogue):
    empire = ["Star Wars: Episode V - The Empire Strikes Back"]
    assert titles(find_titles(catalogue, "star wars emp", limit=1)) == empire
    assert titles(find_titles(catalogue, "godfather 2", limit=1)) == ["Godfather: Part II, The"]
    assert titles(find_titles(catalogue, "toystory", limit=1)) == ["Toy Story"]


def test_an_unknown_title_suggests_titles_with_its_words(catalogue):
    with pytest.raises(UnknownMovieError, match="closest titles: Matrix, The \\(1999\\) \\[id 2\\]; Matrix Reloaded"):
        resolve_title(catalogue, "matrx")


def test_matrix_and_godfather_on_movielens_small(movielens_small):
    matrix = find_titles(movielens_small.movies, "The Matrix", limit=3)
    assert (matrix["title"].iloc[0], matrix["year"].iloc[0]) == ("Matrix, The", 1999)
    assert all(title.startswith("Matrix") for title in titles(matrix))
    godfather = find_titles(movielens_small.movies, "godfater", limit=3)
    assert titles(godfather)[0] == "Godfather, The"
    assert not {"Go", "O", "M"} & (set(titles(godfather)) | set(titles(matrix)))
