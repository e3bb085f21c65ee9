"""A folder of every chart of one dataset (and of benchmark files) as HTML and PNG, with an index."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from movierec.core.data.tables import Dataset
from movierec.core.evaluation.results import BenchmarkResult, lower_is_better
from movierec.viz.benchmark_charts import benchmark_heatmap, quality_vs_fit_time
from movierec.viz.data_charts import (
    movies_by_year,
    rating_distribution,
    ratings_by_day,
    ratings_per_movie,
    ratings_per_user,
)
from movierec.viz.export import write_html, write_pngs
from movierec.viz.ranking_charts import top_mean_rating, top_weighted_rating


@dataclass
class Chart:
    """One chart of a report: file stem, section heading and figure."""

    name: str
    section: str
    figure: go.Figure


def source_name(spec: str) -> str:
    """'Netflix', 'MovieLens' or 'Sample' for a dataset spec, as the rating chart title says."""
    kind = spec.split(":", 1)[0].lower()
    return {"netflix": "Netflix", "movielens": "MovieLens", "sample": "Sample"}.get(kind, kind.title())


def data_charts(dataset: Dataset) -> list[Chart]:
    """The notebook's dataset charts: releases, star values, days, per movie, per user, top lists."""
    section = f"Dataset {dataset.spec}"
    ratings, movies = dataset.ratings, dataset.movies
    return [
        Chart("release", section, movies_by_year(movies)),
        Chart("rating", section, rating_distribution(ratings, source_name(dataset.spec))),
        Chart("time", section, ratings_by_day(ratings)),
        Chart("rating_per_movie", section, ratings_per_movie(ratings)),
        Chart("rating_per_user", section, ratings_per_user(ratings)),
        Chart("mean_rating", section, top_mean_rating(ratings, movies)),
        Chart("weighted_mean_rating", section, top_weighted_rating(ratings, movies)),
    ]


def benchmark_charts(result: BenchmarkResult, name: str) -> list[Chart]:
    """Heatmaps of error and of ranking metrics, and quality versus fit time, for one benchmark."""
    section = f"Benchmark {name}" + (f" ({result.dataset}, {result.split})" if result.dataset else "")
    metrics = list(dict.fromkeys(result.table["metric"]))
    errors = [m for m in metrics if lower_is_better(m)]
    ranking = [m for m in metrics if not lower_is_better(m)]
    charts = []
    if errors:
        charts.append(Chart(f"{name}_errors", section, benchmark_heatmap(result.table, errors)))
    if ranking:
        charts.append(Chart(f"{name}_ranking", section, benchmark_heatmap(result.table, ranking)))
    charts.append(Chart(f"{name}_fit_time", section, quality_vs_fit_time(result.table)))
    return charts


def write_report(charts: list[Chart], out: str | Path, png: bool = True) -> Path:
    """Write NAME.html (and NAME.png) per chart and an index.html linking them; return the index."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for chart in charts:
        # one shared plotly.min.js next to the pages instead of 4 MB inside each
        write_html(chart.figure, out / f"{chart.name}.html", include_plotlyjs="directory")
    if png:
        write_pngs([(chart.figure, out / f"{chart.name}.png") for chart in charts])
    index = out / "index.html"
    index.write_text(_index_page(charts, png), encoding="utf-8")
    return index


def _index_page(charts: list[Chart], png: bool) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>movierec report</title>',
        "<style>body{font-family:sans-serif;margin:2em}figure{display:inline-block;margin:1em;"
        "vertical-align:top;width:480px}img{width:100%;border:1px solid #ddd}h2{color:#db0000}</style>",
        "</head><body><h1>movierec report</h1>",
    ]
    section = None
    for chart in charts:
        if chart.section != section:
            section = chart.section
            parts.append(f"<h2>{html.escape(section)}</h2>")
        # figure titles are stored escaped for plotly; unescape first so '&' is not shown as '&amp;'
        title = html.escape(html.unescape(str(chart.figure.layout.title.text or chart.name)), quote=False)
        link = html.escape(f"{chart.name}.html")
        image = f'<img src="{html.escape(chart.name)}.png" alt="{html.escape(chart.name)}">' if png else ""
        parts.append(f'<figure><a href="{link}">{image}</a><figcaption><a href="{link}">{title}</a></figcaption></figure>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
