"""The Netflix Prize's published RMSEs as labelled reference lines, only on Netflix data with the probe split."""

from __future__ import annotations

from movierec.core.evaluation.results import BenchmarkResult
from movierec.viz import PRIZE_REFERENCE_LINES, ReferenceLine, reference_lines
from movierec.viz.benchmark_charts import benchmark_heatmap, quality_vs_fit_time
from test_viz_benchmark_charts import benchmark_table

ENGINES = {"baseline": {"rmse": 0.98, "mae": 0.78}, "time_baseline": {"rmse": 0.95, "mae": 0.75}}


def _result(dataset: str, split: str) -> BenchmarkResult:
    return BenchmarkResult(table=benchmark_table(ENGINES), dataset=dataset, split=split, k=10, protocol="", seed=42)


def test_the_prize_lines_belong_to_netflix_data_with_the_probe_split():
    assert reference_lines("netflix:/data/prize", "probe") == list(PRIZE_REFERENCE_LINES)
    assert [line.value for line in PRIZE_REFERENCE_LINES] == [0.9514, 0.8567]
    assert all("not measured by movierec" in line.source for line in PRIZE_REFERENCE_LINES)
    assert reference_lines("netflix:/data/prize", "kfold:5") == []
    assert reference_lines("movielens:/data/ml", "probe") == []
    assert reference_lines("sample", "probe") == []


def test_the_fit_time_chart_draws_labelled_dashed_lines_in_view():
    figure = quality_vs_fit_time(_result("netflix:/data/prize", "probe"))
    shapes = figure.layout.shapes
    assert [shape.y0 for shape in shapes] == [0.9514, 0.8567]
    assert all(shape.line.dash == "dash" for shape in shapes)
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert any(text.startswith("Cinematch 0.9514 (quiz set): published on the real Prize data") for text in texts)
    assert any(text.startswith("Prize winner 0.8567 (test set)") for text in texts)
    low, high = figure.layout.yaxis.range
    assert low < 0.8567 and high > 0.98


def test_other_benchmarks_and_other_metrics_get_no_lines():
    assert not quality_vs_fit_time(_result("netflix:/data/prize", "kfold:5")).layout.shapes
    assert not quality_vs_fit_time(_result("netflix:/data/prize", "probe"), metric="mae").layout.shapes
    assert not quality_vs_fit_time(benchmark_table(ENGINES)).layout.shapes


def test_lines_can_be_given_explicitly():
    line = ReferenceLine("rmse", 0.9, "a published figure", "from a paper")
    figure = quality_vs_fit_time(benchmark_table(ENGINES), references=[line])
    assert [shape.y0 for shape in figure.layout.shapes] == [0.9]
    assert figure.layout.annotations[-1].text == "a published figure: from a paper"


def test_the_heatmap_names_the_published_values_under_the_grid():
    figure = benchmark_heatmap(_result("netflix:/data/prize", "probe"))
    notes = [a.text for a in figure.layout.annotations if a.text.startswith("Published: ")]
    assert notes == ["Published: Cinematch 0.9514 (quiz set); Prize winner 0.8567 (test set) "
                     "(published on the real Prize data, not measured by movierec)"]
    assert not [a for a in benchmark_heatmap(_result("netflix:/data/prize", "kfold:5")).layout.annotations
                if a.text.startswith("Published")]
