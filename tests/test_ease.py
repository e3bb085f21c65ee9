"""`ease`: Steck's closed form checked against direct least squares, ranking, fold-in, bounds, persistence."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from movierec.core.data.split import user_split
from movierec.core.errors import DataError, UnknownMovieError, UnsupportedError
from movierec.core.evaluation.metrics import ranking_metrics, relevant_items
from movierec.core.models import create_engine
from movierec.core.models.classic.ease import _symmetrize_from_lower, ease_weights, gram_matrix


def _ratings(matrix: np.ndarray) -> pd.DataFrame:
    """A ratings table from a dense users x movies array (0 = not rated); ids are 10+row, 100+column."""
    users, movies = np.nonzero(matrix)
    return pd.DataFrame({"user": users + 10, "movie": movies + 100, "rating": matrix[users, movies]})


@pytest.fixture(scope="module")
def tiny() -> np.ndarray:
    rng = np.random.default_rng(3)
    rated = rng.random((40, 8)) < 0.45
    return np.where(rated, rng.integers(1, 6, (40, 8)), 0).astype(np.float64)


def _ridge_column(x: np.ndarray, i: int, lam: float) -> np.ndarray:
    """Column i of EASE solved directly: ridge regression of movie i on every other movie."""
    others = [j for j in range(x.shape[1]) if j != i]
    a = x[:, others]
    solution = np.linalg.solve(a.T @ a + lam * np.eye(len(others)), a.T @ x[:, i])
    column = np.zeros(x.shape[1])
    column[others] = solution
    return column


def _liked_input(matrix: np.ndarray, disliked: float, low: float, high: float) -> np.ndarray:
    """The binary X: 1 where the user's rating reaches their mean (kept in [middle, 3/4 point] of the scale), else `disliked`."""
    rated = matrix > 0
    means = matrix.sum(axis=1) / np.maximum(rated.sum(axis=1), 1)
    threshold = np.clip(means, (low + high) / 2, low + 0.75 * (high - low))[:, None]
    return np.where(rated, np.where(matrix >= threshold, 1.0, disliked), 0.0)


@pytest.mark.parametrize("binary", [True, False])
def test_ease_weights_equal_a_direct_least_squares_solve_per_movie(tiny, binary):
    engine = create_engine("ease", reg=3.0, binary=binary, dtype="float64").fit(_ratings(tiny))
    x = _liked_input(tiny, 0.7, 1.0, 5.0) if binary else tiny
    expected = np.column_stack([_ridge_column(x, i, 3.0) for i in range(tiny.shape[1])])
    np.testing.assert_allclose(engine.weights_, expected, atol=1e-10)
    assert np.all(np.diag(engine.weights_) == 0)


def test_float32_weights_agree_with_float64(tiny):
    single = create_engine("ease", reg=3.0, dtype="float32").fit(_ratings(tiny))
    double = create_engine("ease", reg=3.0, dtype="float64").fit(_ratings(tiny))
    assert single.weights_.dtype == np.float32
    np.testing.assert_allclose(single.weights_, double.weights_, atol=1e-5)


def test_in_place_inverse_mirrors_every_block():
    rng = np.random.default_rng(0)
    full = rng.random((23, 23))
    full = full + full.T
    lower_only = np.tril(full) + np.triu(rng.random((23, 23)), 1)  # garbage above the diagonal
    _symmetrize_from_lower(lower_only, block=5)
    np.testing.assert_array_equal(lower_only, full)


def test_gram_matrix_in_blocks_equals_the_sparse_product():
    x = sp.random(30, 25, density=0.3, random_state=2, format="csr")
    np.testing.assert_allclose(gram_matrix(x, np.dtype("float64")), (x.T @ x).toarray(), atol=1e-12)


def test_a_gram_matrix_that_is_not_positive_definite_is_a_clear_error():
    with pytest.raises(DataError, match="not positive definite.*raise reg"):
        ease_weights(np.array([[1.0, 2.0], [2.0, 1.0]]))


def test_scores_are_the_users_row_times_the_weights(sample):
    engine = create_engine("ease").fit(sample.ratings)
    user = int(sample.ratings["user"].iloc[0])
    index = engine.users_.position(user)
    low, high = engine.rating_range_
    row = _liked_input(engine.seen_[index].toarray(), engine.disliked, low, high).ravel()
    expected = row @ engine.weights_.astype(np.float64)
    ranked = engine.recommend(user, k=10)
    positions = engine.movies_.index_of(ranked["movie"].to_numpy())
    np.testing.assert_allclose(ranked["score"], expected[positions], rtol=1e-5)
    unseen = np.setdiff1d(np.arange(len(expected)), engine.seen_[index].indices)
    assert ranked["score"].iloc[0] == pytest.approx(expected[unseen].max(), rel=1e-5)
    assert not set(ranked["movie"]) & set(engine.movies_.ids[engine.seen_[index].indices])


def test_ease_ranks_but_does_not_predict_ratings(sample):
    engine = create_engine("ease").fit(sample.ratings)
    assert not engine.predicts_ratings and engine.has_similar_movies and engine.supports_fold_in
    with pytest.raises(UnsupportedError):
        engine.predict([1], [1])


def test_a_new_user_folded_in_gets_the_same_list_as_when_known(sample):
    engine = create_engine("ease").fit(sample.ratings)
    user = int(sample.ratings["user"].iloc[0])
    mine = sample.ratings[sample.ratings["user"] == user]
    folded = engine.recommend_for_ratings(dict(zip(mine["movie"], mine["rating"])), k=10)
    known = engine.recommend(user, k=10)
    assert folded["movie"].tolist() == known["movie"].tolist()
    np.testing.assert_allclose(folded["score"], known["score"], rtol=1e-5)


def test_fold_in_with_ratings_weighs_by_the_rating(tiny):
    engine = create_engine("ease", reg=3.0, binary=False, dtype="float64").fit(_ratings(tiny))
    scores = engine._score_new_user(np.array([0, 2]), np.array([5.0, 1.0]))
    np.testing.assert_allclose(scores, 5.0 * engine.weights_[0] + 1.0 * engine.weights_[2])


def test_similar_movies_read_the_column_of_the_weights(tiny):
    engine = create_engine("ease", reg=3.0, dtype="float64").fit(_ratings(tiny))
    similar = engine.similar_movies(100, k=3)
    row = engine.weights_[:, 0]
    best = [j for j in np.argsort(-row, kind="stable") if j != 0 and row[j] > 0][:3]
    assert similar["movie"].tolist() == [100 + j for j in best]
    np.testing.assert_allclose(similar["score"], row[best])


def test_reasons_name_the_rated_movies_with_the_largest_terms(tiny):
    engine = create_engine("ease", reg=3.0, binary=False, dtype="float64").fit(_ratings(tiny))
    user_row = 0
    rated = np.flatnonzero(tiny[user_row])
    target = int(np.flatnonzero(tiny[user_row] == 0)[0])
    terms = tiny[user_row, rated] * engine.weights_[rated, target]
    liked = _liked_input(tiny, 0.0, 1.0, 5.0)[user_row, rated] == 1.0  # a disliked movie is never a reason
    order = [j for j in np.argsort(-np.where(liked, terms, -np.inf), kind="stable")[:3] if liked[j] and terms[j] > 0]
    (reason,) = engine.reasons(10 + user_row, [100 + target])
    assert [b["movie"] for b in reason["because"]] == [100 + int(rated[j]) for j in order]
    np.testing.assert_allclose([b["contribution"] for b in reason["because"]], terms[order])
    assert [b["rating"] for b in reason["because"]] == tiny[user_row, rated[order]].tolist()
    assert reason["score"] == pytest.approx(engine._score_users(np.array([user_row]))[0, target])
    (text,) = engine.explain(10 + user_row, [100 + target])
    assert all(f"{{movie:{b['movie']}}}" in text for b in reason["because"])


def test_beyond_max_movies_only_the_most_rated_are_kept_and_it_says_so(sample):
    counts = sample.ratings["movie"].value_counts()
    with pytest.warns(UserWarning, match="keeps the 50 most-rated"):
        engine = create_engine("ease", max_movies=50).fit(sample.ratings)
    assert engine.dropped_movies_ == sample.ratings["movie"].nunique() - 50
    assert "modelled 50 of 300" in engine.note_ and "max_movies=50" in engine.note_
    kept = set(engine.movies_.ids[engine.kept_])
    assert min(counts[list(kept)]) >= max(counts.drop(list(kept)))
    user = int(sample.ratings["user"].iloc[0])
    assert set(engine.recommend(user, k=40)["movie"]) <= kept
    assert set(engine.recommend_for_ratings({int(counts.index[0]): 5.0}, k=40)["movie"]) <= kept
    dropped = int(counts.index[-1])
    with pytest.raises(UnknownMovieError, match="max_movies"):
        engine.similar_movies(dropped)
    assert engine.reasons(user, [dropped]) == [None]


def test_movies_with_too_few_ratings_are_left_out_and_named(tiny):
    ratings = _ratings(tiny)
    counts = ratings["movie"].value_counts()
    threshold = int(counts.sort_values().iloc[2]) + 1  # at least three movies fall below
    engine = create_engine("ease", reg=3.0, min_movie_ratings=threshold).fit(ratings)
    kept = set(engine.movies_.ids[engine.kept_])
    assert kept == set(counts[counts >= threshold].index)
    assert engine.dropped_movies_ == len(counts) - len(kept) >= 3 and f"min_movie_ratings={threshold}" in engine.note_
    rare = int(counts.idxmin())
    with pytest.raises(UnknownMovieError, match="min_movie_ratings"):
        engine.similar_movies(rare)
    with pytest.raises(UnknownMovieError, match="min_movie_ratings"):
        engine.recommend_for_ratings({rare: 4.0})
    assert set(engine.recommend(10, k=8)["movie"]) <= kept


def test_no_note_when_every_movie_fits(sample):
    engine = create_engine("ease").fit(sample.ratings)
    assert engine.dropped_movies_ == 0 and engine.note_ is None


@pytest.mark.parametrize("params", [{"reg": 0}, {"reg": "best"}, {"disliked": 2.0}, {"dtype": "float16"},
                                    {"max_movies": 0}, {"min_movie_ratings": 0}, {"min_movie_ratings": 10**6}])
def test_bad_parameters_are_named(sample, params):
    with pytest.raises(DataError, match=next(iter(params))):
        create_engine("ease", **params).fit(sample.ratings)


def test_refit_forgets_the_first_data(sample, tiny):
    engine = create_engine("ease", reg=3.0, dtype="float64").fit(sample.ratings)
    engine.fit(_ratings(tiny))
    fresh = create_engine("ease", reg=3.0, dtype="float64").fit(_ratings(tiny))
    assert engine.weights_.shape == (8, 8) and engine.dropped_movies_ == 0
    np.testing.assert_array_equal(engine.weights_, fresh.weights_)
    assert engine.similar_movies(100, k=3).equals(fresh.similar_movies(100, k=3))


def test_clone_gives_an_unfitted_engine_with_the_same_parameters(sample):
    from sklearn.base import clone

    with pytest.warns(UserWarning, match="77 most-rated"):
        engine = create_engine("ease", reg=123.0, binary=False, max_movies=77).fit(sample.ratings)
    copy = clone(engine)
    assert copy.get_params() == engine.get_params() and not hasattr(copy, "weights_")


def test_saved_engine_reloads_from_any_folder(sample, tmp_path):
    from movierec.core.models.registry import load_engine

    with pytest.warns(UserWarning):
        engine = create_engine("ease", max_movies=120).fit(sample.ratings)
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(engine.save(tmp_path / "saved"), moved)
    shutil.rmtree(tmp_path / "saved")
    loaded = load_engine(moved)
    user = int(sample.ratings["user"].iloc[5])
    assert loaded.recommend(user, k=10).equals(engine.recommend(user, k=10))
    assert loaded.similar_movies(int(loaded.movies_.ids[loaded.kept_[0]]), k=5).equals(
        engine.similar_movies(int(engine.movies_.ids[engine.kept_[0]]), k=5))
    assert loaded.note_ == engine.note_ and loaded.get_params() == engine.get_params()


def test_ease_on_movielens_small_finds_sequels_and_beats_popularity(movielens_small):
    """Real data with the defaults (movies with 5+ ratings: a few seconds)."""
    train, test = user_split(movielens_small.ratings, 0.25, seed=42)
    ease = create_engine("ease").fit(train)
    weighted = create_engine("weighted").fit(train)
    relevant = relevant_items(test, None)
    users = np.fromiter(relevant, dtype=np.int64)

    def ndcg(engine) -> float:
        lists = engine.recommend_many(users, k=10)
        return ranking_metrics(lists, relevant, 10, len(engine.movies_))["ndcg@10"]

    assert ndcg(ease) > 2 * ndcg(weighted)
    assert 3114 in ease.similar_movies(1, k=5)["movie"].tolist()  # Toy Story -> Toy Story 2


def test_a_disliked_movie_is_never_a_reason(tiny):
    engine = create_engine("ease", reg=3.0, dtype="float64").fit(_ratings(tiny))
    x = _liked_input(tiny, 0.7, 1.0, 5.0)
    for row in range(tiny.shape[0]):
        unrated = [100 + int(j) for j in np.flatnonzero(tiny[row] == 0)]
        for reason in engine.reasons(10 + row, unrated):
            for because in reason["because"] if reason else []:
                assert x[row, because["movie"] - 100] == 1.0


def test_five_disliked_movies_do_not_give_the_list_of_five_liked_ones(sample):
    engine = create_engine("ease").fit(sample.ratings)
    movies = [int(m) for m in sample.ratings["movie"].value_counts().index[:5]]
    liked = engine.recommend_for_ratings({m: 5.0 for m in movies}, k=10)
    disliked = engine.recommend_for_ratings({m: 1.0 for m in movies}, k=10)
    assert disliked["movie"].tolist() != liked["movie"].tolist()
    # without a liked movie: the most-rated ones
    counts = sample.ratings["movie"].value_counts()
    assert disliked["movie"].tolist() == [int(m) for m in counts.index if m not in movies][:10]
    mixed = engine.recommend_for_ratings({**{m: 1.0 for m in movies[:3]}, **{m: 5.0 for m in movies[3:]}}, k=10)
    assert mixed["movie"].tolist() != liked["movie"].tolist()  # against liked ones a dislike counts less


def test_auto_reg_picks_a_grid_value_deterministically_and_keeps_it(sample, tmp_path):
    from movierec.core.models import load_engine
    from movierec.core.models.classic.ease import LAMBDA_GRID

    engine = create_engine("ease").fit(sample.ratings)
    again = create_engine("ease").fit(sample.ratings)
    assert engine.reg_used_ in LAMBDA_GRID and engine.reg_used_ == again.reg_used_
    assert len(engine.reg_scores_) == len(LAMBDA_GRID)
    assert engine.reg_used_ == LAMBDA_GRID[int(np.nanargmax(engine.reg_scores_))]
    loaded = load_engine(engine.save(tmp_path / "ease"))
    assert loaded.reg_used_ == engine.reg_used_
    np.testing.assert_array_equal(loaded.reg_scores_, engine.reg_scores_)
