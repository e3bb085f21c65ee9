"""Charts of the tidy benchmark table: the engines x metrics heatmap and quality versus fit time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from movierec.core.evaluation.results import BenchmarkResult, lower_is_better, summarize
from movierec.viz._style import RED, bar_chart_height, counted, empty_figure, escape, layout
from movierec.viz.reference_lines import ReferenceLine, draw_reference_lines, reference_lines, reference_note

# white for the worst engine of a metric, the notebook's red for the best
GOODNESS_SCALE = [[0.0, "#fff5f5"], [0.5, "#f08080"], [1.0, RED]]
_RANKING_PREFERENCE = ("ndcg", "map", "precision", "recall", "hit_rate", "coverage")


def main_metric(metrics: list[str] | pd.Series) -> str | None:
    """The metric to sort by: rmse, then mae, then ndcg@K, ... (None for no metrics)."""
    names = list(dict.fromkeys(metrics))
    for preferred in ("rmse", "mae", *_RANKING_PREFERENCE):
        for name in names:
            if name.split("@")[0] == preferred:
                return name
    return names[0] if names else None


def metric_label(metric: str) -> str:
    """Display name: RMSE, MAE, NDCG@10, Precision@10, Hit Rate@10."""
    base, _, k = metric.partition("@")
    upper = {"rmse": "RMSE", "mae": "MAE", "ndcg": "NDCG", "map": "MAP"}
    label = upper.get(base, base.replace("_", " ").title())
    return f"{label}@{k}" if k else label


def benchmark_heatmap(
    table: pd.DataFrame | BenchmarkResult,
    metrics: list[str] | None = None,
    sort_by: str | None = None,
    subject: str = "Engines",
    title: str | None = None,
    references: Sequence[ReferenceLine] | None = None,
    compact: bool = False,
) -> go.Figure:
    """Engines x metrics, mean over folds in each cell, best engine of `sort_by` on top.

    Colour is the engine's rank per metric, from worst (white) to best (red), so error metrics
    (lower is better) and ranking metrics (higher is better) read the same way side by side.
    Published `references` of the shown metrics (default: `reference_lines` of a BenchmarkResult's
    dataset and split) are named in a note under the grid.
    `compact` fits a phone: three decimals, no colour bar, each metric's direction under its name.
    """
    references = _references(table, references)
    table = _rows(table)
    summary = summarize(table)
    if metrics is not None:
        summary = summary[summary["metric"].isin(metrics)]
    folds = int(table["fold"].nunique()) if len(table) else 0
    engines_count = int(summary["engine"].nunique())
    if title is None:
        prefix = "Crossvalidated Comparison" if folds > 1 else "Comparison"
        title = f"{prefix} Of {counted(engines_count, subject)}{_family(list(summary['metric']))}"
        title += f" ({folds} Folds)" if folds > 1 else ""
    if summary.empty:
        return empty_figure(title, "no benchmark rows")
    columns = [m for m in (metrics or list(dict.fromkeys(summary["metric"]))) if m in set(summary["metric"])]
    sort_by = sort_by if sort_by in columns else main_metric(columns)
    means = summary.pivot(index="engine", columns="metric", values="mean").reindex(columns=columns)
    stds = summary.pivot(index="engine", columns="metric", values="std").reindex(columns=columns)
    order = _engine_order(means, sort_by)
    means, stds = means.loc[order], stds.loc[order]
    # test time differs per metric (predicting ratings vs ranking top-k), so hover reads each cell's own
    fits = summary.pivot(index="engine", columns="metric", values="fit_seconds").reindex(index=order, columns=columns)
    tests = summary.pivot(index="engine", columns="metric", values="predict_seconds").reindex(index=order, columns=columns)

    goodness = np.column_stack([_goodness(means[m].to_numpy(dtype=float), lower_is_better(m)) for m in columns])
    cell_text, hover = [], []
    for engine in order:
        row_text, row_hover = [], []
        for metric in columns:
            fit, test = fits.loc[engine, metric], tests.loc[engine, metric]
            value, spread = means.loc[engine, metric], stds.loc[engine, metric]
            shown = "n/a" if pd.isna(value) else f"{value:.3f}" if compact else f"{value:.4f}"
            row_text.append(shown)
            direction = "lower is better" if lower_is_better(metric) else "higher is better"
            row_hover.append(
                f"{escape(engine)}<br>{metric_label(metric)}: {shown}"
                + ("" if pd.isna(spread) or pd.isna(value) else f" ± {spread:.4f}")
                + f" ({direction})<br>Fit Time: {_seconds(fit)}<br>Test Time: {_seconds(test)}"
            )
        cell_text.append(row_text)
        hover.append(row_hover)
    names = [metric_label(m) for m in columns]
    if compact:
        names = [f"{name}<br>{'lower' if lower_is_better(m) else 'higher'} is better" for name, m in zip(names, columns)]
    trace = go.Heatmap(
        x=names,
        y=[escape(engine) for engine in order],
        z=goodness,
        zmin=0.0,
        zmax=1.0,
        text=cell_text,
        texttemplate="%{text}",
        textfont=dict(size=13),
        hovertext=hover,
        hoverinfo="text",
        colorscale=GOODNESS_SCALE,
        xgap=2,
        ygap=2,
        colorbar=dict(title=dict(text="Rank Per Metric"), tickvals=[0, 1], ticktext=["worst", "best"]),
        showscale=not compact,
    )
    x_title = "Metric (sorted by " + metric_label(sort_by) + (", lower is better)" if lower_is_better(sort_by) else ", higher is better)")
    if compact:
        x_title = f"Sorted by {metric_label(sort_by)}; darker red = better in its column"
    figure = go.Figure(data=[trace], layout=layout(title, x_title, subject[:-1] if subject.endswith("s") else subject,
                                                  height=max(bar_chart_height(len(order)), 400)))
    # engine names such as '1' or '2024' must stay labels, not become a numeric axis
    figure.update_yaxes(autorange="reversed", automargin=True, type="category")
    figure.update_xaxes(side="bottom", type="category")
    note = reference_note(references, columns)
    if note:
        figure.add_annotation(text=escape("Published: " + note), x=0, y=-0.18, xref="paper", yref="paper",
                              xanchor="left", showarrow=False, font=dict(size=11, color="#555555"))
        figure.update_layout(margin=dict(b=110))
    return figure


def quality_vs_fit_time(
    table: pd.DataFrame | BenchmarkResult,
    metric: str | None = None,
    subject: str = "Engines",
    references: Sequence[ReferenceLine] | None = None,
) -> go.Figure:
    """Each engine as a point: mean fit time (log scale) against the mean of `metric` with its std.

    Published `references` of `metric` (default: `reference_lines` of a BenchmarkResult's dataset
    and split, e.g. the Netflix Prize's on netflix:DIR with the probe split) are dashed, labelled lines.
    """
    references = _references(table, references)
    table = _rows(table)
    summary = summarize(table)
    metric = metric or main_metric(list(summary["metric"]))
    chosen = summary[summary["metric"] == metric].dropna(subset=["mean"]) if metric else summary.iloc[0:0]
    label = metric_label(metric) if metric else "Quality"
    title = f"{label} Versus Fit Time Of {counted(chosen['engine'].nunique(), subject)}"
    if chosen.empty:
        return empty_figure(title, "no benchmark rows")
    seconds = chosen["fit_seconds"].to_numpy(dtype=float)
    # engines that fit in no measurable time still need a place on a log axis
    shown_seconds = np.where(np.isfinite(seconds), np.maximum(seconds, 1e-3), 1e-3)
    hover = [
        f"{escape(engine)}<br>{label}: {mean:.4f} ± {std:.4f}<br>Fit Time: {_seconds(fit)}<br>Test Time: {_seconds(test)}"
        for engine, mean, std, fit, test in zip(
            chosen["engine"], chosen["mean"], chosen["std"], chosen["fit_seconds"], chosen["predict_seconds"]
        )
    ]
    trace = go.Scatter(
        x=shown_seconds,
        y=chosen["mean"].to_numpy(dtype=float),
        error_y=dict(type="data", array=chosen["std"].to_numpy(dtype=float), color="#888888"),
        mode="markers+text",
        text=[escape(engine) for engine in chosen["engine"]],
        textposition=_label_positions(np.log10(shown_seconds), chosen["mean"].to_numpy(dtype=float)),
        hovertext=hover,
        hoverinfo="text",
        marker=dict(color=RED, size=11),
        cliponaxis=False,
    )
    direction = "lower is better" if lower_is_better(metric) else "higher is better"
    figure = go.Figure(data=[trace], layout=layout(title, "Mean Fit Time Per Fold (s, log scale)", f"{label} ({direction})"))
    low, high = np.log10(shown_seconds.min()), np.log10(shown_seconds.max())
    figure.update_xaxes(type="log", range=[low - 0.3, high + 0.5])
    return draw_reference_lines(figure, references, metric)


def _label_positions(log_seconds: np.ndarray, values: np.ndarray) -> list[str]:
    """Label above each point, left of the rightmost ones, and below a point crowding its neighbour."""
    x_span = max(float(np.ptp(log_seconds)), 1e-9)
    y_span = max(float(np.ptp(values)), 1e-9)
    share = (log_seconds - log_seconds.min()) / x_span
    sides = ["left" if s > 0.75 else "right" if s < 0.1 else "center" for s in share]
    above = [True] * len(values)
    order = np.argsort(log_seconds, kind="stable")
    for previous, current in zip(order[:-1], order[1:]):
        near = log_seconds[current] - log_seconds[previous] < 0.4 and abs(values[current] - values[previous]) < 0.12 * y_span
        if near and above[previous] and above[current]:
            # the left one of a close pair drops below its point, centred, clear of the right one's label
            above[previous] = False
            sides[previous] = "center"
    return [f"{'top' if up else 'bottom'} {side}" for up, side in zip(above, sides)]


def _family(metrics: list[str]) -> str:
    """': Rating Errors' or ': Top-10 Ranking' when every metric is of one kind, else ''."""
    if metrics and all(lower_is_better(m) for m in metrics):
        return ": Rating Errors"
    ks = {m.partition("@")[2] for m in metrics}
    if metrics and not any(lower_is_better(m) for m in metrics) and len(ks) == 1 and "" not in ks:
        return f": Top-{ks.pop()} Ranking"
    return ""


def _references(table: pd.DataFrame | BenchmarkResult, given: Sequence[ReferenceLine] | None) -> list[ReferenceLine]:
    """The lines given, else those that belong to a BenchmarkResult's dataset and split (none for a bare table)."""
    if given is not None:
        return list(given)
    if isinstance(table, BenchmarkResult):
        return reference_lines(table.dataset, table.split)
    return []


def _rows(table: pd.DataFrame | BenchmarkResult) -> pd.DataFrame:
    """The tidy rows of a benchmark, given the table or the BenchmarkResult holding it."""
    return table.table if isinstance(table, BenchmarkResult) else table


def _engine_order(means: pd.DataFrame, sort_by: str | None) -> list[str]:
    """Engines best first by `sort_by`; engines without a value for it go last, by name."""
    if sort_by is None:
        return sorted(means.index)
    column = means[sort_by]
    ascending = lower_is_better(sort_by)
    ranked = column.dropna().sort_values(ascending=ascending, kind="stable")
    return list(ranked.index) + sorted(column.index[column.isna()])


def _goodness(values: np.ndarray, lower_better: bool) -> np.ndarray:
    """Rank of each value within one metric scaled to 0 (worst) .. 1 (best); NaN stays NaN.

    Ranks rather than min-max scaling: one outlier (a random predictor) would otherwise paint
    every other engine the same colour. The cell text keeps the actual values.
    """
    series = pd.Series(-values if lower_better else values)
    ranks = series.rank(method="average").to_numpy()  # 1 = worst; NaN stays NaN
    finite = int(np.isfinite(ranks).sum())
    if finite <= 1:
        return np.where(np.isfinite(values), 1.0, np.nan)
    return (ranks - 1) / (finite - 1)


def _seconds(value: float) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return f"{value:.3f} s" if value < 100 else f"{value:,.0f} s"
