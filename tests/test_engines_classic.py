"""The classic engines: real quality relations on the sample (and ml-latest-small where cheap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from movierec.core.data.split import holdout_split
from movierec.core.errors import DataError
from movierec.core.evaluation import rmse
from movierec.core.models import create_engine
from movierec.core.models.classic.baseline import fit_biases
from movierec.core.models.classic.neighbours import top_neighbours


@pytest.fixture(scope="module")
def fold(sample) -> tuple[pd.DataFrame, pd.DataFrame]:
    return holdout_split(sample.ratings, 0.2, seed=7)


def _rmse(name: str, train: pd.DataFrame, test: pd.DataFrame, **params) -> float:
    engine = create_engine(name, **params).fit(train)
    return rmse(test["rating"], engine.predict(test["user"], test["movie"]))


@pytest.mark.parametrize("name", ["baseline", "user_knn", "item_knn"])
def test_personalized_engines_beat_the_mean_on_rmse(fold, name):
    train, test = fold
    assert _rmse(name, train, test) < _rmse("mean", train, test) - 0.03


@pytest.mark.parametrize("name", ["user_knn", "item_knn"])
def test_knn_beats_the_baseline_it_falls_back_to(fold, name):
    train, test = fold
    assert _rmse(name, train, test) < _rmse("baseline", train, test)


@pytest.mark.parametrize("center", ["baseline", "mean"])
def test_knn_with_either_centring_beats_the_mean(fold, center):
    train, test = fold
    assert _rmse("user_knn", train, test, center=center) < _rmse("mean", train, test)


@pytest.mark.shared_data
def test_knn_and_baseline_beat_the_mean_on_movielens_small(movielens_small):
    train, test = holdout_split(movielens_small.ratings, 0.2, seed=3)
    mean = _rmse("mean", train, test)
    for name in ("baseline", "user_knn", "item_knn"):
        assert _rmse(name, train, test) < mean - 0.05, name


def _shrunk_correlation(dense: np.ndarray, present: np.ndarray, shrinkage: float) -> np.ndarray:
    """Brute force: pearson_baseline of each pair of rows over the columns both have, shrunk by support."""
    both = present.astype(float) @ present.T.astype(float)
    product = dense @ dense.T
    left = (dense**2) @ present.T.astype(float)
    scale = np.sqrt(left * left.T)
    correlation = np.divide(product, scale, out=np.zeros_like(product), where=scale > 0)
    return correlation * np.divide(both - 1, both - 1 + shrinkage, out=np.zeros_like(both), where=both + shrinkage > 1)


def test_blocked_neighbours_equal_one_big_block_and_brute_force():
    rng = np.random.default_rng(0)
    present = rng.random((60, 25)) < 0.4
    dense = np.where(present, rng.normal(size=(60, 25)), 0.0)
    vectors = sp.csr_matrix(dense)
    small_blocks = top_neighbours(vectors, 5, shrinkage=3.0, block_budget=10)
    one_block = top_neighbours(vectors, 5, shrinkage=3.0, block_budget=10**9)
    np.testing.assert_array_equal(small_blocks[0], one_block[0])
    np.testing.assert_allclose(small_blocks[1], one_block[1])
    similarity = _shrunk_correlation(dense, present, 3.0)
    np.fill_diagonal(similarity, -np.inf)
    for row in range(60):
        expected = np.sort(similarity[row][similarity[row] > 1e-6])[::-1][:5]
        got = small_blocks[1][row][small_blocks[0][row] >= 0]
        np.testing.assert_allclose(got, expected, rtol=1e-5)
        assert row not in small_blocks[0][row]


def _knn_baseline_reference(ratings: pd.DataFrame, k: int, shrinkage: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item-based KNNBaseline by brute force: dense residuals, all similarities, the k nearest rated movies."""
    users, user_idx = np.unique(ratings["user"], return_inverse=True)
    movies, movie_idx = np.unique(ratings["movie"], return_inverse=True)
    mu, user_bias, movie_bias = fit_biases(user_idx, movie_idx, ratings["rating"].to_numpy(), len(users),
                                           len(movies), 15.0, 10.0, 10)
    baseline = mu + user_bias[:, None] + movie_bias[None, :]
    present = np.zeros((len(users), len(movies)), dtype=bool)
    present[user_idx, movie_idx] = True
    residual = np.zeros_like(baseline)
    residual[user_idx, movie_idx] = ratings["rating"].to_numpy() - baseline[user_idx, movie_idx]
    similarity = _shrunk_correlation(residual.T, present.T, shrinkage)
    predicted = baseline.copy()
    for u in range(len(users)):
        for i in range(len(movies)):
            rated = np.flatnonzero(present[u] & (np.arange(len(movies)) != i))
            nearest = rated[np.argsort(-similarity[i, rated], kind="stable")][:k]
            nearest = nearest[similarity[i, nearest] > 0]
            if len(nearest):
                weights = similarity[i, nearest]
                predicted[u, i] += weights @ residual[u, nearest] / weights.sum()
    return users, movies, predicted


def test_item_knn_predicts_from_the_most_similar_movies_the_user_rated():
    rng = np.random.default_rng(3)
    cells = [(u, m) for u in range(40) for m in range(25) if rng.random() < 0.35]
    ratings = pd.DataFrame(cells, columns=["user", "movie"])
    ratings["rating"] = rng.integers(1, 11, len(ratings)) / 2.0
    users, movies, expected = _knn_baseline_reference(ratings, k=4, shrinkage=5.0)
    # every similarity kept as a candidate, no damping: exactly the KNNBaseline rule
    engine = create_engine("item_knn", n_neighbors=4, shrinkage=5.0, n_candidates=25, damping=0.0).fit(ratings)
    grid_users, grid_movies = np.repeat(users, len(movies)), np.tile(movies, len(users))
    np.testing.assert_allclose(engine._predict_indexed(engine.users_.index_of(grid_users),
                                                       engine.movies_.index_of(grid_movies)),
                               expected.ravel(), rtol=1e-6)
    scores = engine._score_users(np.arange(len(users)))
    np.testing.assert_allclose(scores, expected, rtol=1e-6)



def test_item_knn_scores_light_and_heavy_raters_by_the_same_rule():
    # a light rater's scores read only the candidate lists holding their movies, a heavy rater's
    # one pass over every list: both must give the KNNBaseline rule
    rng = np.random.default_rng(5)
    cells = [(u, m) for u in range(60) for m in range(80) if rng.random() < 0.02 + 0.9 * u / 60]
    ratings = pd.DataFrame(cells, columns=["user", "movie"])
    ratings["rating"] = rng.integers(1, 11, len(ratings)) / 2.0
    users, movies, expected = _knn_baseline_reference(ratings, k=5, shrinkage=5.0)
    engine = create_engine("item_knn", n_neighbors=5, shrinkage=5.0, n_candidates=80, damping=0.0).fit(ratings)
    holding = engine._lists_holding()
    entries = [int((holding.indptr[row.indices + 1] - holding.indptr[row.indices]).sum()) for row in engine.seen_]
    bound = engine.neighbors_.size // 8
    assert min(entries) <= bound < max(entries)  # both ways are taken
    np.testing.assert_allclose(engine._score_users(engine.users_.index_of(users)), expected, rtol=1e-6)

def test_movies_with_one_common_rater_are_not_similar():
    # movie 99 has one rater, who rated it and movie 1 alike; the old cosine over full vectors ranked it first
    rng = np.random.default_rng(5)
    ratings = pd.DataFrame([(u, m) for u in range(60) for m in range(1, 11) if rng.random() < 0.7], columns=["user", "movie"])
    ratings["rating"] = rng.integers(1, 6, len(ratings)).astype(float)
    ratings = pd.concat([ratings, pd.DataFrame({"user": [0], "movie": [99], "rating": [5.0]})], ignore_index=True)
    ratings.loc[(ratings["user"] == 0) & (ratings["movie"] == 1), "rating"] = 5.0
    engine = create_engine("item_knn").fit(ratings)
    assert 99 not in engine.similar_movies(1, k=9)["movie"].tolist()
    weights = engine.weights_[engine.movies_.position(99)]
    assert not (weights > 0).any()


def test_fallback_rate_counts_pairs_no_rated_candidate_can_answer(fold):
    train, test = fold
    engine = create_engine("item_knn").fit(train)
    users = np.r_[test["user"].to_numpy(), 10**9]  # an unknown user falls back too
    movies = np.r_[test["movie"].to_numpy(), test["movie"].iloc[0]]
    rated = train.groupby("user")["movie"].apply(set)
    fallback = []
    for user, movie in zip(users.tolist(), movies.tolist()):
        position = engine.movies_.position(movie)
        candidates = set(engine.movies_.ids[engine.neighbors_[position][engine.neighbors_[position] >= 0]].tolist())
        fallback.append(user not in rated.index or position < 0 or not candidates & rated[user])
    assert engine.fallback_rate(users, movies) == pytest.approx(np.mean(fallback))
    assert 0 < engine.fallback_rate(users, movies) < 0.5


@pytest.mark.shared_data
def test_item_knn_rarely_falls_back_on_movielens_small(movielens_small):
    train, test = holdout_split(movielens_small.ratings, 0.2, seed=3)
    engine = create_engine("item_knn").fit(train)
    # the global top-40 neighbour lists fell back for 46 % of test pairs
    assert engine.fallback_rate(test["user"], test["movie"]) < 0.10


@pytest.mark.parametrize("name", ["user_knn", "item_knn"])
def test_knn_refit_equals_a_fresh_fit(sample, name):
    ratings = sample.ratings
    first = ratings.sample(frac=0.5, random_state=1)
    second = ratings.assign(rating=ratings["rating"].to_numpy()[::-1])  # same ids, other ratings
    engine = create_engine(name, n_candidates=20).fit(first)
    engine.recommend(int(first["user"].iloc[0]), k=5)  # fills whatever is derived lazily
    if name == "item_knn":
        engine.similar_movies(int(first["movie"].iloc[0]), k=50)
    engine.fit(second)
    fresh = create_engine(name, n_candidates=20).fit(second)
    np.testing.assert_array_equal(engine.neighbors_, fresh.neighbors_)
    user = int(second["user"].iloc[0])
    pd.testing.assert_frame_equal(engine.recommend(user, k=10), fresh.recommend(user, k=10))


def test_knn_keeps_only_its_candidates_per_row(sample):
    engine = create_engine("user_knn", n_candidates=7).fit(sample.ratings)
    assert engine.neighbors_.shape == (len(engine.users_), 7)
    assert engine.neighbors_.dtype == np.int32 and engine.weights_.dtype == np.float32


def test_knn_falls_back_to_the_baseline_when_no_neighbour_rated_the_movie():
    ratings = pd.DataFrame({"user": [1, 1, 2, 2, 3], "movie": [10, 11, 10, 11, 12], "rating": [5.0, 1.0, 4.0, 2.0, 3.0]})
    knn = create_engine("user_knn").fit(ratings)
    baseline = create_engine("baseline").fit(ratings)
    # user 3 shares no movie with anyone: no neighbours, so the baseline answers
    np.testing.assert_allclose(knn.predict([3, 3], [10, 11]), baseline.predict([3, 3], [10, 11]), rtol=1e-6)


def test_weighted_rating_is_the_imdb_formula():
    # movie 1: 5, 5 (v=2, R=5); movie 2: 1, 3 (v=2, R=2); C = the mean of all ratings = 14/4 = 3.5
    ratings = pd.DataFrame({"user": [1, 2, 1, 2], "movie": [1, 1, 2, 2], "rating": [5.0, 5.0, 1.0, 3.0]})
    engine = create_engine("weighted", m=2.0).fit(ratings)
    # v/(v+m)*R + m/(v+m)*C by hand: 0.5*5 + 0.5*3.5 = 4.25 and 0.5*2 + 0.5*3.5 = 2.75
    np.testing.assert_allclose(engine.predict([1, 1], [1, 2]), [4.25, 2.75], rtol=1e-6)
    # m from the ratings-per-movie quantile when not given: both movies have 2, so m = 2 again
    np.testing.assert_allclose(create_engine("weighted").fit(ratings).predict([1, 1], [1, 2]), [4.25, 2.75])


def test_weighted_rating_shrinks_rarely_rated_movies_towards_the_global_mean(sample):
    mean = create_engine("mean").fit(sample.ratings)
    weighted = create_engine("weighted").fit(sample.ratings)
    c = weighted.global_mean_
    assert np.all(np.abs(weighted.movie_score_ - c) <= np.abs(mean.movie_score_ - c) + 1e-9)


@pytest.mark.shared_data
def test_content_similar_titles_on_real_overviews_find_the_sequels(movielens_small_dir):
    from movierec.core.data import load_dataset

    dataset = load_dataset(
        f"movielens:{movielens_small_dir}", metadata=movielens_small_dir / "movies_with_overview.csv"
    )
    engine = create_engine("content_tfidf").fit(dataset.ratings, dataset.movies)
    # real TMDB overviews: the sequels share names and plots (Woody and Buzz, Corleone, Frodo)
    for movie, sequels in [(1, {3114, 78499}), (858, {1221, 2023}), (4993, {5952, 7153})]:
        top = set(engine.similar_movies(movie, k=5)["movie"].tolist())
        assert sequels <= top, (dataset.title_of(movie), [dataset.title_of(m) for m in top])


def test_content_similar_movies_share_the_genre(sample):
    engine = create_engine("content_tfidf").fit(sample.ratings, sample.movies)
    genres = sample.movies.set_index("movie")["genres"].str.split("|").str[0]
    with_text = sample.movies.loc[sample.movies["overview"].notna(), "movie"].to_numpy()[:30]
    agreement = [
        np.mean(genres.loc[engine.similar_movies(movie, k=5)["movie"]].to_numpy() == genres.loc[movie])
        for movie in with_text
    ]
    assert np.mean(agreement) > 0.6  # chance is about 1/8 genres


def test_movies_without_overview_are_described_by_their_other_text_and_break_nothing(sample):
    engine = create_engine("content_tfidf").fit(sample.ratings, sample.movies)
    missing = sample.movies.loc[sample.movies["overview"].isna(), "movie"].tolist()
    assert missing
    genres = sample.movies.set_index("movie")["genres"].str.split("|").map(set)
    similar = engine.similar_movies(missing[0], k=5)
    # a neighbour shares one of the movie's genres (movie 46 is Romance|Action)
    shared = [bool(genres.loc[m] & genres.loc[missing[0]]) for m in similar["movie"]]
    assert len(similar) == 5 and np.mean(shared) >= 0.6
    top = engine.recommend_for_ratings({missing[0]: 5.0, 1: 5.0}, k=5)
    assert len(top) == 5


def test_content_engine_needs_movie_text(sample):
    no_text = sample.movies.assign(overview=pd.array([None] * len(sample.movies), dtype="string"),
                                   genres=pd.array([None] * len(sample.movies), dtype="string"))
    with pytest.raises(DataError, match="movie text"):
        create_engine("content_tfidf").fit(sample.ratings, no_text)
    with pytest.raises(DataError, match="movies table"):
        create_engine("content_tfidf").fit(sample.ratings)


def test_item_knn_similar_movies_are_its_stored_candidates(sample):
    engine = create_engine("item_knn").fit(sample.ratings)
    similar = engine.similar_movies(5, k=10)
    assert 5 not in similar["movie"].tolist()
    assert np.all(np.diff(similar["score"].to_numpy()) <= 0) and (similar["score"] > 0).all()
    stored = engine.weights_[engine.movies_.position(5)]
    np.testing.assert_allclose(similar["score"].to_numpy()[:5], np.sort(stored)[::-1][:5], rtol=1e-5)


def test_item_knn_reasons_point_at_movies_the_user_liked(sample):
    engine = create_engine("item_knn").fit(sample.ratings)
    user = int(sample.ratings["user"].value_counts().index[0])
    mine = sample.ratings[sample.ratings["user"] == user].set_index("movie")["rating"]
    top = engine.recommend(user, k=10)["movie"]
    reasons = [r for r in engine.reasons(user, top) if r is not None]
    assert reasons
    for reason in reasons:
        assert mine.loc[reason["movie"]] == reason["rating"] >= max(mine.mean(), 3.0)


def test_fold_in_follows_the_taste_it_is_given(sample):
    genres = sample.movies.set_index("movie")["genres"].str.split("|").str[0]
    horror = [m for m in genres.index[genres == "Horror"] if m in set(sample.ratings["movie"])][:5]
    for name in ("item_knn", "content_tfidf", "user_knn"):
        engine = create_engine(name).fit(sample.ratings, sample.movies)
        top = engine.recommend_for_ratings({m: 5.0 for m in horror} | {1000000: 3.0}, k=10)
        assert np.mean(genres.loc[top["movie"]].to_numpy() == "Horror") >= 0.5, name


def test_item_knn_similar_movies_agree_between_stored_neighbours_and_the_exact_row(sample):
    engine = create_engine("item_knn", n_candidates=10).fit(sample.ratings)
    stored = engine.similar_movies(5, k=9)  # answered from the kept candidates
    exact = engine.similar_movies(5, k=11)  # more than are kept: the exact row
    assert stored["movie"].tolist() == exact["movie"].tolist()[:9]
    np.testing.assert_allclose(stored["score"], exact["score"].to_numpy()[:9], rtol=1e-5)


def test_sampled_neighbour_search_still_beats_the_mean(fold):
    train, test = fold
    assert _rmse("user_knn", train, test, max_shared=100) < _rmse("mean", train, test) - 0.03


def test_content_tfidf_refit_on_other_movies_forgets_the_first_catalogue(sample):
    from movierec.core.models import create_engine

    movies = sample.movies[sample.movies["overview"].notna()]
    first, second = movies.iloc[:150], movies.iloc[150:]
    engine = create_engine("content_tfidf")
    engine.fit(sample.ratings[sample.ratings["movie"].isin(first["movie"])], first)
    engine.similar_movies(int(first["movie"].iloc[0]), k=3)  # fills the lookups
    engine.fit(sample.ratings[sample.ratings["movie"].isin(second["movie"])], second)
    similar = engine.similar_movies(int(second["movie"].iloc[0]), k=5)
    assert set(similar["movie"]) <= set(second["movie"])


def test_item_knn_reasons_name_the_rated_neighbours_that_raised_this_score(sample):
    engine = create_engine("item_knn").fit(sample.ratings)
    user = int(sample.ratings["user"].value_counts().index[3])
    index = engine.users_.position(user)
    mine = sample.ratings[sample.ratings["user"] == user].set_index("movie")["rating"]
    liked_from = max(mine.mean(), 3.0)
    scores = engine._score_users(np.array([index]))[0]
    order = np.argsort(-scores)
    asked = engine.movies_.ids[np.r_[order[:15], order[-15:]]]
    for movie, reason in zip(asked, engine.reasons(user, asked)):
        position = engine.movies_.position(int(movie))
        used = [(engine.movies_.ids[n], w) for n, w in zip(engine.neighbors_[position], engine.weights_[position])
                if n >= 0 and engine.movies_.ids[n] in mine.index][: engine.n_neighbors]
        pushes = {m: w * (mine[m] - engine._centre(np.array([index]), engine.movies_.index_of(np.array([m])))[0])
                  for m, w in used if mine[m] >= liked_from}
        pushes = {m: p for m, p in pushes.items() if p > 0}
        if not pushes:
            assert reason is None  # absent rather than arbitrary
            continue
        assert reason["movie"] == max(pushes, key=pushes.get)
        assert [r["movie"] for r in reason["because"]] == sorted(pushes, key=lambda m: -pushes[m])[:3]
    assert any(r is not None for r in engine.reasons(user, asked))
    # a user who liked nothing gets no reason rather than an arbitrary one
    grumpy = sample.ratings[sample.ratings["user"] == user].assign(user=-7, rating=1.0)
    engine = create_engine("item_knn").fit(pd.concat([sample.ratings, grumpy], ignore_index=True))
    assert engine.reasons(-7, engine.recommend(-7, k=10)["movie"]) == [None] * 10


def test_user_knn_reasons_count_the_neighbours_who_raised_the_score(sample):
    engine = create_engine("user_knn").fit(sample.ratings)
    user = int(sample.ratings["user"].value_counts().index[3])
    top = engine.recommend(user, k=10)["movie"]
    texts = [t for t in engine.explain(user, top) if t is not None]
    assert texts and all("of the users most like you rated it" in t for t in texts)
