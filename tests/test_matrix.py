"""Sparse user x movie matrices: no dense pivot, id mappings both ways, unknown ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from movierec.core.data import IdIndex, build_matrix, make_ratings
from movierec.core.errors import DataError


@pytest.fixture
def ratings() -> pd.DataFrame:
    return make_ratings([7, 7, 3, 900, 3], [50, 10, 10, 20, 50], [4.0, 3.5, 5.0, 1.0, 2.0])


def test_matrix_holds_every_rating_at_its_ids(ratings: pd.DataFrame) -> None:
    built = build_matrix(ratings)
    assert sp.issparse(built.matrix) and built.matrix.format == "csr"
    assert built.shape == (3, 3) and built.matrix.nnz == 5
    assert built.users.ids.tolist() == [3, 7, 900] and built.movies.ids.tolist() == [10, 20, 50]
    for user, movie, rating in zip(ratings["user"], ratings["movie"], ratings["rating"]):
        assert built.matrix[built.users.position(user), built.movies.position(movie)] == rating


def test_id_mappings_go_both_ways(ratings: pd.DataFrame) -> None:
    index = IdIndex.from_values(ratings["user"])
    positions = index.index_of([900, 3, 7])
    assert positions.tolist() == [2, 0, 1]
    assert index.id_of(positions).tolist() == [900, 3, 7]
    with pytest.raises(DataError, match="positions must be in 0..2"):
        index.id_of([3])


def test_unknown_ids_map_to_minus_one() -> None:
    small = IdIndex.from_values(np.array([5, 2, 9, 2]))
    large = IdIndex.from_values(np.array([5, 2, 9, 3_000_000_000], dtype=np.int64))  # binary-search path
    for index in (small, large):
        assert index.index_of([2, 4, -1, 10**12]).tolist() == [0, -1, -1, -1]
        assert 9 in index and 4 not in index and "x" not in index
    assert IdIndex(np.array([], dtype=np.int64)).index_of([1]).tolist() == [-1]


def test_a_test_fold_against_a_train_index_counts_what_it_leaves_out(ratings: pd.DataFrame) -> None:
    train = build_matrix(ratings.iloc[:3])
    test = make_ratings([7, 3, 42], [10, 99, 10], [2.0, 3.0, 4.0])
    built = build_matrix(test, train.users, train.movies)
    assert built.shape == train.shape and built.matrix.nnz == 1 and built.dropped == 2


def test_an_empty_index_stays_empty(ratings: pd.DataFrame) -> None:
    built = build_matrix(ratings, users=IdIndex(np.array([], dtype=np.int64)))
    assert built.shape == (0, 3) and built.dropped == len(ratings)


def test_repeated_pairs_keep_the_last_rating_not_the_sum() -> None:
    built = build_matrix(make_ratings([1, 1, 2], [5, 5, 5], [2.0, 4.0, 3.0]))
    assert built.matrix[0, 0] == 4.0 and built.duplicates == 1


def test_interactions_without_values_are_ones(ratings: pd.DataFrame) -> None:
    built = build_matrix(ratings, values=None)
    assert built.matrix.sum() == 5 and set(built.matrix.data) == {1.0}


def test_ids_must_be_sorted_and_unique() -> None:
    with pytest.raises(DataError, match="sorted and unique"):
        IdIndex(np.array([3, 1]))


@settings(max_examples=50, deadline=None, database=None)
@given(pairs=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 5)), max_size=30))
def test_loading_keeps_the_same_rating_of_a_repeated_pair_as_the_matrix(pairs: list[tuple[int, int, int]]) -> None:
    from movierec.core.data.tables import drop_repeated_ratings

    ratings = make_ratings([p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs])
    kept, dropped = drop_repeated_ratings(ratings)
    assert dropped == len(ratings) - len({(u, m) for u, m, _ in pairs})
    assert not kept.duplicated(["user", "movie"]).any()
    last = {(u, m): r for u, m, r in pairs}  # a later rating of the pair replaces the earlier
    assert {(u, m): r for u, m, r in zip(kept["user"], kept["movie"], kept["rating"])} == last
    if len(ratings):
        full, once = build_matrix(ratings), build_matrix(kept)
        assert (full.matrix != once.matrix).nnz == 0 and full.duplicates == dropped
