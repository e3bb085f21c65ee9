"""The app's callbacks as plain functions on the embedded sample (no server)."""

from __future__ import annotations

import copy
import os
import re

import numpy as np
import pandas as pd
import pytest

from movierec.app import callbacks, engines
from movierec.app import results as app_results
from movierec.app.tabs import benchmarks as benchmarks_tab
from movierec.app.tabs import explore as explore_tab
from movierec.app.tabs import rate as rate_tab
from movierec.app.tabs import similar as similar_tab
from movierec.app.tabs import user as user_tab
from movierec.app.callbacks import InputError
from movierec.app.engines import EngineCache
from movierec.app.state import AppState, dataset_spec_from_env
from movierec.core.errors import DataError


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> AppState:
    return AppState.create("sample", cache_dir=tmp_path_factory.mktemp("engines"))


@pytest.fixture(scope="module")
def user(state) -> str:
    return state.user_choices[0]


def test_recommendations_for_a_user_have_rank_title_year_score_and_reason(state, user):
    result, top = user_tab.recommend_for_user(state, user, "item_knn", 7)
    table = result.table
    assert list(table.columns) == callbacks.RECOMMENDATION_COLUMNS
    assert table["rank"].iloc[0] == 1 and table["rank"].is_monotonic_increasing
    assert table[callbacks.PREDICTED_STARS].is_monotonic_decreasing
    assert table["title"].str.len().gt(0).all()
    assert not table["title"].str.contains("{movie:", regex=False).any()
    # item_knn explains with a movie the user rated, shown by title
    assert table["reason"].str.contains("which you rated").any()
    assert result.figure.layout.height
    assert f"user {user}" in result.message


def test_recommendations_leave_out_movies_the_user_rated(state, user):
    result, _ = user_tab.recommend_for_user(state, user, "baseline", 20)
    rated = set(user_tab.top_rated(state, int(user), limit=10_000)["title"])
    assert not rated & set(result.table["title"])


def test_top_rated_lists_the_users_highest_ratings_first(state, user):
    top = user_tab.top_rated(state, int(user))
    ratings = state.dataset.ratings
    best = ratings.loc[ratings["user"] == int(user), "rating"].max()
    assert top["rating"].iloc[0] == best
    assert top["rating"].is_monotonic_decreasing


def test_a_random_user_is_one_of_the_dataset(state):
    for seed in range(5):
        assert user_tab.parse_user(state, user_tab.random_user(state, seed)) in state.ratings_by_user


@pytest.mark.parametrize(
    ("user", "words"),
    [("", "choose a user"), ("abc", "must be a number"), ("inf", "must be a number"), ("-inf", "must be a number"),
     ("999999999", "unknown user 999999999"), (None, "choose"),
     ("1.5", "1.5 is not a user id: user ids are whole numbers"), ("3.5", "3.5 is not a user id")],
)
def test_bad_user_ids_are_explained(state, user, words):
    with pytest.raises(InputError, match=words):
        user_tab.recommend_for_user(state, user, "item_knn", 5)


@pytest.mark.parametrize("k", [0, 51, 2.5, "many", None, float("nan"), True, False])
def test_k_outside_1_to_50_is_rejected(state, user, k):
    with pytest.raises(InputError, match="k must be a whole number from 1 to 50"):
        user_tab.recommend_for_user(state, user, "item_knn", k)


def test_unknown_engine_is_rejected_with_the_choices(state, user):
    with pytest.raises(InputError, match="choose one of .*item_knn"):
        user_tab.recommend_for_user(state, user, "no_such_engine", 5)


# ----------------------------------------------------------------- rate a few movies yourself
def _labels_of_genre(state: AppState, genre: str, count: int) -> list[str]:
    movies = state.dataset.movies
    ids = movies.loc[movies["genres"].fillna("").str.startswith(genre), "movie"].tolist()
    return [state.catalogue.label_of_movie[m] for m in ids if m in state.catalogue.label_of_movie][:count]


def test_rating_a_few_movies_folds_in_without_retraining(state):
    engine = state.engines.get("item_knn")
    rows = [(label, 5) for label in _labels_of_genre(state, "Horror", 6)]
    result = rate_tab.recommend_for_new_user(state, "item_knn", 10, rows)
    assert state.engines.get("item_knn") is engine  # the fitted engine was reused, not refitted
    assert len(result.table) == 10
    assert "from 6 rated movies with item_knn" in result.message
    rated_titles = {label.rsplit(" (", 1)[0] for label, _ in rows}
    assert not rated_titles & set(result.table["title"])


def test_different_tastes_get_different_recommendations(state):
    horror = rate_tab.recommend_for_new_user(
        state, "item_knn", 10, [(label, 5) for label in _labels_of_genre(state, "Horror", 6)]
    )
    comedy = rate_tab.recommend_for_new_user(
        state, "item_knn", 10, [(label, 5) for label in _labels_of_genre(state, "Comedy", 6)]
    )
    assert set(horror.table["title"]) != set(comedy.table["title"])


def test_the_example_ratings_give_recommendations(state):
    rows = rate_tab.example_ratings(state)
    assert 5 <= len(rows) <= callbacks.MAX_RATED
    result = rate_tab.recommend_for_new_user(state, "baseline", 5, rows)
    assert len(result.table) == 5


@pytest.mark.parametrize(
    ("stars", "words"), [(0, "from 1 to 5"), (6, "from 1 to 5"), ("lots", "must be a number"), (None, "star value")]
)
def test_ratings_outside_1_to_5_are_rejected(state, stars, words):
    label = state.catalogue.labels[0]
    with pytest.raises(InputError, match=words):
        rate_tab.recommend_for_new_user(state, "item_knn", 5, [(label, stars)])


def _unrated_labels(state: AppState, count: int) -> list[str]:
    rated = set(state.ratings_per_movie.index)
    return [label for movie, label in state.catalogue.label_of_movie.items() if movie not in rated][:count]


def test_titles_the_engine_never_saw_are_named_and_not_counted(state):
    unrated = _unrated_labels(state, 2)
    assert len(unrated) == 2, "the sample lists titles nobody rated"
    known = _labels_of_genre(state, "Horror", 3)
    result = rate_tab.recommend_for_new_user(state, "item_knn", 5, [(label, 5) for label in known + unrated])
    assert len(result.table) == 5
    assert "from 3 of your 5 rated movies" in result.message
    assert "ignored (unknown to item_knn)" in result.message
    assert all(label in result.message for label in unrated)
    assert not any(label in result.message for label in known)


def test_only_titles_the_engine_never_saw_are_explained(state):
    with pytest.raises(InputError, match="none of your rated movies is known to item_knn"):
        rate_tab.recommend_for_new_user(state, "item_knn", 5, [(label, 4) for label in _unrated_labels(state, 2)])


def test_nothing_rated_is_explained(state):
    with pytest.raises(InputError, match="rate at least one movie"):
        rate_tab.recommend_for_new_user(state, "item_knn", 5, [(None, None), ("", 4)])


def test_engines_without_fold_in_are_not_offered_for_own_ratings(state):
    assert "mean" not in state.engines_that("supports_fold_in")
    with pytest.raises(InputError, match="cannot be used for your own ratings"):
        rate_tab.recommend_for_new_user(state, "mean", 5, [(state.catalogue.labels[0], 4)])


# ----------------------------------------------------------------- similar titles
@pytest.mark.parametrize("similarity", similar_tab.SIMILARITIES)
def test_similar_titles_by_each_similarity(state, similarity):
    label = state.catalogue.labels[0]
    result, match = similar_tab.similar_titles(state, label, similarity, "item_knn", 8)
    assert match.label == label
    assert len(result.table) == 8
    assert label.rsplit(" (", 1)[0] not in set(result.table["title"])
    assert result.table["score"].is_monotonic_decreasing
    assert "about" in result.table.columns


def test_collaborative_similar_titles_match_the_engines_own_top_k(state):
    label = state.catalogue.labels[0]
    result, match = similar_tab.similar_titles(state, label, similar_tab.SIMILARITY_COLLABORATIVE, "item_knn", 8)
    expected = state.engines.get("item_knn").similar_movies(match.movie, k=8)
    titles = [state.dataset.title_of(m) for m in expected["movie"]]
    assert result.table["title"].tolist() == titles


def test_similar_by_overview_text_shares_the_genre_words(state):
    horror = _labels_of_genre(state, "Horror", 1)[0]
    result, _ = similar_tab.similar_titles(state, horror, similar_tab.SIMILARITY_TEXT, "item_knn", 5)
    horror_ids = set(state.dataset.movies.loc[state.dataset.movies["genres"].fillna("").str.contains("Horror"), "movie"])
    titles = state.dataset.movies.set_index("title").loc[result.table["title"], "movie"]
    assert sum(int(m) in horror_ids for m in titles) >= 3


def test_a_remake_offers_both_versions(state):
    result, match = similar_tab.similar_titles(state, "the wild hollow", similar_tab.SIMILARITY_TEXT, "item_knn", 5)
    remakes = [c for c in match.candidates if c.startswith("The Wild Hollow (")]
    assert len(remakes) == 2
    assert match.label in remakes


def test_picking_one_version_of_a_remake_still_offers_the_other(state):
    label = next(l for l in state.catalogue.labels if l.startswith("The Wild Hollow ("))
    _, match = similar_tab.similar_titles(state, label, similar_tab.SIMILARITY_BLENDED, "item_knn", 5)
    assert match.label == label
    assert len(match.candidates) == 2 and label in match.candidates


def test_a_misspelt_title_finds_the_movie(state):
    title = str(state.dataset.title_of(state.catalogue.movie_of_label[state.catalogue.labels[0]]))
    typo = title[:-1] if len(title) > 4 else title
    _, match = similar_tab.similar_titles(state, typo.lower(), similar_tab.SIMILARITY_TEXT, "item_knn", 3)
    assert match.label.startswith(title)


@pytest.mark.parametrize(("title", "words"), [("", "type or pick a title"), ("zzqqxx vvkkjj", "no title matches")])
def test_empty_or_unmatched_titles_are_explained(state, title, words):
    with pytest.raises(InputError, match=words):
        similar_tab.similar_titles(state, title, similar_tab.SIMILARITY_BLENDED, "item_knn", 5)


def test_unknown_similarity_is_rejected(state):
    with pytest.raises(InputError, match="similarity must be one of"):
        similar_tab.similar_titles(state, state.catalogue.labels[0], "vibes", "item_knn", 5)


# ----------------------------------------------------------------- engine cache
def test_a_second_start_loads_engines_from_disk(state, user):
    state.engines.get("item_knn")
    again = EngineCache(state.dataset, state.engines.cache_dir)
    first = state.engines.get("item_knn").recommend(int(user), k=10)
    second = again.get("item_knn").recommend(int(user), k=10)
    assert again.timings["item_knn"][0] == "loaded"
    pd.testing.assert_frame_equal(first, second)


def test_first_use_reports_training_progress_then_loading(state, tmp_path):
    steps: list[str] = []
    EngineCache(state.dataset, tmp_path).get("baseline", lambda fraction, text: steps.append(text))
    assert any(text.startswith("training baseline") for text in steps)
    steps.clear()
    EngineCache(state.dataset, tmp_path).get("baseline", lambda fraction, text: steps.append(text))
    assert steps[0] == "loading baseline from the cache"


def test_cache_folders_differ_by_parameters_and_dataset(state, tmp_path):
    default = EngineCache(state.dataset, tmp_path)
    tuned = EngineCache(state.dataset, tmp_path, params={"item_knn": {"n_neighbors": 5}})
    assert default.folder("item_knn") != tuned.folder("item_knn")
    assert default.folder("item_knn").parent == tuned.folder("item_knn").parent
    assert default.folder("item_knn").parent.name.startswith("sample-")


def test_a_damaged_cache_entry_is_trained_again(state, tmp_path):
    cache = EngineCache(state.dataset, tmp_path)
    folder = cache.folder("baseline")
    folder.mkdir(parents=True)
    (folder / "engine.json").write_text("{not json")
    assert cache.get("baseline").recommend(int(state.user_choices[0]), k=3) is not None
    assert cache.timings["baseline"][0] == "trained"


# ----------------------------------------------------------------- benchmarks and data
def test_quick_benchmark_scores_the_chosen_engines(state):
    view = benchmarks_tab.quick_benchmark(state, ["mean", "baseline"])
    assert set(view.summary["engine"]) == {"mean", "baseline"}
    assert view.engines_heatmap is not None and view.surprise_heatmap is None
    assert view.scatter.layout.height


def test_a_rating_engine_shows_clipped_stars_in_its_own_order_and_the_chart_lists_them_alike(state, user):
    engine = state.engines.get("item_knn")
    engine.global_mean_ += 3.0  # every score lies above the scale: the stars tie at 5, the ranking must not
    try:
        result, _ = user_tab.recommend_for_user(state, user, "item_knn", 8)
        ranked = engine.recommend(int(user), k=8)
    finally:
        engine.global_mean_ -= 3.0
    low, high = engine.rating_range_
    stars = result.table[callbacks.PREDICTED_STARS]
    assert stars.between(low, high).all() and (stars == high).sum() >= 2 and (ranked["score"] > high).sum() >= 2
    assert result.table["title"].tolist() == [state.dataset.title_of(m) for m in ranked["movie"]]  # not by movie id
    bars = result.figure.data[0]
    shown = [bars.text[i] for i in np.argsort(bars.y)]  # rank 1 first
    assert [text.rsplit(":", 1)[0] for text in shown] == result.table["title"].tolist()
    assert "Predicted Stars" in result.figure.layout.xaxis.title.text


def test_a_ranking_only_engine_shows_its_rank_as_the_scale_never_a_bare_score(state, user):
    result, _ = user_tab.recommend_for_user(state, user, "ease", 5)
    assert list(result.table.columns) == callbacks.RANKING_COLUMNS
    assert result.table["rank"].tolist() == [1, 2, 3, 4, 5]
    assert result.figure is None and "rank is its scale" in result.message
    folded = rate_tab.recommend_for_new_user(state, "ease", 5, [(state.catalogue.labels[0], 5)])
    assert "score" not in folded.table.columns and "relevance" not in folded.table.columns


def test_equal_predicted_stars_share_a_rank_and_the_chart_starts_at_zero(state, user):
    assert callbacks.shared_ranks(np.array([5.0, 5.0, 5.0, 4.6, 4.6, 4.1])).tolist() == [1, 1, 1, 4, 4, 6]
    engine = state.engines.get("item_knn")
    engine.global_mean_ += 3.0  # every score lies above the scale: the stars tie at 5
    try:
        result, _ = user_tab.recommend_for_user(state, user, "item_knn", 6)
    finally:
        engine.global_mean_ -= 3.0
    assert result.table["rank"].tolist() == [1] * 6
    assert result.figure.layout.xaxis.range[0] == 0
    assert "6 titles tie at 5.0" in result.summary


def test_quick_benchmark_without_engines_is_explained(state):
    with pytest.raises(InputError, match="tick at least one engine"):
        benchmarks_tab.quick_benchmark(state, [])


def test_stored_results_are_read_and_charted(state, tmp_path):
    result = benchmarks_tab.quick_benchmark_result(state, ["mean", "surprise_baselineonly"])
    result.save(tmp_path / "quick.json")
    (tmp_path / "broken.json").write_text("{")
    view = benchmarks_tab.stored_view("quick.json", "ndcg@10", folder=tmp_path)
    assert view.surprise_heatmap is not None and view.engines_heatmap is not None
    assert "ndcg@10" in view.message
    with pytest.raises(InputError, match="no stored result"):
        benchmarks_tab.stored_view("broken.json", None, folder=tmp_path)


def test_stored_results_are_parsed_again_only_when_the_file_changes(state, tmp_path):
    benchmarks_tab.quick_benchmark_result(state, ["mean"]).save(tmp_path / "quick.json")
    first = app_results.stored_results(tmp_path)["quick.json"]
    assert app_results.stored_results(tmp_path)["quick.json"] is first
    benchmarks_tab.quick_benchmark_result(state, ["mean", "baseline"]).save(tmp_path / "quick.json")
    changed = app_results.stored_results(tmp_path)["quick.json"]
    assert changed is not first and set(changed.table["engine"]) == {"mean", "baseline"}


def test_the_benchmarks_tab_opening_view_can_be_drawn_ahead(state, monkeypatch, tmp_path):
    monkeypatch.setenv("MOVIEREC_BENCHMARK_DIR", str(tmp_path))
    assert not benchmarks_tab.draw_opening_view(state)  # no stored result: nothing to draw
    benchmarks_tab.quick_benchmark_result(state, ["mean", "baseline"]).save(tmp_path / "quick.json")
    assert benchmarks_tab.draw_opening_view(state)
    metric = benchmarks_tab.metrics_of(app_results.stored_results()["quick.json"])[0]
    drawn = benchmarks_tab._views[(str(None), "quick.json", metric, state.name)][1]
    assert benchmarks_tab.stored_view("quick.json", metric, served=state.name) is drawn  # what opening the tab gets


def test_a_stored_view_is_drawn_once_per_file_version_metric_and_served_dataset(state, tmp_path):
    benchmarks_tab.quick_benchmark_result(state, ["mean"]).save(tmp_path / "quick.json")
    view = benchmarks_tab.stored_view("quick.json", "rmse", folder=tmp_path, served="sample")
    assert benchmarks_tab.stored_view("quick.json", "rmse", folder=tmp_path, served="sample") is view  # reopening the tab
    assert benchmarks_tab.stored_view("quick.json", "mae", folder=tmp_path, served="sample") is not view
    assert "not on the data served here" in benchmarks_tab.stored_view("quick.json", "rmse", folder=tmp_path,
                                                                 served="other").message
    benchmarks_tab.quick_benchmark_result(state, ["mean", "baseline"]).save(tmp_path / "quick.json")
    redrawn = benchmarks_tab.stored_view("quick.json", "rmse", folder=tmp_path, served="sample")
    assert redrawn is not view and "2 engines" in redrawn.message


def test_dataset_summary_has_counts_sparsity_and_dates(state):
    summary = dict(explore_tab.dataset_summary(state).itertuples(index=False))
    stats = state.dataset.stats()
    assert summary["ratings"] == f"{stats['ratings']:,}"
    assert summary["users"] == f"{stats['users']:,}"
    assert summary["sparsity"].endswith("%")
    assert summary["first rating"] == stats["date_min"]
    figures = explore_tab.data_figures(state)
    assert len(figures) == len(explore_tab.DATA_CHARTS)
    assert all(figure.layout.height for figure in figures)


def test_engines_that_report_training_move_the_progress_bar(state, tmp_path):
    pytest.importorskip("tensorflow")
    steps: list[tuple[float, str]] = []
    cache = EngineCache(state.dataset, tmp_path, params={"keras_mf": {"n_epochs": 2}})
    folder = cache.folder("keras_mf")
    engine = cache.get("keras_mf", lambda fraction, text: steps.append((fraction, text)))
    epochs = [fraction for fraction, text in steps if text.startswith("training keras_mf: epoch")]
    assert epochs and all(0.2 <= fraction <= 0.9 for fraction in epochs)
    assert epochs == sorted(epochs) and epochs[-1] > epochs[0]
    assert [fraction for fraction, _ in steps] == sorted(fraction for fraction, _ in steps)
    assert cache.folder("keras_mf") == folder and (folder / "engine.json").exists()  # the key ignores the hook
    assert engine.progress is None
    # TensorFlow's import is its own step, before training, once per process
    assert steps[0] == (0.05, "importing TensorFlow (once per server start)") or engines._tensorflow_imported.is_set()
    again: list[tuple[float, str]] = []
    EngineCache(state.dataset, tmp_path, params={"keras_mf": {"n_epochs": 2}}).get(
        "keras_mf", lambda fraction, text: again.append((fraction, text)))
    assert [text for _, text in again] == ["loading keras_mf from the cache", "keras_mf loaded"]


def test_engines_state_their_first_use_time_once_measured_and_slow_before(state, tmp_path):
    from movierec.app.catalog import engine_label

    fresh = AppState(dataset=state.dataset, engines=EngineCache(state.dataset, tmp_path), offered=state.offered)
    assert engine_label(fresh, "keras_mf", full=True).endswith("(first use: slow)")
    assert engine_label(fresh, "surprise_svdpp", full=True).endswith("(first use: slow)")
    assert "first use" not in engine_label(fresh, "item_knn", full=True)
    (tmp_path / fresh.engines._dataset_slug()).mkdir(parents=True)
    (tmp_path / fresh.engines._dataset_slug() / "trained.json").write_text('{"keras_mf": 41.7}')
    assert engine_label(fresh, "keras_mf", full=True).endswith("(first use about 42 s)")


def test_a_blend_with_a_keras_member_is_marked_slow_and_one_without_is_not(state, tmp_path):
    from movierec.app.catalog import engine_label
    from movierec.app.engines import needs_tensorflow

    assert needs_tensorflow("blend") and needs_tensorflow("keras_deep") and not needs_tensorflow("item_knn")
    assert not needs_tensorflow("blend", {"members": ["baseline", "item_knn"]})
    quick = EngineCache(state.dataset, tmp_path, params={"blend": {"members": ["baseline", "item_knn"]}})
    slow = AppState(dataset=state.dataset, engines=EngineCache(state.dataset, tmp_path), offered=state.offered)
    assert engine_label(slow, "blend", full=True).endswith("(first use: slow)")
    fast = AppState(dataset=state.dataset, engines=quick, offered=state.offered)
    assert "first use" not in engine_label(fast, "blend", full=True)


def test_the_engine_list_leads_with_a_few_in_plain_words_and_groups_the_rest_baselines_labelled(state):
    from movierec.app.catalog import BASELINE, SHORT_LIST, engine_entries

    short = engine_entries(state, "user", full=False)
    assert 1 < len(short) <= SHORT_LIST and short[0][1] == state.default_engine("user")
    assert short[0][0].startswith("People who liked what you liked")
    every = engine_entries(state, "user", full=True)
    assert sorted(name for _, name in every) == sorted(state.tab_engines("user"))
    labels = dict((name, label) for label, name in every)
    for name in ("mean", "weighted", "surprise_normalpredictor"):
        assert labels[name].startswith(BASELINE)
    assert [name for _, name in every][-1] in ("mean", "weighted", "baseline", "surprise_baselineonly",
                                               "surprise_normalpredictor")  # baselines come last
    assert "residual" not in " ".join(label for label, _ in every)


def test_the_tabs_open_on_the_engine_with_the_best_stored_ndcg_and_ease_without_one(state, tmp_path, monkeypatch):
    from movierec.core.evaluation.results import BenchmarkResult

    monkeypatch.setenv("MOVIEREC_BENCHMARK_DIR", str(tmp_path))
    assert state.default_engine("user") == "ease" and state.default_engine("rate") == "ease"
    rows = [{"engine": e, "fold": 0, "metric": "ndcg@10", "value": v, "fit_seconds": 1.0, "predict_seconds": 0.1}
            for e, v in [("ease", 0.30), ("user_knn", 0.41), ("lightfm_warp(item_features='genres')", 0.9),
                         ("not_registered", 0.95)]]
    BenchmarkResult(pd.DataFrame(rows), dataset="sample", split="user:0.25").save(tmp_path / "ranked.json")
    assert state.default_engine("user") == "user_knn" and state.default_engine("rate") == "user_knn"
    assert state.default_engine("similar") == "item_knn"
    BenchmarkResult(pd.DataFrame(rows), dataset="movielens:/x/ml-latest-small", split="user:0.25").save(
        tmp_path / "ranked.json")  # measured on other data: does not count here
    assert state.default_engine("user") == "ease"


def test_engines_meet_only_inside_one_stored_result_not_across_splits(state, tmp_path, monkeypatch):
    from movierec.core.evaluation.results import BenchmarkResult

    def stored(name: str, split: str, figures: dict[str, float]) -> None:
        rows = [{"engine": e, "fold": 0, "metric": "ndcg@10", "value": v, "fit_seconds": 1.0, "predict_seconds": 0.1}
                for e, v in figures.items()]
        BenchmarkResult(pd.DataFrame(rows), dataset="sample", split=split).save(tmp_path / name)

    monkeypatch.setenv("MOVIEREC_BENCHMARK_DIR", str(tmp_path))
    # user_knn's 0.05 on last:1 beats ease there but is far below ease's 0.40 on user:0.25: raw figures
    # of different splits do not compare; head to head, ease wins more meetings than it loses
    stored("user.json", "user:0.25", {"ease": 0.40, "item_knn": 0.12})
    stored("last.json", "last:1", {"ease": 0.04, "user_knn": 0.05, "item_knn": 0.01})
    stored("temporal.json", "temporal:0.2", {"ease": 0.14, "user_knn": 0.12})
    assert state.default_engine("user") == "ease"
    stored("temporal.json", "temporal:0.2", {"ease": 0.10, "user_knn": 0.12})  # user_knn now beats ease in both files they share
    assert state.default_engine("user") == "user_knn"


# ----------------------------------------------------------------- engine cache: damage, kills, failures
def test_a_cache_entry_that_fails_the_engines_own_checks_is_trained_again(state, tmp_path):
    cache = EngineCache(state.dataset, tmp_path)
    cache.get("item_knn")
    folder = cache.folder("item_knn")
    arrays = next(folder.glob("*.npz"))
    arrays.write_bytes(arrays.read_bytes()[:100])  # a truncated zip: ModelFileError on load
    again = EngineCache(state.dataset, tmp_path)
    assert again.get("item_knn").recommend(int(state.user_choices[0]), k=3) is not None
    assert again.timings["item_knn"][0] == "trained"


def test_a_half_written_folder_left_by_a_killed_save_is_removed(state, tmp_path):
    import subprocess
    import sys

    cache = EngineCache(state.dataset, tmp_path)
    folder = cache.folder("baseline")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = folder.with_name(f".{folder.name}.{int(gone.stdout)}.1")
    alive = folder.with_name(f".{folder.name}.{os.getpid()}.1")  # this process may still be writing it
    for partial in (dead, alive):
        partial.mkdir(parents=True)
        (partial / "engine.json").write_text("{")
    cache.get("baseline")
    assert not dead.exists() and alive.exists() and folder.is_dir()


def test_an_engine_the_data_cannot_train_fails_once_not_on_every_click(state, tmp_path):
    no_text = copy.copy(state.dataset)
    no_text.movies = state.dataset.movies.assign(overview=pd.NA, genres=pd.NA)
    cache = EngineCache(no_text, tmp_path)
    with pytest.raises(DataError, match="content_tfidf needs movie text"):
        cache.get("content_tfidf")
    first = cache.failure("content_tfidf")
    with pytest.raises(DataError) as again:
        cache.get("content_tfidf")
    assert again.value is first and not any(tmp_path.rglob("content_tfidf-*"))


def test_training_times_are_kept_for_the_next_start(state, tmp_path):
    EngineCache(state.dataset, tmp_path).get("baseline")
    later = EngineCache(state.dataset, tmp_path)
    assert later.trained_seconds()["baseline"] >= 0 and not later.timings


def test_capabilities_are_asked_of_an_engine_with_the_apps_parameters(state, tmp_path):
    pytest.importorskip("surprise")
    item_based = {"surprise_knnbasic": {"sim_options": {"user_based": False}}}
    default = AppState(dataset=state.dataset, engines=EngineCache(state.dataset, tmp_path), offered=state.offered)
    configured = AppState(dataset=state.dataset, engines=EngineCache(state.dataset, tmp_path, params=item_based),
                          offered=state.offered)
    assert "surprise_knnbasic" not in default.collaborative_engines()
    assert "surprise_knnbasic" in configured.collaborative_engines()
    result, _ = similar_tab.similar_titles(configured, state.catalogue.labels[0], similar_tab.SIMILARITY_COLLABORATIVE,
                                         "surprise_knnbasic", 5)
    assert len(result.table) == 5


# ----------------------------------------------------------------- similar titles: text, blend, min ratings
def test_text_similarity_is_offered_only_where_movies_have_text(state):
    assert [value for _, value in similar_tab.similarity_choices(state)] == list(similar_tab.SIMILARITIES)
    assert similar_tab.similarity_choices(state)[0][0].startswith("text (overviews")
    titles_only = copy.copy(state)
    titles_only.__dict__["text_source"] = None
    assert [value for _, value in similar_tab.similarity_choices(titles_only)] == [similar_tab.SIMILARITY_COLLABORATIVE]
    with pytest.raises(InputError, match="similarity must be one of collaborative on this dataset"):
        similar_tab.similar_titles(titles_only, state.catalogue.labels[0], similar_tab.SIMILARITY_BLENDED, "item_knn", 5)


def test_minimum_ratings_leaves_out_rarely_rated_titles(state):
    label = state.catalogue.labels[0]
    counts = state.ratings_per_movie
    floor = int(counts.quantile(0.5))
    result, _ = similar_tab.similar_titles(state, label, similar_tab.SIMILARITY_BLENDED, "item_knn", 10, min_ratings=floor)
    movies = [state.catalogue.movie_of_label[f"{t} ({y})"] for t, y in zip(result.table["title"], result.table["year"])
              if f"{t} ({y})" in state.catalogue.movie_of_label]
    assert movies and all(counts.get(m, 0) >= floor for m in movies)
    assert f"at least {floor} ratings each" in result.message
    with pytest.raises(InputError, match="minimum ratings must be a whole number from 0 to 100"):
        similar_tab.similar_titles(state, label, similar_tab.SIMILARITY_BLENDED, "item_knn", 10, min_ratings=-1)
    assert callbacks.default_min_ratings(state) == 0  # the sample is small and synthetic


def test_minimum_ratings_leaves_rarely_rated_titles_out_of_recommendations_too(state, user):
    counts = state.ratings_per_movie
    floor = int(counts.quantile(0.5))
    plain, _ = user_tab.recommend_for_user(state, user, "item_knn", 10)
    engine = state.engines.get("item_knn")
    ranked = engine.recommend(int(user), k=10)
    assert (counts.reindex(ranked["movie"]).fillna(0) < floor).any()  # without the floor, rarer titles come up
    result, _ = user_tab.recommend_for_user(state, user, "item_knn", 10, min_ratings=floor)
    shown = engine.recommend(int(user), k=10, min_ratings=floor)["movie"]
    assert result.table["title"].tolist() == [state.dataset.title_of(m) for m in shown]
    assert (counts.reindex(shown).fillna(0) >= floor).all() and f"at least {floor} ratings each" in result.message
    folded = rate_tab.recommend_for_new_user(state, "item_knn", 10, [(state.catalogue.labels[0], 5)],
                                              min_ratings=floor)
    assert f"at least {floor} ratings each" in folded.message
    with pytest.raises(InputError, match="minimum ratings must be a whole number from 0 to 100"):
        user_tab.recommend_for_user(state, user, "item_knn", 10, min_ratings=101)


def test_a_title_nobody_rated_is_explained_for_collaborative_similarity(state, tmp_path):
    unrated = copy.copy(state.dataset)
    extra = state.dataset.movies.iloc[:1].assign(movie=999_999, title="Nobody Rated This", year=2001)
    unrated.movies = pd.concat([state.dataset.movies, extra], ignore_index=True)
    lonely = AppState(dataset=unrated, engines=EngineCache(unrated, tmp_path), offered=state.offered)
    with pytest.raises(InputError, match=r"Nobody Rated This \(2001\) has no ratings in this dataset.*try similarity by text"):
        similar_tab.similar_titles(lonely, "Nobody Rated This (2001)", similar_tab.SIMILARITY_COLLABORATIVE, "item_knn", 5)
    result, _ = similar_tab.similar_titles(lonely, "Nobody Rated This (2001)", similar_tab.SIMILARITY_BLENDED, "item_knn", 5)
    assert len(result.table) == 5 and "left out item_knn" in result.message


def test_title_search_matches_every_typed_word_most_rated_first(state):
    found = state.search_labels("hollow WILD")
    assert found and all("wild" in f.lower() and "hollow" in f.lower() for f in found)
    assert len(state.search_labels("")) == 50 and state.search_labels("") == state.catalogue.labels[:50]
    assert state.search_labels("zzqqxxvv") == []
    misspelt = state.catalogue.labels[0].split(" (")[0].lower().replace("e", "", 1)
    assert state.catalogue.labels[0] in state.search_labels(misspelt)  # a typo falls back to near matches


# ----------------------------------------------------------------- the served dataset
def test_the_header_names_the_dataset_never_a_local_path_and_flags_the_sample(state, movielens_small_dir, tmp_path):
    from movierec.app.layout import header

    text = header(state)
    assert "**sample**" in text and "Synthetic sample" in text and "not real movies" in text
    real = AppState.create(f"movielens:{movielens_small_dir}", tmp_path)
    text = header(real)
    assert "**ml-latest-small**" in text and str(movielens_small_dir) not in text and "GroupLens" in text
    assert "Synthetic" not in text
    assert dict(explore_tab.dataset_summary(real).itertuples(index=False))["dataset"] == "ml-latest-small"


def test_a_space_without_configuration_serves_ml_latest_small_from_its_storage(monkeypatch, movielens_small_dir, tmp_path):
    storage = tmp_path / "data" / "ml-latest-small"
    storage.mkdir(parents=True)
    for name in ("ratings.csv", "movies.csv", "links.csv", "tags.csv"):
        (storage / name).symlink_to(movielens_small_dir / name)
    monkeypatch.delenv("MOVIEREC_DATASET", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/movierec")
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MOVIEREC_MOVIELENS_URL", (tmp_path / "offline").as_uri())  # never asked: the data is there
    assert dataset_spec_from_env() == "movielens:ml-latest-small"
    served = AppState.create(None, tmp_path / "engines")
    assert served.name == "ml-latest-small" and served.real and served.notice is None
    assert len(served.dataset.ratings) == 100_836 and served.dataset.spec == "movielens:ml-latest-small"


def test_a_space_without_network_serves_the_sample_and_says_it_is_synthetic(monkeypatch, tmp_path):
    from movierec.app.layout import header

    monkeypatch.delenv("MOVIEREC_DATASET", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/movierec")
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("MOVIEREC_MOVIELENS_URL", (tmp_path / "offline").as_uri())  # a download that fails
    served = AppState.create(None, tmp_path / "engines")
    assert served.synthetic and "could not be fetched" in served.notice
    assert "Synthetic sample" in header(served) and str(tmp_path) not in header(served)
    monkeypatch.setenv("MOVIEREC_DATASET", "movielens:ml-latest-small")  # asked for by hand: a clear error instead
    with pytest.raises(DataError, match="could not download"):
        AppState.create(None, tmp_path / "engines")


# ----------------------------------------------------------------- benchmarks tab
def test_stored_results_of_the_served_dataset_come_first_and_others_say_so(state, tmp_path):
    result = benchmarks_tab.quick_benchmark_result(state, ["mean"])
    result.save(tmp_path / "a_sample.json")
    result.dataset = "movielens:/somewhere/local/ml-latest-small"
    result.save(tmp_path / "b_movielens.json")
    results = app_results.stored_results(tmp_path)
    choices = benchmarks_tab.result_choices(results, "ml-latest-small")
    assert [name for _, name in choices] == ["b_movielens.json", "a_sample.json"]
    assert choices[0][0].startswith("ml-latest-small: ") and "/somewhere" not in choices[0][0]
    assert [name for _, name in benchmarks_tab.result_choices(results, "sample")][0] == "a_sample.json"
    view = benchmarks_tab.stored_view("b_movielens.json", "rmse", folder=tmp_path, served="sample")
    assert "Measured on ml-latest-small, not on the data served here (sample)" in view.message
    assert "/somewhere" not in view.message
    assert "not on the data" not in benchmarks_tab.stored_view("a_sample.json", "rmse", folder=tmp_path, served="sample").message


def test_ties_are_ordered_alike_in_the_heatmap_and_the_table(state):
    result = benchmarks_tab.quick_benchmark_result(state, ["mean", "baseline"])
    twin = result.table[result.table["engine"] == "mean"].assign(engine="a_copy_of_mean")
    result.table = pd.concat([twin, result.table], ignore_index=True)
    view = benchmarks_tab.benchmark_view(result, "precision@10")
    heatmap_order = list(view.engines_heatmap.data[0].y)
    assert heatmap_order == view.summary["engine"].tolist()
    assert heatmap_order.index("a_copy_of_mean") < heatmap_order.index("mean")


def test_each_heatmap_column_names_its_own_direction(state):
    view = benchmarks_tab.benchmark_view(benchmarks_tab.quick_benchmark_result(state, ["mean", "baseline"]), "rmse")
    columns = dict(zip(view.engines_heatmap.data[0].x, view.engines_heatmap.data[0].x))
    assert "Precision@10<br>higher is better" in columns and "RMSE<br>lower is better" in columns
    assert view.engines_heatmap.data[0].showscale is False  # a phone's width goes to the cells


def test_a_one_engine_result_is_a_table_not_a_one_colour_heatmap(state):
    view = benchmarks_tab.benchmark_view(benchmarks_tab.quick_benchmark_result(state, ["mean"]), "rmse")
    assert view.engines_heatmap is None and view.surprise_heatmap is None and len(view.summary) == 1


def test_the_benchmarks_tab_speaks_plain_words_without_repository_paths():
    assert "results/" not in benchmarks_tab.INTRO and "fallback" in benchmarks_tab.INTRO
    assert benchmarks_tab.split_words("user:0.25") == "for each person, a random 25% of their ratings held out to test"
    assert benchmarks_tab.split_words("kfold:5").startswith("5-fold cross-validation")


def test_the_metric_choices_put_rmse_and_mae_before_the_knn_fallback_share():
    from movierec.core.evaluation.results import BenchmarkResult

    rows = [{"engine": engine, "fold": "fold1", "metric": metric, "value": 0.5, "fit_seconds": 0.1, "predict_seconds": 0.1}
            for engine, metric in [("item_knn", "fallback"), ("item_knn", "mae"), ("item_knn", "rmse"),
                                   ("ease", "ndcg@10"), ("ease", "precision@10")]]
    assert benchmarks_tab.metrics_of(BenchmarkResult(pd.DataFrame(rows))) == ["rmse", "mae", "fallback", "ndcg@10", "precision@10"]


def test_among_results_with_as_many_engines_the_one_with_more_folds_comes_first(tmp_path):
    from movierec.core.evaluation.results import BenchmarkResult

    def result(folds: int) -> BenchmarkResult:
        rows = [{"engine": engine, "fold": f"fold{i}", "metric": "rmse", "value": 0.9, "fit_seconds": 0.1,
                 "predict_seconds": 0.1} for engine in ("mean", "baseline") for i in range(1, folds + 1)]
        return BenchmarkResult(pd.DataFrame(rows), dataset="movielens:/data/ml-latest-small", split=f"kfold:{folds}")

    result(3).save(tmp_path / "a_kfold3.json")
    result(5).save(tmp_path / "b_kfold5.json")
    choices = benchmarks_tab.result_choices(app_results.stored_results(tmp_path), "ml-latest-small")
    assert [name for _, name in choices] == ["b_kfold5.json", "a_kfold3.json"]


def test_each_tab_declares_its_outputs_once_and_a_refusal_fills_every_one():
    import gradio as gr

    from movierec.app.widgets import Outputs

    with gr.Blocks():
        table, chart, message = gr.Dataframe(), gr.Plot(), gr.Markdown()
    outputs = Outputs(table=(table, lambda: pd.DataFrame(columns=["title"])), chart=(chart, None),
                      message=(message, None))
    assert outputs.widgets == [table, chart, message]
    assert outputs.answer(message="m", chart="c", table="t") == ("t", "c", "m")
    with pytest.raises(TypeError, match="missing"):
        outputs.answer(table="t")

    @outputs.guard
    def refuses() -> tuple:
        raise InputError("choose a user id")

    empty_table, empty_chart, text = refuses()
    assert list(empty_table.columns) == ["title"] and empty_chart is None and "choose a user id" in text


def test_a_title_rated_twice_is_refused_with_a_message(state):
    first, second = state.catalogue.labels[:2]
    with pytest.raises(InputError, match=r"is rated twice \(movies 1 and 3\)"):
        rate_tab.parse_rated(state, [(first, 5), (second, 4), (first, 1)])


def test_ratings_keep_the_order_they_were_given_in(state):
    labels = state.catalogue.labels[:4]
    rows = [(labels[2], 3), (labels[0], 5), (None, None), (labels[3], 1), (labels[1], 4)]
    rated = rate_tab.parse_rated(state, rows)
    assert list(rated) == [state.catalogue.movie_of_label[labels[i]] for i in (2, 0, 3, 1)]


def test_rate_tab_reasons_name_the_rated_movies_behind_each_title(state):
    labels = state.catalogue.labels[:5]
    result = rate_tab.recommend_for_new_user(state, "ease", 5, [(label, 5) for label in labels])
    named = [state.dataset.title_of(state.catalogue.movie_of_label[label]) for label in labels]
    reasons = result.table["reason"].tolist()
    assert all(reason.startswith("because you rated ") for reason in reasons)
    assert all(any(f"{title} (5)" in reason for title in named) for reason in reasons)
    # a rated movie a reason names does lift that title: left out, the title scores lower
    fitted = state.engines.get("ease")
    rated = {state.catalogue.movie_of_label[label]: 5.0 for label in labels}
    top = int(fitted.recommend_for_ratings(rated, k=1)["movie"].iloc[0])
    first_named = next(m for m in rated if f"{state.dataset.title_of(m)} (5)" in reasons[0])
    everything = len(fitted.movies_)
    with_all = fitted.recommend_for_ratings(rated, k=everything, exclude_rated=False).set_index("movie")["score"]
    without = fitted.recommend_for_ratings({m: v for m, v in rated.items() if m != first_named}, k=everything,
                                           exclude_rated=False).set_index("movie")["score"]
    assert without[top] < with_all[top]


def test_result_tables_are_plain_html_with_their_headers_and_escaped_cells():
    from movierec.app.widgets import html_table

    table = pd.DataFrame({"title": ["<b>Heat</b>", "Up"], "year": [1995, None]})
    shown = html_table(table, "Similar titles", {"title": "200px"})
    assert '<th scope="col">title</th>' in shown and "<caption>Similar titles</caption>" in shown
    assert "&lt;b&gt;Heat&lt;/b&gt;" in shown and "<b>" not in shown  # a title is text, never markup
    assert 'tabindex="0"' in shown and 'style="width: 320px"' in shown  # 200 px + the default 120 px
    assert "<td></td>" in shown  # a missing year is an empty cell, not "nan"
    empty = html_table(table.iloc[:0], "Similar titles")
    assert '<th scope="col">year</th>' in empty and "nothing to show yet" in empty


def test_long_chart_titles_are_broken_into_lines_a_phone_shows():
    import plotly.graph_objects as go

    from movierec.app.widgets import fit_titles

    figure = go.Figure(layout=dict(title=dict(text="Crossvalidated Comparison Of 11 Surprise Algorithms: Rating Errors"),
                                   xaxis=dict(title=dict(text="Sorted by MAE; darker red = better in its column")),
                                   margin=dict(t=80, b=60)))
    fit_titles(figure)
    lines = figure.layout.title.text.split("<br>")
    assert len(lines) == 2 and all(len(line) <= 38 for line in lines)
    assert " ".join(lines) == "Crossvalidated Comparison Of 11 Surprise Algorithms: Rating Errors"
    assert figure.layout.margin.t == 100 and figure.layout.xaxis.title.text.count("<br>") == 1
    short = go.Figure(layout=dict(title=dict(text="RMSE Versus Fit Time Of 3 Engines")))
    assert fit_titles(short).layout.title.text == "RMSE Versus Fit Time Of 3 Engines"
