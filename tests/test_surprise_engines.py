"""The eleven scikit-surprise algorithms as engines: same answers as Surprise, faster questions."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("surprise")

from conftest import check_factor_reasons  # noqa: E402
from movierec.core.errors import UnsupportedError  # noqa: E402
from movierec.core.models.registry import create_engine, engine_names, load_engine  # noqa: E402

SURPRISE_ENGINES = {
    "surprise_svd": "SVD",
    "surprise_svdpp": "SVDpp",
    "surprise_nmf": "NMF",
    "surprise_slopeone": "SlopeOne",
    "surprise_normalpredictor": "NormalPredictor",
    "surprise_knnbaseline": "KNNBaseline",
    "surprise_knnbasic": "KNNBasic",
    "surprise_knnwithmeans": "KNNWithMeans",
    "surprise_knnwithzscore": "KNNWithZScore",
    "surprise_baselineonly": "BaselineOnly",
    "surprise_coclustering": "CoClustering",
}
DETERMINISTIC = [name for name in SURPRISE_ENGINES if name != "surprise_normalpredictor"]


@pytest.fixture(scope="module")
def folds(sample) -> tuple[pd.DataFrame, pd.DataFrame]:
    """400 users of the sample (about 14,000 ratings), 10% of them held out."""
    ratings = sample.ratings
    ratings = ratings[ratings["user"].isin(np.unique(ratings["user"])[:400])].reset_index(drop=True)
    test = np.random.default_rng(7).random(len(ratings)) < 0.1
    return ratings[~test].reset_index(drop=True), ratings[test].reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(folds) -> dict:
    train, _ = folds
    return {name: create_engine(name).fit(train) for name in SURPRISE_ENGINES}


def _surprise_estimates(algo, users, movies) -> np.ndarray:
    return np.array([algo.predict(int(u), int(m)).est for u, m in zip(users, movies)])


def test_every_surprise_algorithm_is_a_registered_engine():
    assert set(engine_names("surprise")) == set(SURPRISE_ENGINES)
    for name, algorithm in SURPRISE_ENGINES.items():
        assert create_engine(name).algorithm == algorithm


@pytest.mark.parametrize("name", list(SURPRISE_ENGINES))
def test_defaults_are_surprises_defaults(name):
    import surprise

    engine = create_engine(name)
    theirs = inspect.signature(getattr(surprise, engine.algorithm).__init__).parameters
    for key, value in engine.get_params().items():
        if key in theirs and key not in ("random_state", "sim_options", "bsl_options"):
            assert value == theirs[key].default, key
    json.dumps(engine.get_params())  # engine.json must hold them


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_predictions_equal_surprises_own_predict(name, fitted, folds):
    import surprise

    from movierec.core.models.library.surprise_engines import build_trainset

    engine = fitted[name]
    _, test = folds
    # unknown user and unknown movie fall back the way Surprise does
    users = np.r_[test["user"].to_numpy(), [10**8, test["user"].iloc[0]]]
    movies = np.r_[test["movie"].to_numpy(), [test["movie"].iloc[0], 10**8]]
    algo = engine.algo_
    if algo is None:  # SlopeOne drops its Surprise object after fit (two movie x movie arrays)
        algo = getattr(surprise, engine.algorithm)().fit(
            build_trainset(engine.seen_, engine.users_.ids, engine.movies_.ids, engine.rating_range_)
        )
    np.testing.assert_allclose(engine.predict(users, movies), _surprise_estimates(algo, users, movies), atol=1e-5)


@pytest.mark.parametrize(
    "name, params",
    [
        ("surprise_knnbaseline", {"sim_options": {"name": "pearson_baseline", "user_based": False}}),
        ("surprise_knnbasic", {"k": 5, "min_k": 3, "sim_options": {"name": "cosine", "user_based": False}}),
    ],
)
def test_item_based_knn_equals_surprise_and_gives_similar_movies(name, params, folds):
    train, test = folds
    options = dict(params["sim_options"])
    engine = create_engine(name, **params).fit(train)
    assert params["sim_options"] == options  # Surprise writes into its option dicts; ours stay as given
    users, movies = test["user"].to_numpy(), test["movie"].to_numpy()
    np.testing.assert_allclose(engine.predict(users, movies), _surprise_estimates(engine.algo_, users, movies), atol=1e-5)
    similar = engine.similar_movies(int(movies[0]), k=5)
    assert len(similar) == 5 and int(movies[0]) not in similar["movie"].tolist()


def test_user_based_knn_has_no_movie_similarities(fitted, folds):
    with pytest.raises(UnsupportedError):
        fitted["surprise_knnbasic"].similar_movies(int(folds[0]["movie"].iloc[0]))


@pytest.mark.parametrize("name", list(SURPRISE_ENGINES))
def test_recommendations_leave_out_seen_movies(name, fitted, folds):
    train, _ = folds
    engine = fitted[name]
    for user in train["user"].unique()[:5]:
        seen = set(train.loc[train["user"] == user, "movie"].tolist())
        recommended = engine.recommend(int(user), k=10)
        assert len(recommended) == 10
        assert not seen & set(recommended["movie"].tolist())


@pytest.mark.parametrize("name", list(SURPRISE_ENGINES))
def test_save_and_load_round_trip_without_surprise_objects(name, fitted, folds, tmp_path):
    engine = fitted[name]
    _, test = folds
    loaded = load_engine(engine.save(tmp_path / name))
    assert not hasattr(loaded, "algo_")
    assert loaded.get_params() == engine.get_params()
    users, movies = test["user"].to_numpy()[:200], test["movie"].to_numpy()[:200]
    if name == "surprise_normalpredictor":  # random by design: same seed, same draws
        fresh = load_engine(tmp_path / name)
        np.testing.assert_array_equal(loaded.predict(users, movies), fresh.predict(users, movies))
        return
    np.testing.assert_allclose(loaded.predict(users, movies), engine.predict(users, movies), atol=1e-6)
    user = int(test["user"].iloc[0])
    pd.testing.assert_frame_equal(loaded.recommend(user, k=10), engine.recommend(user, k=10))


def test_svd_beats_normal_predictor_on_rmse(fitted, folds):
    _, test = folds

    def rmse(name: str) -> float:
        predicted = fitted[name].predict(test["user"], test["movie"])
        return float(np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2)))

    assert rmse("surprise_svd") < 0.8 * rmse("surprise_normalpredictor")


@pytest.mark.parametrize("name", ["surprise_svd", "surprise_svdpp", "surprise_knnwithmeans"])
def test_vectorized_recommend_equals_ranking_by_surprise_predict(name, fitted, folds):
    train, _ = folds
    engine = fitted[name]
    user = int(train["user"].iloc[0])
    unseen = np.setdiff1d(engine.movies_.ids, train.loc[train["user"] == user, "movie"].to_numpy())
    slow = np.array([engine.algo_.predict(user, int(m), clip=False).est for m in unseen])
    order = np.lexsort((unseen, -slow))[:20]
    fast = engine.recommend(user, k=20)
    assert fast["movie"].tolist() == unseen[order].tolist()
    np.testing.assert_allclose(fast["score"].to_numpy(), slow[order], rtol=1e-9)


@pytest.mark.parametrize("name", ["surprise_svd", "surprise_svdpp", "surprise_nmf", "surprise_baselineonly",
                                  "surprise_slopeone"])
def test_fold_in_ranks_like_the_fitted_user(name, fitted, folds):
    train, _ = folds
    engine = fitted[name]
    agreements = []
    for user in train["user"].unique()[:10]:
        mine = train[train["user"] == user]
        as_new = engine.recommend_for_ratings(dict(zip(mine["movie"].tolist(), mine["rating"].tolist())), k=10)
        agreements.append(len(set(as_new["movie"]) & set(engine.recommend(int(user), k=10)["movie"])))
    # fold-in solves the user's factors in closed form where SGD fitted them: close, not equal
    assert np.mean(agreements) >= (10 if name in ("surprise_baselineonly", "surprise_slopeone") else 3)


def test_similar_movies_come_from_item_factors_weighed_by_evidence(fitted, folds):
    engine = fitted["surprise_svd"]
    movie = int(folds[0]["movie"].iloc[0])
    similar = engine.similar_movies(movie, k=5)
    assert movie not in similar["movie"].tolist()
    qi = engine.qi_
    mine = qi[engine.movies_.position(movie)]
    best_position = engine.movies_.position(int(similar["movie"].iloc[0]))
    best = qi[best_position]
    n = (folds[0]["movie"] == similar["movie"].iloc[0]).sum()
    cosine = mine @ best / np.linalg.norm(mine) / np.linalg.norm(best)
    assert similar["score"].iloc[0] == pytest.approx(cosine * n / (n + 20))
    assert similar["score"].is_monotonic_decreasing


@pytest.mark.parametrize("name, params", [("surprise_svd", {}),
                                          ("surprise_knnbasic", {"sim_options": {"user_based": False}})])
def test_similar_movies_rarely_answer_with_movies_almost_nobody_rated(name, params, folds):
    train, _ = folds
    engine = create_engine(name, **params).fit(train)
    counts = train["movie"].value_counts()
    listed = [m for movie in counts.index[:30] for m in engine.similar_movies(int(movie), k=10)["movie"]]
    rare = np.mean(counts.reindex(listed).to_numpy() < 5)
    # the raw cosine / msd row answers with movies rated once or twice about a third of the time
    assert rare <= 0.05


def test_an_item_based_surprise_knn_offers_similar_movies_and_a_user_based_one_does_not():
    item_based = create_engine("surprise_knnbaseline", sim_options={"user_based": False})
    assert item_based.has_similar_movies
    assert not create_engine("surprise_knnbaseline").has_similar_movies


@pytest.mark.parametrize("ours, params", [("item_knn", {"n_candidates": 1000}), ("user_knn", {"n_candidates": 1000})])
def test_knn_engines_without_damping_equal_surprise_knnbaseline_with_pearson_baseline(ours, params, folds):
    train, test = folds
    users, movies = test["user"].to_numpy(), test["movie"].to_numpy()
    engine = create_engine(ours, damping=0.0, **params).fit(train)
    user_based = ours == "user_knn"
    assert len(engine.movies_ if not user_based else engine.users_) <= 1000  # every similarity is a candidate
    reference = create_engine("surprise_knnbaseline", sim_options={"name": "pearson_baseline", "user_based": user_based})
    reference.fit(train)
    np.testing.assert_allclose(engine.predict(users, movies), reference.predict(users, movies), atol=1e-5)


def test_factor_reasons_name_the_liked_movies_that_pull_the_score_up(fitted, folds):
    train, _ = folds
    engine = fitted["surprise_svd"]
    user = int(train["user"].value_counts().index[0])
    index = engine.users_.position(user)
    check_factor_reasons(engine, train, user, engine.qi_, lambda rated: engine.global_mean_ + engine.bu_[index]
                         + engine.bi_[rated])


def test_baselineonly_fold_in_is_the_baseline_fold_in(fitted, folds):
    train, _ = folds
    engine = fitted["surprise_baselineonly"]
    mine = train[train["user"] == train["user"].iloc[0]]
    ratings = dict(zip(mine["movie"].tolist(), mine["rating"].tolist()))
    position = engine.movies_.index_of(mine["movie"].to_numpy())
    residual = mine["rating"].to_numpy() - engine.global_mean_ - engine.bi_[position]
    bias = residual.sum() / (15 + len(residual))
    top = engine.recommend_for_ratings(ratings, k=5)
    expected = engine.global_mean_ + bias + engine.bi_[engine.movies_.index_of(top["movie"].to_numpy())]
    np.testing.assert_allclose(top["score"], expected)


def test_item_based_knn_reasons_name_the_nearest_liked_movie_that_raises_the_estimate(folds):
    train, _ = folds
    engine = create_engine("surprise_knnbaseline", sim_options={"name": "pearson_baseline", "user_based": False}).fit(train)
    user = int(train["user"].value_counts().index[0])
    mine = train[train["user"] == user].sort_values("movie").set_index("movie")["rating"]
    u = engine.users_.position(user)
    rated = engine.movies_.index_of(mine.index.to_numpy())
    top = engine.recommend(user, k=10)["movie"].to_numpy()
    reasons = engine.reasons(user, top)
    assert any(r is not None for r in reasons)
    for movie, reason in zip(top, reasons):
        sim = engine.sim_[engine.movies_.position(int(movie)), rated]
        nearest = np.argsort(-sim, kind="stable")[: engine.k]
        nearest = nearest[sim[nearest] > 0]
        residual = mine.to_numpy() - engine.global_mean_ - engine.bu_[u] - engine.bi_[rated]
        push = {int(mine.index[j]): sim[j] * residual[j] for j in nearest if mine.iloc[j] >= max(mine.mean(), 3.0)}
        push = {m: p for m, p in push.items() if p > 0}
        assert (reason is None) == (not push)
        if reason is not None:
            assert reason["movie"] == max(push, key=push.get)
    assert create_engine("surprise_knnbaseline").fit(train).reasons(user, top) == [None] * 10
