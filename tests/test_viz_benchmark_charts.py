"""Benchmark heatmap, quality versus fit time, and training curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from movierec.core.errors import DataError
from movierec.core.evaluation.results import COLUMNS, BenchmarkResult, summarize
from movierec.viz.benchmark_charts import benchmark_heatmap, main_metric, quality_vs_fit_time
from movierec.viz.training_charts import history_table, training_curves


def benchmark_table(engines: dict[str, dict[str, float]], folds: int = 3, fit: dict[str, float] | None = None) -> pd.DataFrame:
    """Tidy rows: each engine gets its metric values on every fold with a small per-fold wobble."""
    rows = []
    for e, (engine, metrics) in enumerate(engines.items()):
        for fold in range(folds):
            wobble = 0.001 * (fold - (folds - 1) / 2)
            for metric, value in metrics.items():
                rows.append(dict(engine=engine, fold=f"fold{fold + 1}", metric=metric, value=value + wobble,
                                 fit_seconds=(fit or {}).get(engine, 1.0 + e), predict_seconds=0.1 * (e + 1)))
    return pd.DataFrame(rows, columns=list(COLUMNS))


ENGINES = {
    "mean": {"rmse": 1.02, "mae": 0.82, "ndcg@10": 0.02},
    "svd": {"rmse": 0.87, "mae": 0.67, "ndcg@10": 0.12},
    "knn": {"rmse": 0.93, "mae": 0.73, "ndcg@10": 0.09},
    "warp": {"ndcg@10": 0.19},
}


def test_heatmap_sorts_engines_by_rmse_lowest_first_with_values_as_text():
    figure = benchmark_heatmap(benchmark_table(ENGINES, folds=5))
    trace = figure.data[0]
    assert isinstance(trace, go.Heatmap)
    assert figure.layout.title.text == "Crossvalidated Comparison Of 4 Engines (5 Folds)"
    assert list(trace.y) == ["svd", "knn", "mean", "warp"]  # warp has no rmse: last
    assert list(trace.x) == ["RMSE", "MAE", "NDCG@10"]
    assert trace.text[0][0] == "0.8700" and trace.text[3][0] == "n/a"
    assert figure.layout.yaxis.autorange == "reversed"


def test_heatmap_colours_best_of_each_metric_alike_whether_lower_or_higher_is_better():
    figure = benchmark_heatmap(benchmark_table(ENGINES))
    z = np.asarray(figure.data[0].z, dtype=float)
    rows = list(figure.data[0].y)
    # svd has the lowest rmse and mae: goodness 1; warp the highest ndcg: goodness 1
    assert z[rows.index("svd"), 0] == 1.0 and z[rows.index("svd"), 1] == 1.0
    assert z[rows.index("mean"), 0] == 0.0
    assert z[rows.index("warp"), 2] == 1.0 and z[rows.index("mean"), 2] == 0.0
    assert np.isnan(z[rows.index("warp"), 0])
    assert z[rows.index("knn"), 0] == 0.5, "colour follows rank, so an outlier does not flatten the rest"


def test_ranking_heatmap_sorts_highest_first_and_hover_has_fit_and_test_times():
    table = benchmark_table(ENGINES, fit={"warp": 6.5})
    figure = benchmark_heatmap(table, metrics=["ndcg@10"])
    trace = figure.data[0]
    assert list(trace.y) == ["warp", "svd", "knn", "mean"]
    assert figure.layout.title.text.endswith(": Top-10 Ranking (3 Folds)")
    assert "Fit Time: 6.500 s" in trace.hovertext[0][0]
    assert "Test Time: 0.400 s" in trace.hovertext[0][0]
    assert "higher is better" in trace.hovertext[0][0]


def test_heatmap_reads_a_benchmark_from_the_runner_on_real_data(sample):
    from movierec.core.evaluation.benchmark import run_benchmark

    result = run_benchmark(sample, "user:0.25", engines=("mean", "baseline"), k=10, sample=8000)
    figure = benchmark_heatmap(result)
    summary = summarize(result.table)
    rmse = summary[summary["metric"] == "rmse"].sort_values("mean")
    assert list(figure.data[0].y) == list(rmse["engine"])
    assert figure.data[0].text[0][0] == f"{rmse['mean'].iloc[0]:.4f}"
    assert len(figure.data[0].x) == summary["metric"].nunique()


def test_main_metric_prefers_rmse_then_ranking_quality():
    assert main_metric(["ndcg@10", "mae", "rmse"]) == "rmse"
    assert main_metric(["coverage@10", "precision@5", "ndcg@5"]) == "ndcg@5"
    assert main_metric([]) is None


def test_quality_vs_fit_time_places_each_engine_with_its_error_bars():
    result = BenchmarkResult(benchmark_table(ENGINES, fit={"mean": 0.0, "svd": 4.0, "knn": 2.5}))
    figure = quality_vs_fit_time(result)
    trace = figure.data[0]
    assert isinstance(trace, go.Scatter)
    assert figure.layout.title.text == "RMSE Versus Fit Time Of 3 Engines"
    assert figure.layout.xaxis.type == "log"
    points = dict(zip(trace.text, zip(trace.x, trace.y)))
    assert points["svd"] == pytest.approx((4.0, 0.87))
    assert points["mean"][0] > 0, "a zero fit time still has a place on the log axis"
    assert all(bar > 0 for bar in trace.error_y.array)


def test_benchmark_charts_cope_with_empty_one_row_and_html_names():
    empty = pd.DataFrame(columns=list(COLUMNS))
    for chart in (benchmark_heatmap, quality_vs_fit_time):
        figure = chart(empty)
        assert not figure.data and figure.layout.height
    one = benchmark_table({"<script>&": {"rmse": 0.9}}, folds=1)
    heatmap = benchmark_heatmap(one)
    assert list(heatmap.data[0].y) == ["&lt;script&gt;&amp;"]
    assert heatmap.layout.title.text == "Comparison Of 1 Engine: Rating Errors"
    assert heatmap.data[0].z[0][0] == 1.0
    scatter = quality_vs_fit_time(one)
    assert scatter.data[0].text[0] == "&lt;script&gt;&amp;"
    # a value stored as null in the JSON (an engine that cannot predict ratings) reads n/a
    with_nan = benchmark_table({"svd": {"rmse": 0.87}, "warp": {"rmse": np.nan}}, folds=2)
    heatmap = benchmark_heatmap(with_nan)
    assert list(heatmap.data[0].y) == ["svd", "warp"] and heatmap.data[0].text[1][0] == "n/a"
    assert list(quality_vs_fit_time(with_nan).data[0].text) == ["svd"]


def test_training_curves_draw_loss_and_validation_loss_per_engine():
    histories = {
        "keras_mf": {"loss": [2.16, 0.87, 0.80], "val_loss": [0.86, 0.82, 0.83]},
        "keras_deep": pd.DataFrame({"epoch": [1, 2], "loss": [1.5, 0.9], "val_loss": [0.95, 0.81]}),
    }
    figure = training_curves(histories)
    assert len(figure.data) == 4
    names = [trace.name for trace in figure.data]
    assert names == ["keras_mf training", "keras_mf validation", "keras_deep training", "keras_deep validation"]
    assert list(figure.data[1].y) == [0.86, 0.82, 0.83] and list(figure.data[1].x) == [1, 2, 3]
    assert figure.data[1].line.dash == "dash"
    assert figure.layout.title.text == "Training Curves Of 2 Engines: Best Validation Loss 0.8100 (keras_deep, Epoch 2)"


def test_training_curves_take_a_single_keras_history_or_a_tidy_table():
    single = training_curves({"loss": [1.0, 0.5]})
    assert len(single.data) == 1 and single.data[0].name == "model training"
    tidy = pd.DataFrame({"engine": ["a", "a", "b"], "epoch": [1, 2, 1], "loss": [1, 0.5, 0.7], "val_loss": [np.nan, 0.6, 0.8]})
    assert list(history_table(tidy)["engine"]) == ["a", "a", "b"]
    assert len(training_curves(tidy).data) == 4
    assert not training_curves(pd.DataFrame({"loss": []})).data
    with pytest.raises(DataError, match="'loss'"):
        training_curves({"mf": {"accuracy": [0.5]}})


def test_training_curves_can_follow_rmse_from_a_keras_history():
    keras_history = {"loss": [1.2, 0.8], "rmse": [1.1, 0.9], "val_loss": [0.9, 0.85], "val_rmse": [0.95, 0.92]}
    figure = training_curves({"keras_mf": keras_history}, metric="rmse")
    assert list(figure.data[1].y) == [0.95, 0.92]
    assert figure.layout.yaxis.title.text == "RMSE"
    assert "Best Validation RMSE 0.9200" in figure.layout.title.text


def test_numeric_looking_engine_names_stay_category_labels():
    figure = benchmark_heatmap(benchmark_table({"2024": {"rmse": 0.9}, "1": {"rmse": 0.8}}))
    assert list(figure.data[0].y) == ["1", "2024"]
    assert figure.layout.yaxis.type == "category"
