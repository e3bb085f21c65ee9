"""The benchmark runner: same folds for every engine, one tidy table, a JSON that round-trips."""

from __future__ import annotations

import pandas as pd
import pytest

from movierec.core.data import Dataset
from movierec.core.errors import DataError
from movierec.core.evaluation import load_benchmark, run_benchmark
from movierec.core.evaluation.results import COLUMNS, lower_is_better

RANKING = ["precision@5", "recall@5", "ndcg@5", "map@5", "hit_rate@5", "coverage@5"]


@pytest.fixture(scope="module")
def kfold_result(sample):
    return run_benchmark(sample, "kfold:3", ["mean", "baseline", "content_tfidf"], k=5, sample=20_000)


def test_table_has_one_row_per_engine_fold_and_metric(kfold_result):
    table = kfold_result.table
    assert list(table.columns) == list(COLUMNS)
    assert set(table["fold"]) == {"fold1", "fold2", "fold3"}
    rating_rows = table[table["engine"].isin(["mean", "baseline"])]
    assert set(rating_rows["metric"]) == {"rmse", "mae"}  # kfold: rating engines get rating metrics
    assert len(rating_rows) == 2 * 3 * 2
    content = table[table["engine"] == "content_tfidf"]
    assert sorted(content["metric"].unique()) == sorted(RANKING)  # ranking-only engine
    assert (table["fit_seconds"] >= 0).all() and (table["predict_seconds"] >= 0).all()


def test_every_engine_sees_the_same_folds_and_sample(kfold_result):
    per_engine = kfold_result.table.groupby("engine")["fold"].apply(lambda f: tuple(sorted(set(f))))
    assert per_engine.nunique() == 1
    assert kfold_result.extra["sample"] == 20_000 and kfold_result.extra["ratings"] == 20_000


def test_baseline_beats_mean_in_the_summary(kfold_result):
    summary = kfold_result.summary().set_index(["engine", "metric"])
    assert summary.loc[("baseline", "rmse"), "mean"] < summary.loc[("mean", "rmse"), "mean"]
    assert summary.loc[("baseline", "rmse"), "folds"] == 3


def test_json_round_trip_keeps_table_and_protocol(kfold_result, tmp_path):
    path = kfold_result.save(tmp_path / "bench.json")
    again = load_benchmark(path)
    pd.testing.assert_frame_equal(again.table, kfold_result.table)
    assert (again.split, again.k, again.seed) == ("kfold:3", 5, 42)
    assert "training movies excluded" in again.protocol


def test_user_split_gives_rating_engines_ranking_metrics_too(sample):
    progress = []
    result = run_benchmark(sample, "user:0.25", ["mean", ("user_knn", {"n_neighbors": 20})], k=5,
                           progress=lambda fraction, message: progress.append((fraction, message)))
    metrics = result.table.groupby("engine")["metric"].apply(set)
    assert metrics["mean"] == {"rmse", "mae", *RANKING}
    assert "user_knn(n_neighbors=20)" in metrics.index
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    summary = result.summary().set_index(["engine", "metric"])["mean"]
    assert summary[("user_knn(n_neighbors=20)", "ndcg@5")] > summary[("mean", "ndcg@5")]


def without_text(sample) -> Dataset:
    """The sample with neither overviews nor genres: content_tfidf has nothing to read."""
    blank = pd.array([None] * len(sample.movies), dtype="string")
    return Dataset("sample-without-text", sample.ratings, sample.movies.assign(overview=blank, genres=blank))


def test_an_engine_that_cannot_run_is_reported_not_hidden(sample):
    result = run_benchmark(without_text(sample), "holdout:2000", ["mean", "content_tfidf"], k=5)
    assert "content_tfidf needs movie" in result.extra["failures"]["content_tfidf"]
    assert set(result.table["engine"]) == {"mean"}


@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), 6.0])
def test_a_threshold_no_rating_can_reach_is_an_error_not_missing_metrics(sample, threshold):
    with pytest.raises(DataError, match="threshold"):
        run_benchmark(sample, "user:0.25", ["mean"], k=5, sample=3000, threshold=threshold)


def test_engines_listed_twice_are_refused(sample):
    with pytest.raises(DataError, match="mean listed more than once"):
        run_benchmark(sample, "holdout:300", ["mean", "baseline", "mean"], sample=3000)


@pytest.mark.parametrize(("argument", "match"), [({"k": 0}, "k must be a positive integer, got 0"),
                                                 ({"seed": -1}, "seed must be a whole number >= 0, got -1")])
def test_k_and_seed_are_checked_before_any_fit(sample, argument, match):
    with pytest.raises(ValueError, match=match):
        run_benchmark(sample, "holdout:300", ["mean"], sample=3000, **argument)


def test_a_split_that_leaves_an_empty_test_set_says_so(sample):
    with pytest.raises(DataError, match="fold user has an empty test set \\(no user has 2 or more ratings\\)"):
        run_benchmark(sample, "user:0.25", ["mean"], sample=1)


def test_failures_are_listed_and_every_engine_that_ran_has_every_fold(sample):
    result = run_benchmark(without_text(sample), "kfold:2", ["content_tfidf", "mean"], k=5, sample=3000)
    assert list(result.failures) == ["content_tfidf"] and result.failures["content_tfidf"].startswith("fold1: ")
    assert result.table.groupby("engine")["fold"].nunique().to_dict() == {"mean": 2}


@pytest.mark.parametrize(("content", "expected"), [
    (bytes(range(256)), "not UTF-8 text"),
    (b"[1, 2]", "not a movierec benchmark file"),
    (b'{"format": "movierec-benchmark/1", "rows": 3}', "'rows' must be a list"),
    (b'{"format": "movierec-benchmark/1", "rows": [], "k": "ten"}', "'k' must be a whole number, got 'ten'"),
    (b'{"format": "movierec-benchmark/1", "rows": [], "extra": [1]}', "'extra' must be an object"),
])
def test_a_damaged_benchmark_file_is_a_clear_error_naming_it(tmp_path, content, expected):
    path = tmp_path / "bench.json"
    path.write_bytes(content)
    with pytest.raises(DataError, match=expected) as error:
        load_benchmark(path)
    assert str(error.value).startswith(str(path))
    with pytest.raises(DataError, match="is a folder"):
        load_benchmark(tmp_path)


def test_an_engine_that_fails_on_a_later_fold_loses_its_earlier_rows():
    from movierec.core.data import make_ratings
    from movierec.core.data.split import kfold_split

    # movie 1 has six ratings, movies 2..13 one each: ease keeps only movies with min_movie_ratings
    users = list(range(1, 7)) + list(range(1, 13))
    movies = [1] * 6 + list(range(2, 14))
    ratings = make_ratings(users, movies, [4] * len(users))

    def movie_1_in_train(seed: int) -> list[int]:
        return [int((fold.train["movie"] == 1).sum()) for fold in kfold_split(ratings, 2, seed)]

    seed = next(s for s in range(100) if movie_1_in_train(s)[0] > movie_1_in_train(s)[1])
    enough = movie_1_in_train(seed)[0]  # reached in fold1's training part only
    result = run_benchmark(ratings_dataset(ratings), "kfold:2", ["mean", ("ease", {"min_movie_ratings": enough})],
                           k=3, seed=seed)
    label = f"ease(min_movie_ratings={enough})"
    assert result.failures[label].startswith("fold2: ease: no movie has")
    assert set(result.table["engine"]) == {"mean"}


def ratings_dataset(ratings: pd.DataFrame) -> Dataset:
    from movierec.core.data import make_movies

    ids = sorted(set(ratings["movie"]))
    return Dataset("thirteen-movies", ratings, make_movies(ids, [f"movie {i}" for i in ids]))



def test_knn_engines_report_how_often_they_fall_back_to_the_baseline(sample):
    from movierec.core.data.split import iter_folds
    from movierec.core.models import create_engine

    result = run_benchmark(sample, "holdout:0.2", ["baseline", "item_knn"])
    table = result.table.set_index(["engine", "metric"])["value"]
    assert ("baseline", "fallback") not in table.index  # no neighbours, nothing to fall back from
    fold = next(iter_folds(sample, "holdout:0.2", 42))
    engine = create_engine("item_knn").fit(fold.train, sample.movies)
    expected = engine.fallback_rate(fold.test["user"], fold.test["movie"])
    assert 0 < expected < 1 and table[("item_knn", "fallback")] == pytest.approx(expected)
    assert lower_is_better("fallback")
