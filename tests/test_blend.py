"""`blend`: ridge weights learned on held-out ratings, members refitted on all, predictions, persistence."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from movierec.core.data.split import holdout_split
from movierec.core.errors import DataError, ModelFileError, MovierecError, UnsupportedError
from movierec.core.evaluation import rmse
from movierec.core.models import create_engine
from movierec.core.models.vectors import ridge

CHEAP = ("baseline", "user_knn")


@pytest.fixture(scope="module")
def fold(sample) -> tuple[pd.DataFrame, pd.DataFrame]:
    return holdout_split(sample.ratings, 0.2, seed=11)


@pytest.fixture(scope="module")
def fitted(fold):
    return create_engine("blend", members=("baseline", "user_knn", "item_knn")).fit(fold[0])


def test_ridge_recovers_a_known_linear_mix():
    rng = np.random.default_rng(0)
    features = rng.normal(3.5, 1.0, (500, 3))
    target = 0.4 + 0.5 * features[:, 0] + 0.2 * features[:, 1] - 0.1 * features[:, 2]
    coef, intercept = ridge(features, target, 0.0)
    np.testing.assert_allclose(coef, [0.5, 0.2, -0.1], atol=1e-10)
    assert intercept == pytest.approx(0.4)
    shrunk, _ = ridge(features, target, 1000.0)
    assert np.linalg.norm(shrunk) < np.linalg.norm(coef)


@pytest.mark.parametrize("slices", [1, 3])
def test_weights_are_learned_on_the_held_out_slices_and_members_refit_on_all(sample, slices):
    ratings = sample.ratings
    blend = create_engine("blend", members=("baseline", "mean"), holdout_fraction=0.2, reg=0.5, random_state=3,
                           support=(), holdout_slices=slices).fit(ratings)
    # the same seeded slices by hand: 20 % held out each, members fitted on the rest, predictions stacked
    order = np.random.default_rng(3).permutation(len(ratings))
    n_holdout = int(round(len(ratings) * 0.2))
    features, target = [], []
    for k in range(slices):
        held = np.sort(order[k * n_holdout:(k + 1) * n_holdout])
        holdout, train = ratings.iloc[held], ratings.drop(ratings.index[held])
        features.append(np.column_stack([
            create_engine(name).fit(train).predict(holdout["user"], holdout["movie"]).astype(np.float64)
            for name in ("baseline", "mean")
        ]))
        target.append(holdout["rating"].to_numpy(np.float64))
    coef, intercept = ridge(np.vstack(features), np.concatenate(target), 0.5)
    np.testing.assert_allclose(blend.coef_, coef, rtol=1e-9)
    assert blend.intercept_ == pytest.approx(intercept)
    assert blend.member_weights() == pytest.approx({"baseline": coef[0], "mean": coef[1], "intercept": intercept})
    everyone = create_engine("baseline").fit(ratings)
    np.testing.assert_array_equal(blend.members_[0].movie_bias_, everyone.movie_bias_)


def _support_by_hand(blend, train: pd.DataFrame, users: np.ndarray, movies: np.ndarray) -> list[np.ndarray]:
    """log(1 + training ratings) of each pair's user, movie, and user on the user's latest day; then squares.

    Standardized as the blend stored them (the pairs are undated: the user's latest training day counts).
    """
    latest = train.groupby("user")["date"].transform("max")
    on_latest_day = train[train["date"].dt.floor("D") == latest.dt.floor("D")]["user"].value_counts()
    logs = [np.log1p(train["user"].value_counts().reindex(users).fillna(0).to_numpy()),
            np.log1p(train["movie"].value_counts().reindex(movies).fillna(0).to_numpy()),
            np.log1p(on_latest_day.reindex(users).fillna(0).to_numpy())]
    columns = logs + [c ** 2 for c in logs]
    return [(c - mu) / sd for c, mu, sd in zip(columns, blend.support_center_, blend.support_scale_)]


def _blend_by_hand(blend, parts: list[np.ndarray], support: list[np.ndarray]) -> np.ndarray:
    """intercept + sum_m (w_m + sum_k s_k v_km) p_m + sum_k s_k v_k."""
    n = len(parts)
    total = blend.intercept_ + sum(blend.support_coef_[k, n] * s for k, s in enumerate(support))
    for m, p in enumerate(parts):
        total = total + (blend.coef_[m] + sum(blend.support_coef_[k, m] * s for k, s in enumerate(support))) * p
    return total


def test_the_default_blend_weighs_members_by_user_movie_and_day_support_and_their_squares(fitted):
    assert list(fitted.support) == ["user", "movie", "day"] and fitted.support_degree == 2
    assert fitted.support_coef_.shape == (6, 4) and np.all(fitted.support_scale_ > 0)
    assert fitted.uses_dates  # the day support reads the rating's date, though no member does


def test_prediction_is_the_clipped_weighted_sum_of_the_members(fitted, fold):
    train, test = fold
    users, movies = test["user"].to_numpy(), test["movie"].to_numpy()
    parts = [engine._predict_indexed(fitted.users_.index_of(users), fitted.movies_.index_of(movies))
             for engine in fitted.members_]
    expected = np.clip(_blend_by_hand(fitted, parts, _support_by_hand(fitted, train, users, movies)), 0.5, 5.0)
    predicted = fitted.predict(users, movies)
    np.testing.assert_allclose(predicted, np.clip(expected, *fitted.rating_range_), atol=1e-5)
    assert predicted.min() >= fitted.rating_range_[0] and predicted.max() <= fitted.rating_range_[1]


def test_blend_beats_each_of_its_members_on_unseen_ratings(fitted, fold):
    train, test = fold
    blended = rmse(test["rating"], fitted.predict(test["user"], test["movie"]))
    for name in ("baseline", "user_knn", "item_knn"):
        alone = create_engine(name).fit(train)
        assert blended < rmse(test["rating"], alone.predict(test["user"], test["movie"])), name
    assert fitted.holdout_rmse_["blend"] < min(v for k, v in fitted.holdout_rmse_.items() if k != "blend")
    assert set(fitted.member_fit_seconds_) == {"baseline", "user_knn", "item_knn"}


def test_recommend_ranks_unseen_movies_by_the_blended_score(fitted, fold):
    user = int(fold[0]["user"].iloc[0])
    index = fitted.users_.position(user)
    every = fitted.movies_.ids
    support = _support_by_hand(fitted, fold[0], np.full(len(every), user), every)
    scores = _blend_by_hand(fitted, [e._score_users(np.array([index]))[0] for e in fitted.members_], support)
    ranked = fitted.recommend(user, k=10)
    seen = set(fitted.movies_.ids[fitted.seen_[index].indices])
    assert not seen & set(ranked["movie"])
    np.testing.assert_allclose(ranked["score"], scores[fitted.movies_.index_of(ranked["movie"].to_numpy())])
    unseen = np.setdiff1d(np.arange(len(scores)), fitted.seen_[index].indices)
    assert ranked["score"].iloc[0] == pytest.approx(scores[unseen].max())
    assert ranked["predicted_rating"].max() <= fitted.rating_range_[1]


def test_a_new_user_is_folded_in_through_every_member(fitted, fold):
    train = fold[0]
    user = int(train["user"].iloc[0])
    mine = train[train["user"] == user]
    ranked = fitted.recommend_for_ratings(dict(zip(mine["movie"], mine["rating"])), k=5)
    assert len(ranked) == 5 and not set(ranked["movie"]) & set(mine["movie"])


def test_the_blend_reads_overviews_when_a_member_does():
    from movierec.core.models.registry import ENGINES

    if not ENGINES["keras_hybrid"].available:
        pytest.skip("keras_hybrid needs tensorflow")
    assert create_engine("blend", members=("baseline", "keras_hybrid")).uses_overviews
    assert not create_engine("blend", members=CHEAP).uses_overviews


def test_fold_in_needs_every_member_to_support_it(fold):
    blend = create_engine("blend", members=("baseline", "mean")).fit(fold[0])
    assert not blend.supports_fold_in
    with pytest.raises(UnsupportedError):
        blend.recommend_for_ratings({int(fold[0]["movie"].iloc[0]): 4.0})


def test_explain_gives_each_members_weight_and_prediction(fitted, fold):
    user = int(fold[0]["user"].iloc[0])
    movies = fitted.recommend(user, k=2)["movie"].to_numpy()
    reasons = fitted.reasons(user, movies)
    for reason, text in zip(reasons, fitted.explain(user, movies)):
        assert [m["engine"] for m in reason["members"]] == ["baseline", "user_knn", "item_knn"]
        total = reason["intercept"] + sum(m["contribution"] for m in reason["members"])
        assert reason["prediction"] == pytest.approx(np.clip(total, *fitted.rating_range_), abs=1e-5)
        assert all(m["engine"] in text for m in reason["members"]) and "weight" not in text
        close = [m["engine"] for m in reason["members"] if abs(m["prediction"] - reason["prediction"]) <= 0.5]
        assert ("agree" in text) == (len(close) >= 2)


def test_member_params_reach_the_members_and_survive_clone(fold):
    from sklearn.base import clone

    params = {"user_knn": {"n_neighbors": 7}}
    blend = create_engine("blend", members=CHEAP, member_params=params).fit(fold[0])
    assert blend.members_[1].n_neighbors == 7
    copy = clone(blend)
    assert copy.get_params() == blend.get_params() and not hasattr(copy, "members_")
    assert copy.fit(fold[0]).members_[1].n_neighbors == 7


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"members": ("baseline", "baseline")}, "distinct"),
        ({"members": ()}, "at least one"),
        ({"members": ("baseline", "ease")}, "does not predict ratings"),
        ({"members": ("baseline",), "member_params": {"user_knn": {}}}, "user_knn"),
        ({"members": ("baseline",), "member_params": {"baseline": {"bogus": 1}}}, "bogus"),
        ({"members": ("baseline", "nonsense")}, "nonsense"),
        ({"holdout_fraction": 1.5}, "holdout_fraction"),
        ({"reg": -1}, "reg"),
        ({"support": ("user", "week")}, "support"),
        ({"support": ("user", "user")}, "distinct"),
        ({"support_degree": 0}, "support_degree"),
        ({"holdout_slices": 0}, "holdout_slices"),
        ({"holdout_slices": 6}, "holdout_slices"),
    ],
)
def test_bad_blends_are_named(fold, params, message):
    with pytest.raises(MovierecError, match=message):
        create_engine("blend", **{"members": CHEAP, **params}).fit(fold[0])


def test_refit_forgets_the_first_data(sample, fold):
    blend = create_engine("blend", members=CHEAP).fit(sample.ratings)
    small = fold[1]
    blend.fit(small)
    fresh = create_engine("blend", members=CHEAP).fit(small)
    assert len(blend.users_) == len(fresh.users_) == small["user"].nunique()
    assert all(len(m.users_) == len(fresh.users_) for m in blend.members_)
    np.testing.assert_array_equal(blend.coef_, fresh.coef_)


def test_saved_blend_reloads_from_any_folder(fitted, fold, tmp_path):
    from movierec.core.models.registry import load_engine

    _, test = fold
    moved = tmp_path / "moved" / "blend"
    shutil.copytree(fitted.save(tmp_path / "saved"), moved)
    shutil.rmtree(tmp_path / "saved")
    assert sorted(p.name for p in (moved / "members").iterdir()) == ["0_baseline", "1_user_knn", "2_item_knn"]
    loaded = load_engine(moved)
    np.testing.assert_array_equal(loaded.predict(test["user"], test["movie"]), fitted.predict(test["user"], test["movie"]))
    assert loaded.member_weights() == fitted.member_weights() and loaded.get_params()["members"] == list(fitted.members)
    user = int(test["user"].iloc[0])
    assert loaded.recommend(user, k=10).equals(fitted.recommend(user, k=10))


def test_support_features_learn_weights_that_follow_support():
    """Generated data where member a is right for users with many ratings, member b for the others.

    The plain blend can only average the two; weights that vary with the user's rating count
    follow the switch, so the support blend is markedly better on new ratings.
    """
    from movierec.core.models.ensemble.blend import _design

    rng = np.random.default_rng(1)
    n = 6000
    counts = rng.integers(1, 400, n).astype(float)
    truth = rng.normal(3.5, 1.0, n)
    heavy = counts > 60
    a = truth + rng.normal(0, np.where(heavy, 0.1, 1.0))
    b = truth + rng.normal(0, np.where(heavy, 1.0, 0.1))
    s = np.log1p(counts)
    s = ((s - s.mean()) / s.std())[:, None]
    predictions = np.column_stack([a, b])
    train, test = slice(0, 4000), slice(4000, n)
    errors = {}
    for name, features in (("plain", predictions), ("support", _design(predictions, s))):
        coef, intercept = ridge(features[train], truth[train], 1.0)
        errors[name] = rmse(truth[test], features[test] @ coef + intercept)
    assert _design(predictions, s).shape == (n, 5)
    np.testing.assert_array_equal(_design(predictions, s)[:, 2:4], predictions * s)
    assert errors["support"] < 0.8 * errors["plain"]


def test_a_blend_saved_before_support_features_loads_as_a_plain_blend(fold, tmp_path):
    import json

    from movierec.core.models.registry import load_engine

    plain = create_engine("blend", members=CHEAP, support=()).fit(fold[0])
    folder = plain.save(tmp_path / "plain")
    # rewrite the save as an older version wrote it: no support arrays, no `support` parameter
    arrays = dict(np.load(folder / "arrays.npz"))
    for key in ("state_support_coef", "state_support_center", "state_support_scale"):
        arrays.pop(key)
    np.savez(folder / "arrays.npz", **arrays)
    meta = json.loads((folder / "engine.json").read_text())
    del meta["params"]["support"]
    for key in ("state_support_coef", "state_support_center", "state_support_scale"):
        del meta["arrays"][key]
    (folder / "engine.json").write_text(json.dumps(meta))
    loaded = load_engine(folder)
    assert list(loaded.support) == []
    _, test = fold
    users, movies = test["user"], test["movie"]
    np.testing.assert_array_equal(loaded.predict(users, movies), plain.predict(users, movies))


def test_a_saved_blend_missing_a_member_is_a_clear_error(fold, tmp_path):
    from movierec.core.models.registry import load_engine

    blend = create_engine("blend", members=CHEAP).fit(fold[0])
    shutil.rmtree(blend.save(tmp_path / "saved") / "members" / "1_user_knn")
    with pytest.raises(ModelFileError, match="user_knn"):
        load_engine(tmp_path / "saved")


def test_blend_on_movielens_small_beats_its_members(movielens_small):
    """Real data, cheap members: the blend's RMSE on a 10 % holdout is below both members'."""
    train, test = holdout_split(movielens_small.ratings, 0.1, seed=5)
    blend = create_engine("blend", members=CHEAP).fit(train)
    blended = rmse(test["rating"], blend.predict(test["user"], test["movie"]))
    for member in blend.members_:
        assert blended < rmse(test["rating"], member.predict(test["user"], test["movie"]))
    weights = blend.member_weights()
    assert weights["user_knn"] > abs(weights["baseline"])  # the stronger member carries the blend


def test_the_day_support_counts_the_users_training_ratings_on_the_ratings_day(fitted, fold):
    train, test = fold
    day = train["date"].dt.floor("D")
    per_day = train.groupby([train["user"], day]).size()
    pairs = test.head(200)
    wanted = per_day.reindex(pd.MultiIndex.from_arrays([pairs["user"], pairs["date"].dt.floor("D")])).fillna(0)
    days = pairs["date"].to_numpy().astype("datetime64[D]").astype(np.int64).astype(np.float64)
    support = fitted._support(fitted.users_.index_of(pairs["user"].to_numpy()),
                              fitted.movies_.index_of(pairs["movie"].to_numpy()), days)
    day_column = support[2] * fitted.support_scale_[2] + fitted.support_center_[2]
    np.testing.assert_allclose(day_column, np.log1p(wanted.to_numpy()))
    np.testing.assert_allclose(support[5] * fitted.support_scale_[5] + fitted.support_center_[5], day_column ** 2)
    assert (wanted > 0).any() and (wanted == 0).any()  # both seen and unseen (user, day)s are checked


def test_a_blend_saved_before_day_support_loads_as_it_was(fold, tmp_path):
    import json

    from movierec.core.models.registry import load_engine

    older = create_engine("blend", members=CHEAP, support=("user", "movie"), support_degree=1,
                          holdout_slices=1).fit(fold[0])
    folder = older.save(tmp_path / "older")
    # rewrite the save as an older version wrote it: no day counts, no support_degree or holdout_slices
    arrays = dict(np.load(folder / "arrays.npz"))
    meta = json.loads((folder / "engine.json").read_text())
    for key in ("state_day_keys", "state_day_counts", "state_user_last_day"):
        arrays.pop(key)
        del meta["arrays"][key]
    for key in ("support_degree", "holdout_slices"):
        del meta["params"][key]
    np.savez(folder / "arrays.npz", **arrays)
    (folder / "engine.json").write_text(json.dumps(meta))
    loaded = load_engine(folder)
    assert loaded.support_degree == 1 and list(loaded.support) == ["user", "movie"]
    _, test = fold
    np.testing.assert_array_equal(loaded.predict(test["user"], test["movie"], test["date"]),
                                  older.predict(test["user"], test["movie"], test["date"]))


def test_slices_that_add_up_to_every_rating_use_each_rating_once(sample):
    ratings = sample.ratings.head(1003)  # 5 x round(0.2 x 1003) = 1005: the last slice is 2 short
    blend = create_engine("blend", members=CHEAP, holdout_fraction=0.2, holdout_slices=5, support=())
    slices = blend._holdout_slices(len(ratings))
    assert [len(s) for s in slices] == [201, 201, 201, 201, 199]
    assert np.array_equal(np.sort(np.concatenate(slices)), np.arange(len(ratings)))
