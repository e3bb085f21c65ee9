"""Tab 5, "Explore the data": the served dataset's figures and the report's data charts."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from movierec.app.state import AppState
from movierec.app.widgets import Outputs, empty_frame
from movierec.viz.report import data_charts

SUMMARY_COLUMNS = ["what", "value"]


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


def build(state: AppState, tab: gr.Tab) -> None:
    """The tab's widgets and wiring; everything is drawn when the tab is first opened."""
    summary = gr.Dataframe(empty_frame(SUMMARY_COLUMNS), label="Summary", interactive=False, wrap=True,
                           column_widths=["22%", "78%"])
    plots = {f"chart{i}": gr.Plot(label=label) for i, label in enumerate(DATA_CHARTS)}
    outputs = Outputs(summary=(summary, lambda: empty_frame(SUMMARY_COLUMNS)),
                      **{name: (plot, None) for name, plot in plots.items()})

    @outputs.guard
    def explore() -> tuple:
        figures = data_figures(state)
        return outputs.answer(summary=dataset_summary(state), **dict(zip(plots, figures)))

    # drawn when the tab is first opened (computed once per dataset, then reused)
    tab.select(explore, None, outputs.widgets, api_name="explore", show_progress_on=summary)
