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
