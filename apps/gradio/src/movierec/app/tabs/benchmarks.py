"""Tab 4, "Benchmarks": stored results drawn as heatmaps, a quality-versus-time scatter and a table; a quick benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
import pandas as pd

from movierec.app.callbacks import InputError
from movierec.app.engines import ProgressFn
from movierec.app.results import dataset_name, stored_results
from movierec.app.state import AppState
from movierec.app.widgets import Outputs, ResultTable, fit_titles, gradio_progress
from movierec.core.evaluation import BenchmarkResult, run_benchmark
from movierec.core.evaluation.results import lower_is_better
from movierec.viz import benchmark_heatmap, quality_vs_fit_time
from movierec.viz.describe import figure_summary
from movierec.viz.label_placement import declutter_labels

#: cheap engines for the quick benchmark button (a few seconds each on the sample)
QUICK_ENGINES = ("mean", "weighted", "baseline", "item_knn")
QUICK_SPLIT = "user:0.25"
QUICK_MAX_RATINGS = 200_000
SUMMARY_COLUMNS = ["engine", "metric", "mean", "std", "folds", "fit_seconds", "predict_seconds"]
#: the tab's opening lines: what is measured, in plain words, each metric's direction, and "fallback"
INTRO = (
    "How well each engine did when tested earlier: it learns from part of the ratings and is scored on "
    "ratings it did not see.\n\n"
    "- **RMSE, MAE**: how far predicted stars are from the real ones (lower is better).\n"
    "- **precision, recall, nDCG@10**: how many of the ten titles it lists the person went on to rate highly, "
    "and how near the top (higher is better).\n"
    "- **fallback**: the share of test ratings an engine could not predict from what it learned and answered "
    "with an average instead (lower is better)."
)


def split_words(split: str) -> str:
    """How a benchmark held out its test ratings, in one plain line (kfold:5 -> 'five-fold cross-validation ...')."""
    kind, _, value = str(split).partition(":")
    if kind == "kfold" and value:
        return f"{value}-fold cross-validation: the ratings cut into {value} parts, each part tested once"
    if kind == "user" and value:
        share = float(value)
        return f"for each person, a random {share:.0%} of their ratings held out to test"
    if kind == "temporal" and value:
        return f"the latest {float(value):.0%} of ratings held out to test"
    if kind == "holdout" and value:
        return f"{int(value):,} random ratings held out to test"
    if kind == "predefined":
        return "the test ratings the dataset itself names"
    return f"split {split}"


def result_choices(results: dict[str, BenchmarkResult], served: str) -> list[tuple[str, str]]:
    """(label, file name) per stored result: the served dataset's results first, each labelled by dataset name.

    Among results of the same dataset, the one comparing the most engines comes first, then the
    one with the most folds.
    """
    def order(name: str) -> tuple[bool, int, int, str]:
        result = results[name]
        return (dataset_name(result.dataset or "") != served, -result.table["engine"].nunique(),
                -result.table["fold"].nunique(), name)

    return [(f"{dataset_name(results[name].dataset or '') or 'unknown data'}: "
             f"{results[name].table['engine'].nunique()} engines, {_split_short(results[name].split)} "
             f"({Path(name).stem})", name)
            for name in sorted(results, key=order)]


def _split_short(split: str) -> str:
    kind, _, value = str(split).partition(":")
    if kind == "kfold" and value:
        return f"{value}-fold cross-validation"
    if kind == "user" and value:
        return f"{float(value):.0%} of each person's ratings held out"
    return split_words(split)


def metrics_of(result: BenchmarkResult) -> list[str]:
    """The metrics a result holds, rating metrics first."""
    metrics = result.table["metric"].dropna().unique().tolist()
    leading = sorted((m for m in metrics if lower_is_better(m)), key=lambda m: (m != "rmse", m != "mae", m))  # rmse, mae, fallback
    return leading + sorted(m for m in metrics if m not in leading)


@dataclass
class BenchmarkView:
    """What the Benchmarks tab shows for one result."""

    surprise_heatmap: Any  # None when the result has no scikit-surprise rows
    engines_heatmap: Any  # None when it has only scikit-surprise rows
    scatter: Any
    summary: pd.DataFrame
    message: str
    #: the charts in one sentence each, for readers who cannot see them
    about: str = ""


def benchmark_view(result: BenchmarkResult, metric: str | None = None, served: str | None = None) -> BenchmarkView:
    """Heatmap, quality-versus-time scatter and the summary table of one benchmark result.

    Engines are ordered the same way in the heatmap and the table: by the chosen metric, best
    first, ties by engine name. `served` names the served dataset, so a result measured on another
    one says so.
    """
    measured_on = dataset_name(result.dataset or "") or "unknown data"
    metrics = metrics_of(result)
    if not metrics:
        raise InputError(f"the benchmark result of {measured_on} holds no rows")
    metric = metric if metric in metrics else metrics[0]
    table = result.table
    from_surprise = table["engine"].astype(str).str.startswith("surprise_")
    surprise = table[from_surprise]
    engines = table[~from_surprise]
    # each column names its own direction; one engine is a row of the table below, not a one-colour heatmap
    several = table["engine"].nunique() > 1
    surprise_heatmap = (benchmark_heatmap(surprise, sort_by=metric, subject="Surprise Algorithms", compact=True)
                        if len(surprise) and several else None)
    engines_heatmap = (benchmark_heatmap(engines, sort_by=metric, subject="movierec Engines", compact=True)
                       if len(engines) and several else None)
    scatter = declutter_labels(quality_vs_fit_time(table, metric=metric))
    summary = result.summary()
    summary = summary[summary["metric"] == metric].sort_values("engine", kind="stable")
    # the heatmap's order: best mean first, ties in engine-name order, engines without a value last
    summary = summary.sort_values("mean", ascending=lower_is_better(metric), kind="stable", na_position="last")
    summary = summary.round({"mean": 4, "std": 4, "fit_seconds": 3, "predict_seconds": 3})
    message = (f"{summary['engine'].nunique()} engines measured on {measured_on}; {metric} shown. "
               f"Test ratings: {split_words(result.split)}")
    if served is not None and measured_on != served:
        message += f". Measured on {measured_on}, not on the data served here ({served})"
    about = " ".join(figure_summary(figure) for figure in (surprise_heatmap, engines_heatmap, scatter) if figure is not None)
    best = summary.dropna(subset=["mean"]).head(1)
    if len(best):
        about += f" Best {metric}: {best['engine'].iloc[0]} with {best['mean'].iloc[0]:.4f}."
    return BenchmarkView(fit_titles(surprise_heatmap), fit_titles(engines_heatmap), fit_titles(scatter),
                         summary.reset_index(drop=True), message, about)


_views: dict[tuple[str, str, str, str | None], tuple[BenchmarkResult, BenchmarkView]] = {}


def stored_view(name: Any, metric: Any, folder: Path | None = None, served: str | None = None) -> BenchmarkView:
    """The view of a stored result file picked in the dropdown."""
    results = stored_results(folder)
    if not results:
        raise InputError("no benchmark results are stored with this demo")
    if name not in results:
        raise InputError(f"no stored result {name!r}; choose one of {', '.join(results)}")
    # a view is drawn once per parsed file, metric and served dataset: reopening the tab reuses it
    key = (str(folder), str(name), str(metric), served)
    known = _views.get(key)
    if known is None or known[0] is not results[name]:
        known = _views[key] = (results[name], benchmark_view(results[name], metric, served))
    return known[1]


def opening_choices(served: str) -> tuple[list[tuple[str, str]], str | None, list[str]]:
    """The Benchmarks tab's result choices, the result it opens with and that result's metrics."""
    stored = stored_results()
    choices = result_choices(stored, served)
    first = choices[0][1] if choices else None
    return choices, first, metrics_of(stored[first]) if first else []


def draw_opening_view(state: AppState) -> bool:
    """Draw now the stored view the Benchmarks tab opens with (its first result and metric); False if none."""
    _, first, metrics = opening_choices(state.name)
    if first is None:
        return False
    stored_view(first, metrics[0] if metrics else None, served=state.name)
    return True


def quick_benchmark_result(state: AppState, engines: Any, progress: ProgressFn | None = None) -> BenchmarkResult:
    """Run a small benchmark of the chosen engines on the served dataset (one user:0.25 split)."""
    names = [str(n) for n in (engines or [])]
    if not names:
        raise InputError("tick at least one engine to benchmark")
    unknown = [n for n in names if n not in state.offered]
    if unknown:
        raise InputError(f"cannot benchmark {', '.join(unknown)}; choose from {', '.join(state.offered)}")
    sample = QUICK_MAX_RATINGS if len(state.dataset.ratings) > QUICK_MAX_RATINGS else None
    result = run_benchmark(state.dataset, QUICK_SPLIT, names, k=10, sample=sample, progress=progress or False)
    if result.table.empty:
        failures = result.extra.get("failures", {})
        raise InputError("no engine finished: " + "; ".join(f"{n}: {e}" for n, e in failures.items()))
    return result


def quick_benchmark(state: AppState, engines: Any, progress: ProgressFn | None = None) -> BenchmarkView:
    """The Benchmarks tab's view of a quick benchmark (see `quick_benchmark_result`)."""
    result = quick_benchmark_result(state, engines, progress)
    view = benchmark_view(result, "ndcg@10", state.name)
    failed = result.extra.get("failures")
    if failed:
        view.message += "; failed: " + ", ".join(failed)
    return view


class ViewWidgets(NamedTuple):
    """The widgets one benchmark view is drawn into: the callback's outputs, its table and its scatter."""

    outputs: Outputs
    table: ResultTable
    scatter: gr.Plot


def view_widgets(surprise_label: str, engines_label: str, scatter_label: str, caption: str) -> ViewWidgets:
    """A message, the two heatmaps (hidden until drawn), the scatter, its text summary and the table."""
    message = gr.Markdown(elem_classes="movierec-message")
    surprise = gr.Plot(label=surprise_label, visible=False)
    engines = gr.Plot(label=engines_label, visible=False)
    scatter = gr.Plot(label=scatter_label, elem_classes="movierec-scatter")
    about = gr.Markdown(elem_classes="movierec-chart-summary")
    table = ResultTable(caption, SUMMARY_COLUMNS)
    hidden = lambda: gr.update(value=None, visible=False)  # noqa: E731
    outputs = Outputs(surprise=(surprise, hidden), engines=(engines, hidden), scatter=(scatter, None),
                      summary=(table.widget, table.empty), message=(message, None), about=(about, ""))
    return ViewWidgets(outputs, table, scatter)


def build(state: AppState, tab: gr.Tab) -> None:
    """The tab's widgets and wiring; the stored view is drawn when the tab is opened."""
    choices, first_name, metrics = opening_choices(state.name)
    gr.Markdown(INTRO)
    with gr.Row():
        result_name = gr.Dropdown(choices, value=first_name, label="Stored result", scale=3)
        metric = gr.Dropdown(metrics, value=metrics[0] if metrics else None, label="Metric for the scatter", scale=2)
    stored, stored_table, scatter = view_widgets("scikit-surprise algorithms", "movierec engines",
                                                 "Quality versus fit time", "Mean over folds")
    gr.Markdown(f"## Quick benchmark on {state.name}\nTick engines and run them here: "
                f"{split_words(QUICK_SPLIT)}, ten titles per list.")
    with gr.Row():
        engines = gr.CheckboxGroup(state.offered, label="Engines",
                                   value=[n for n in QUICK_ENGINES if n in state.offered], scale=4)
        run = gr.Button("Run a quick benchmark", variant="primary", scale=1)
    quick_outputs, quick_table, quick_scatter = view_widgets(
        "Quick benchmark: scikit-surprise algorithms", "Quick benchmark: movierec engines",
        "Quick benchmark: quality versus fit time", "Quick benchmark results")

    def shown(outputs: Outputs, table: ResultTable, view: BenchmarkView) -> tuple:
        # a heatmap without rows (e.g. no scikit-surprise engine ran) is hidden, not drawn empty
        surprise, movierec = (gr.update(value=figure, visible=figure is not None)
                              for figure in (view.surprise_heatmap, view.engines_heatmap))
        return outputs.answer(surprise=surprise, engines=movierec, scatter=view.scatter, summary=table.show(view.summary),
                              message=view.message, about=view.about)

    @stored.guard
    def show(name: Any, metric: Any) -> tuple:
        return shown(stored, stored_table, stored_view(name, metric, served=state.name))

    @quick_outputs.guard
    def quick(engines: Any, progress: gr.Progress = gr.Progress()) -> tuple:
        return shown(quick_outputs, quick_table, quick_benchmark(state, engines, gradio_progress(progress)))

    def metrics_for(name: Any) -> Any:
        result = stored_results().get(name)
        choices = metrics_of(result) if result is not None else []
        return gr.update(choices=choices, value=choices[0] if choices else None)

    def opened(name: Any, metric: Any) -> tuple:
        if not choices:
            return stored.empty("No results are stored with this demo yet: run the quick benchmark below.")
        return show(name, metric)

    # drawn when the tab is opened, so the page itself carries no benchmark chart
    tab.select(opened, [result_name, metric], stored.widgets, api_visibility="private", show_progress_on=scatter)
    result_name.input(metrics_for, result_name, metric, api_visibility="private").then(
        show, [result_name, metric], stored.widgets, api_visibility="private", show_progress_on=scatter
    )
    metric.input(show, [result_name, metric], stored.widgets, api_name="stored_benchmark", show_progress_on=scatter)
    run.click(quick, engines, quick_outputs.widgets, api_name="quick_benchmark", concurrency_limit=1,
              concurrency_id="benchmark", show_progress_on=quick_scatter)
