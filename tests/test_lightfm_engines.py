"""LightFM (WARP and BPR) as ranking engines, optionally hybrid with genre and overview features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("lightfm")

from movierec.core.data.split import user_split  # noqa: E402
from movierec.core.errors import DataError, UnsupportedError  # noqa: E402
from movierec.core.evaluation.metrics import ranking_metrics, relevant_items  # noqa: E402
from movierec.core.models.registry import create_engine, engine_names, load_engine  # noqa: E402


@pytest.fixture(scope="module")
def split(sample) -> tuple[pd.DataFrame, pd.DataFrame]:
    return user_split(sample.ratings, 0.25, seed=42)


@pytest.fixture(scope="module")
def warp(split, sample):
    return create_engine("lightfm_warp").fit(split[0], sample.movies)


def _precision_at_10(recommended: dict, test: pd.DataFrame, engine) -> float:
    relevant = relevant_items(test)
    seen = {user: engine.movies_.ids[engine.seen_[engine.users_.position(user)].indices] for user in relevant}
    return ranking_metrics(recommended, relevant, 10, len(engine.movies_), seen=seen)["precision@10"]


def test_both_losses_are_registered_engines():
    assert set(engine_names("lightfm")) == {"lightfm_warp", "lightfm_bpr"}
    assert create_engine("lightfm_warp").loss == "warp"
    assert create_engine("lightfm_bpr").loss == "bpr"


def test_warp_ranks_far_better_than_a_random_ranking(warp, split):
    _, test = split
    users = np.unique(test["user"])
    rng = np.random.default_rng(0)
    random_lists = {}
    for user in users.tolist():
        unseen = np.setdiff1d(warp.movies_.ids, warp.movies_.ids[warp.seen_[warp.users_.position(user)].indices])
        random_lists[user] = rng.choice(unseen, size=10, replace=False)
    random_precision = _precision_at_10(random_lists, test, warp)
    assert _precision_at_10(warp.recommend_many(users, k=10), test, warp) > 3 * random_precision


def test_ranking_only_no_ratings(warp, split):
    with pytest.raises(UnsupportedError):
        warp.predict(split[1]["user"][:3], split[1]["movie"][:3])


def test_recommendations_leave_out_seen_movies(split, sample):
    train, _ = split
    engine = create_engine("lightfm_bpr", epochs=5).fit(train, sample.movies)
    for user in train["user"].unique()[:5]:
        recommended = engine.recommend(int(user), k=10)
        assert len(recommended) == 10
        assert not set(recommended["movie"]) & set(train.loc[train["user"] == user, "movie"])


def test_vectorized_recommend_equals_lightfm_predict(split):
    from lightfm import LightFM

    train, _ = split
    engine = create_engine("lightfm_warp", epochs=3).fit(train)
    interactions = engine.seen_.tocoo()
    interactions.data[:] = 1.0
    model = LightFM(no_components=20, loss="warp", random_state=42).fit(interactions, epochs=3)
    user = 0
    scores = model.predict(user, np.arange(len(engine.movies_)))
    ranking = np.lexsort((np.arange(len(scores)), -scores))
    ranking = ranking[~np.isin(ranking, engine.seen_[user].indices)][:10]
    assert engine.recommend(int(engine.users_.ids[user]), k=10)["movie"].tolist() == engine.movies_.ids[ranking].tolist()


def test_save_and_load_round_trip(warp, split, tmp_path):
    loaded = load_engine(warp.save(tmp_path / "warp"))
    user = int(split[0]["user"].iloc[0])
    pd.testing.assert_frame_equal(loaded.recommend(user, k=10), warp.recommend(user, k=10))
    movie = int(split[0]["movie"].iloc[0])
    pd.testing.assert_frame_equal(loaded.similar_movies(movie, k=5), warp.similar_movies(movie, k=5))


def test_similar_movies_from_item_embeddings(warp, split):
    movie = int(split[0]["movie"].iloc[0])
    similar = warp.similar_movies(movie, k=5)
    assert len(similar) == 5 and movie not in similar["movie"].tolist()
    assert similar["score"].is_monotonic_decreasing and similar["score"].iloc[0] <= 1.0 + 1e-6


def test_same_seed_same_model(split):
    train, _ = split
    first = create_engine("lightfm_warp", epochs=2).fit(train)
    second = create_engine("lightfm_warp", epochs=2).fit(train)
    np.testing.assert_array_equal(first.item_embeddings_, second.item_embeddings_)


def test_genre_features_pull_movies_of_one_genre_together(split, sample):
    train, _ = split
    genre = sample.movies.set_index("movie")["genres"].str.split("|").str[0]

    def agreement(engine) -> float:
        movies = engine.movies_.ids[:40]
        return float(np.mean([
            np.mean(genre.loc[engine.similar_movies(int(m), k=5)["movie"]].to_numpy() == genre.loc[int(m)])
            for m in movies
        ]))

    plain = create_engine("lightfm_warp", epochs=5).fit(train, sample.movies)
    hybrid = create_engine("lightfm_warp", item_features="genres", epochs=5).fit(train, sample.movies)
    assert hybrid.item_embeddings_.shape == (len(hybrid.movies_), 20)
    # a movie's vector includes its genres' vectors, so same-genre titles sit closer than without them
    assert agreement(hybrid) > agreement(plain) + 0.1


def test_features_need_the_movies_table(split):
    with pytest.raises(DataError, match="movies table"):
        create_engine("lightfm_warp", item_features="genres", epochs=1).fit(split[0])
    with pytest.raises(DataError, match="item_features"):
        create_engine("lightfm_warp", item_features="posters", epochs=1).fit(split[0])


def test_text_features_without_any_overview_read_genres_and_title_words(split, sample):
    no_overviews = sample.movies.drop(columns=["overview"])
    engine = create_engine("lightfm_warp", item_features="overview", epochs=2).fit(split[0], no_overviews)
    assert engine.recommend(int(split[0]["user"].iloc[0]), k=5)["movie"].nunique() == 5
    with pytest.raises(DataError, match="no movie text"):
        create_engine("lightfm_warp", item_features="overview", epochs=1).fit(split[0], no_overviews.assign(genres=pd.NA))


def test_min_rating_keeps_only_liked_movies_as_positives(split):
    train, _ = split
    users = np.unique(train["user"].to_numpy())
    # a movie that half the users watched and every one of them disliked
    disliked = pd.DataFrame({"user": users[::2], "movie": 999_999, "rating": 1.0})
    ratings = pd.concat([train, disliked], ignore_index=True)
    others = users[1::2][:60]

    def rank_of_disliked(engine) -> float:
        column = engine.movies_.position(999_999)
        scores = engine._score_users(engine.users_.index_of(others))
        return float(np.mean((scores > scores[:, [column]]).sum(axis=1)))

    every_rating = create_engine("lightfm_warp", epochs=10).fit(ratings)
    liked_only = create_engine("lightfm_warp", min_rating=4.0, epochs=10).fit(ratings)
    # as a positive it is the most watched movie, near the top; as a non-positive it sinks
    assert rank_of_disliked(every_rating) < 50  # of 300 movies
    assert rank_of_disliked(liked_only) > 250
