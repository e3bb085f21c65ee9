"""The Benchmarks and Explore tabs: stored benchmark results, a quick benchmark, and data charts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from movierec.app.callbacks import InputError
from movierec.app.engines import ProgressFn
from movierec.app.state import AppState, benchmark_results_dir, dataset_name
from movierec.core.errors import MovierecError
from movierec.core.evaluation import BenchmarkResult, load_benchmark, run_benchmark
from movierec.core.evaluation.results import lower_is_better
from movierec.viz import benchmark_heatmap, quality_vs_fit_time
from movierec.viz.report import data_charts

log = logging.getLogger(__name__)

#: cheap engines for the quick benchmark button (a few seconds each on the sample)
QUICK_ENGINES = ("mean", "weighted", "baseline", "item_knn")
QUICK_SPLIT = "user:0.25"
QUICK_MAX_RATINGS = 200_000


# ----------------------------------------------------------------- benchmarks
#: parsed benchmark files by path, with the (mtime, size) they were parsed at; None for unreadable ones
_parsed: dict[Path, tuple[tuple[int, int], BenchmarkResult | None]] = {}


def stored_results(folder: Path | None = None) -> dict[str, BenchmarkResult]:
    """Every readable benchmark JSON in the results folder, by file name; unreadable ones are logged.

    Each file is parsed once and again only when it changes, so switching the metric or the
    result on the Benchmarks tab does not re-read the folder; new files show up at the next call.
    """
    folder = folder or benchmark_results_dir()
    results: dict[str, BenchmarkResult] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            stat = path.stat()
        except OSError:  # removed between the listing and now
            continue
        version = (stat.st_mtime_ns, stat.st_size)
        known = _parsed.get(path.resolve())
        if known is None or known[0] != version:
            try:
                result: BenchmarkResult | None = load_benchmark(path)
            except MovierecError as error:
                log.warning("skipping benchmark file %s", error)
                result = None
            known = _parsed[path.resolve()] = (version, result)
        if known[1] is not None:
            results[path.name] = known[1]
    return results


def result_choices(results: dict[str, BenchmarkResult], served: str) -> list[tuple[str, str]]:
    """(label, file name) per stored result: the served dataset's results first, each labelled by dataset name.

    Among results of the same dataset, the one comparing the most engines comes first, then the
    one with the most folds.
    """
    def order(name: str) -> tuple[bool, int, int, str]:
        result = results[name]
        return (dataset_name(result.dataset or "") != served, -result.table["engine"].nunique(),
                -result.table["fold"].nunique(), name)

    return [(f"{dataset_name(results[name].dataset or '') or 'unknown data'}: {Path(name).stem} "
             f"({results[name].split}, {results[name].table['engine'].nunique()} engines)", name)
            for name in sorted(results, key=order)]


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
    # sorted by the chosen metric, so the axis says "higher is better" over precision and ndcg
    surprise_heatmap = benchmark_heatmap(surprise, sort_by=metric, subject="Surprise Algorithms") if len(surprise) else None
    engines_heatmap = benchmark_heatmap(engines, sort_by=metric, subject="movierec Engines") if len(engines) else None
    scatter = declutter_labels(quality_vs_fit_time(table, metric=metric))
    summary = result.summary()
    summary = summary[summary["metric"] == metric].sort_values("engine", kind="stable")
    # the heatmap's order: best mean first, ties in engine-name order, engines without a value last
    summary = summary.sort_values("mean", ascending=lower_is_better(metric), kind="stable", na_position="last")
    summary = summary.round({"mean": 4, "std": 4, "fit_seconds": 3, "predict_seconds": 3})
    message = f"{summary['engine'].nunique()} engines on {measured_on}, {result.split}; {metric} shown"
    if served is not None and measured_on != served:
        message += f". Measured on {measured_on}, not on the data served here ({served})"
    return BenchmarkView(surprise_heatmap, engines_heatmap, scatter, summary.reset_index(drop=True), message)


#: the plot area the scatter gets in the page (pixels) and the label font's character size
PLOT_WIDTH, CHAR_WIDTH, LINE_HEIGHT, MARKER_RADIUS = 900, 7.0, 16.0, 7.0
_POSITIONS = ("top center", "bottom center", "middle right", "middle left",
              "top right", "top left", "bottom right", "bottom left")


def label_boxes(figure: Any) -> list[tuple[float, float, float, float]]:
    """Each scatter label's box (x0, y0, x1, y1) in pixels of the plot area, as plotly places it."""
    trace = figure.data[0]
    x, y = _pixels(figure)
    return _boxes(x, y, [str(text) for text in trace.text], _as_list(trace.textposition, len(x)))


def _boxes(x: np.ndarray, y: np.ndarray, texts: list[str], positions: list[str]) -> list[tuple[float, float, float, float]]:
    boxes = []
    for px, py, text, position in zip(x, y, texts, positions):
        width, height = CHAR_WIDTH * len(text), LINE_HEIGHT
        vertical, horizontal = position.split()
        cx = px + {"left": -(MARKER_RADIUS + width / 2), "right": MARKER_RADIUS + width / 2}.get(horizontal, 0.0)
        cy = py + {"top": -(MARKER_RADIUS + height / 2), "bottom": MARKER_RADIUS + height / 2}.get(vertical, 0.0)
        boxes.append((cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2))
    return boxes


def declutter_labels(figure: Any) -> Any:
    """Place each engine label of the quality-versus-time scatter where it overlaps the fewest labels and points.

    Engines of one family (the Surprise kNNs) fit in about the same time with about the same
    quality; their labels all "top center" would print over each other. Labels are placed one
    by one, most crowded point first, each at the candidate position that covers the least.
    """
    if not figure.data or getattr(figure.data[0], "text", None) is None or len(figure.data[0].text) < 2:
        return figure
    trace = figure.data[0]
    x, y = _pixels(figure)
    x, y = [float(v) for v in x], [float(v) for v in y]  # plain floats: the loop below runs count^2 times
    texts = [str(text) for text in trace.text]
    count = len(x)
    chosen: dict[int, str] = {}
    crowd = [sum(abs(x[i] - x[j]) < 120 and abs(y[i] - y[j]) < 40 for j in range(count)) for i in range(count)]
    for i in sorted(range(count), key=lambda i: (-crowd[i], x[i])):
        best, best_cost = _POSITIONS[0], float("inf")
        for position in _POSITIONS:
            positions = [chosen.get(j, position if j == i else "top center") for j in range(count)]
            boxes = _boxes(x, y, texts, positions)
            mine = boxes[i]
            cost = sum(_overlap(mine, boxes[j]) for j in chosen)
            cost += sum(_overlap(mine, (x[j] - MARKER_RADIUS, y[j] - MARKER_RADIUS, x[j] + MARKER_RADIUS,
                                        y[j] + MARKER_RADIUS)) for j in range(count))
            cost += 0.01 * _POSITIONS.index(position)  # among equals, the plainer position
            if cost < best_cost:
                best, best_cost = position, cost
        chosen[i] = best
    trace.textposition = [chosen[i] for i in range(count)]
    return figure


def _pixels(figure: Any) -> tuple[np.ndarray, np.ndarray]:
    """The scatter's points in plot-area pixels (x on the figure's log axis range, y on the data's span)."""
    trace = figure.data[0]
    x = np.log10(np.asarray(trace.x, dtype=float))
    low, high = figure.layout.xaxis.range if figure.layout.xaxis.range else (x.min() - 0.3, x.max() + 0.5)
    values = np.asarray(trace.y, dtype=float)
    spread = np.nan_to_num(np.asarray(trace.error_y.array if trace.error_y and trace.error_y.array is not None
                                      else np.zeros_like(values), dtype=float))
    bottom, top = float(np.min(values - spread)), float(np.max(values + spread))
    pad = 0.05 * max(top - bottom, 1e-9)
    height = float(figure.layout.height or 500) - 140  # the layout's top and bottom margins
    px = (x - low) / max(high - low, 1e-9) * PLOT_WIDTH
    py = (top + pad - values) / max(top - bottom + 2 * pad, 1e-9) * height
    return px, py


def _as_list(value: Any, count: int) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value or "top center"] * count


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Overlapping area of two boxes, in square pixels."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


_views: dict[tuple[str, str, str, str | None], tuple[BenchmarkResult, BenchmarkView]] = {}


def stored_view(name: Any, metric: Any, folder: Path | None = None, served: str | None = None) -> BenchmarkView:
    """The view of a stored result file picked in the dropdown."""
    results = stored_results(folder)
    if not results:
        raise InputError(f"no stored benchmark results in {folder or benchmark_results_dir()}")
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


# ----------------------------------------------------------------- explore the data
def dataset_summary(state: AppState) -> pd.DataFrame:
    """The dataset's figures as a two-column table (what, value)."""
    stats = state.dataset_stats
    rows = [
        ("dataset", state.name + (" (synthetic sample: made-up titles and ratings)" if state.synthetic else "")),
        ("ratings", f"{stats['ratings']:,}"),
        ("users", f"{stats['users']:,}"),
        ("movies rated", f"{stats['movies']:,}"),
        ("titles", f"{stats['titles']:,}"),
        ("titles with an overview", f"{stats['overviews']:,}"),
        ("rating scale", f"{stats['rating_min']:g} to {stats['rating_max']:g}" if stats["ratings"] else "-"),
        ("density", f"{stats['density']:.2%}"),
        ("sparsity", f"{1 - stats['density']:.2%}"),
        ("first rating", stats["date_min"] or "unknown"),
        ("last rating", stats["date_max"] or "unknown"),
    ]
    rows.extend(("note", note) for note in stats["notes"])
    return pd.DataFrame(rows, columns=["what", "value"])


#: the data charts in page order (labels for the plot widgets), as `movierec.viz.report.data_charts` draws them
DATA_CHARTS = (
    "Movies by year of release",
    "Distribution of ratings",
    "Ratings per day",
    "Ratings per movie",
    "Ratings per user",
    "Top 10 by mean rating",
    "Top 10 by weighted rating",
)


def data_figures(state: AppState) -> tuple[Any, ...]:
    """The report's data charts for the served dataset, in DATA_CHARTS order (built once)."""
    cached = state.memo.get("data_figures")
    if cached is None:
        cached = tuple(chart.figure for chart in data_charts(state.dataset))
        state.memo["data_figures"] = cached
    return cached
