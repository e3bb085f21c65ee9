"""Tab 5, "Explore the data": the served dataset's figures and the report's data charts."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from movierec.app.state import AppState
from movierec.app.widgets import Outputs, ResultTable, fit_titles
from movierec.viz.data_charts import (
    default_clip,
    movies_by_year,
    rating_distribution,
    ratings_by_day,
    ratings_per_movie,
    ratings_per_user,
)
from movierec.viz.describe import figure_summary
from movierec.viz.ranking_charts import default_min_ratings, top_mean_rating, top_weighted_rating

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


#: the data charts in page order (labels for the plot widgets)
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
    """The data charts for the served dataset, in DATA_CHARTS order, titled in plain English (built once)."""
    cached = state.memo.get("data_figures")
    if cached is None:
        ratings, movies = state.dataset.ratings, state.dataset.movies
        per_movie = default_clip(ratings.groupby("movie").size()) if len(ratings) else 1
        per_user = default_clip(ratings.groupby("user").size()) if len(ratings) else 1
        floor = default_min_ratings(ratings.groupby("movie").size()) if len(ratings) else 1
        drawn = [
            (movies_by_year(movies), f"How many of the {len(movies):,} movies came out each year"),
            (rating_distribution(ratings), f"How often each star value was given ({len(ratings):,} ratings)"),
            (ratings_by_day(ratings), "How many ratings were given each day"),
            (ratings_per_movie(ratings, clip=per_movie),
             f"How many ratings each movie has (the last bar counts {per_movie:,} or more)"),
            (ratings_per_user(ratings, clip=per_user),
             f"How many ratings each person gave (the last bar counts {per_user:,} or more)"),
            (top_mean_rating(ratings, movies, min_ratings=floor, from_zero=True),
             f"Highest average rating among movies with at least {floor:,} ratings"),
            (top_weighted_rating(ratings, movies, from_zero=True),
             "Highest weighted rating: a high average from many people counts most"),
        ]
        for figure, title in drawn:
            fit_titles(figure.update_layout(title_text=title))
        cached = tuple(figure for figure, _ in drawn)
        state.memo["data_figures"] = cached
    return cached


def build(state: AppState, tab: gr.Tab) -> None:
    """The tab's widgets and wiring; everything is drawn when the tab is first opened."""
    about_data = ResultTable("Summary", SUMMARY_COLUMNS, {"what": "160px", "value": "320px"})
    summary = about_data.widget
    charts: dict[str, tuple[Any, Any]] = {}
    abouts: dict[str, tuple[Any, Any]] = {}
    for i, label in enumerate(DATA_CHARTS):  # each chart with its sentence under it
        charts[f"chart{i}"] = (gr.Plot(label=label), None)
        abouts[f"about{i}"] = (gr.Markdown(elem_classes="movierec-chart-summary"), "")
    # the API answers the summary, the seven charts, then their seven sentences
    outputs = Outputs(summary=(summary, about_data.empty), **charts, **abouts)

    @outputs.guard
    def explore() -> tuple:
        figures = data_figures(state)
        values = {f"chart{i}": figure for i, figure in enumerate(figures)}
        values.update({f"about{i}": figure_summary(figure) for i, figure in enumerate(figures)})
        return outputs.answer(summary=about_data.show(dataset_summary(state)), **values)

    # drawn when the tab is first opened (computed once per dataset, then reused)
    tab.select(explore, None, outputs.widgets, api_name="explore", show_progress_on=summary)
