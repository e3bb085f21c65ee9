"""Charts of a dataset itself: releases per year, star values, ratings per day, per movie, per user."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from movierec.viz._style import HEIGHT, RED, TEXT_COLOR, count, empty_figure, layout, nice_ceiling

# the notebook's histograms have 100 bins: 10,000 / 100 per movie and 200 / 2 per user
DEFAULT_BINS = 100
DEFAULT_CLIP_QUANTILE = 0.95
_PERIODS = {"day": ("D", "Day"), "week": ("W", "Week"), "month": ("M", "Month")}


def movies_by_year(movies: pd.DataFrame) -> go.Figure:
    """Number of movies per release year (line), titled 'N Movies Grouped By Year Of Release'."""
    title = f"{count(len(movies))} Movies Grouped By Year Of Release"
    years = pd.to_numeric(movies["year"], errors="coerce") if "year" in movies.columns else pd.Series([], dtype=float)
    per_year = years.dropna().astype(int).value_counts().sort_index()
    unknown = len(movies) - int(per_year.sum())
    if unknown:
        title += f" ({count(unknown)} Without Year)"
    if per_year.empty:
        return empty_figure(title, "no release years")
    # years without a release are zeros, not a line drawn across the gap
    per_year = per_year.reindex(range(per_year.index.min(), per_year.index.max() + 1), fill_value=0)
    trace = go.Scatter(
        x=per_year.index.to_numpy(),
        y=per_year.to_numpy(),
        mode="lines+markers",
        marker=dict(color=RED, size=5),
        line=dict(color=RED),
        hovertemplate="%{x}: %{y:,} movies<extra></extra>",
    )
    return go.Figure(data=[trace], layout=layout(title, "Release Year", "Movies"))


def rating_distribution(ratings: pd.DataFrame, source: str = "") -> go.Figure:
    """Count of each star value (bars, highest star first) with its share in percent as text."""
    values = pd.to_numeric(ratings["rating"], errors="coerce")
    n = int(values.notna().sum())
    name = f"{source}-Ratings" if source else "Ratings"
    title = f"Distribution Of {count(n)} {name}"
    missing = len(values) - n
    if missing:
        title += f" ({count(missing)} Without Value)"
    if n == 0:
        return empty_figure(title, "no ratings")
    per_star = values.dropna().value_counts().sort_index(ascending=False)
    shares = per_star.to_numpy() / n * 100
    stars = per_star.index.to_numpy(dtype=float)
    # MovieLens has half stars: show every half step on the axis, Netflix whole stars only
    step = 1.0 if np.all(stars == np.round(stars)) else 0.5
    trace = go.Bar(
        x=stars,
        y=per_star.to_numpy(),
        text=[f"{share:.1f} %" for share in shares],
        textposition="outside",
        cliponaxis=False,
        textfont=dict(color=TEXT_COLOR),
        marker=dict(color=RED),
        hovertemplate="%{x} stars: %{y:,} ratings (%{text})<extra></extra>",
    )
    figure = go.Figure(data=[trace], layout=layout(title, "Rating", "Count"))
    figure.update_xaxes(dtick=step)
    return figure


def ratings_by_day(ratings: pd.DataFrame, period: str = "day") -> go.Figure:
    """Number of ratings per day (or 'week' / 'month') as a time series."""
    if period not in _PERIODS:
        raise ValueError(f"period {period!r}: expected one of {', '.join(_PERIODS)}")
    frequency, word = _PERIODS[period]
    title = f"{count(len(ratings))} Movie-Ratings Grouped By {word}"
    dates = pd.to_datetime(ratings["date"], errors="coerce") if "date" in ratings.columns else pd.Series([], dtype="datetime64[s]")
    dates = dates.dropna()
    undated = len(ratings) - len(dates)
    if undated:
        title += f" ({count(undated)} Without Date)"
    if dates.empty:
        return empty_figure(title, "no dated ratings")
    buckets = dates.dt.floor("D") if frequency == "D" else dates.dt.to_period(frequency).dt.start_time
    per_period = buckets.value_counts().sort_index()
    trace = go.Scatter(
        x=per_period.index,
        y=per_period.to_numpy(),
        mode="lines",
        line=dict(color=RED, width=1),
        hovertemplate="%{x|%Y-%m-%d}: %{y:,} ratings<extra></extra>",
    )
    return go.Figure(data=[trace], layout=layout(title, "Date", "Ratings"))


def default_clip(counts: pd.Series | np.ndarray, quantile: float = DEFAULT_CLIP_QUANTILE) -> int:
    """A round clip value just above most counts: a 1/2/2.5/5 x 10^k number minus one (e.g. 199)."""
    values = np.asarray(counts, dtype=float)
    if values.size == 0:
        return 1
    upper = nice_ceiling(max(float(np.quantile(values, quantile)), 2.0))
    return max(1, int(round(upper)) - 1)


def default_bin_size(clip: int, bins: int = DEFAULT_BINS) -> int:
    """Whole-number bin width giving about `bins` bins from 0 to the clip value."""
    return max(1, math.ceil((clip + 1) / bins))


def ratings_per_movie(ratings: pd.DataFrame, clip: int | None = None, bin_size: int | None = None) -> go.Figure:
    """Histogram of how many ratings each movie has, counts above `clip` piled into the last bin."""
    return _count_histogram(ratings, "movie", "Movie", "movies", clip, bin_size)


def ratings_per_user(ratings: pd.DataFrame, clip: int | None = None, bin_size: int | None = None) -> go.Figure:
    """Histogram of how many ratings each user gave, counts above `clip` piled into the last bin."""
    return _count_histogram(ratings, "user", "User", "users", clip, bin_size)


def _count_histogram(
    ratings: pd.DataFrame, column: str, label: str, plural: str, clip: int | None, bin_size: int | None
) -> go.Figure:
    counts = ratings.groupby(column, sort=False).size().to_numpy() if len(ratings) else np.array([], dtype=int)
    clip = default_clip(counts) if clip is None else int(clip)
    bin_size = default_bin_size(clip) if bin_size is None else int(bin_size)
    if clip < 1 or bin_size < 1:
        raise ValueError(f"clip {clip} and bin_size {bin_size}: expected whole numbers >= 1")
    title = f"Distribution Of Ratings Per {label} (Clipped At {count(clip)})"
    if counts.size == 0:
        return empty_figure(title, "no ratings")
    clipped = np.minimum(counts, clip)
    top = math.ceil((clip + 1) / bin_size) * bin_size
    # precomputed bins keep the figure small however many movies or users there are
    heights, edges = np.histogram(clipped, bins=np.arange(0, top + bin_size, bin_size))
    left = edges[:-1].astype(int)
    right = np.minimum(edges[1:].astype(int) - 1, clip)
    ranges = [f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}" for lo, hi in zip(left, right)]
    ranges[-1] += " or more"  # the clip value lies in the last bin
    trace = go.Bar(
        x=left + bin_size / 2,
        y=heights,
        width=bin_size * 0.8,
        name="Ratings",
        marker=dict(color=RED),
        customdata=ranges,
        hovertemplate=f"%{{customdata}} ratings: %{{y:,}} {plural}<extra></extra>",
    )
    figure = go.Figure(data=[trace], layout=layout(title, f"Ratings Per {label}", "Count", height=HEIGHT))
    # nothing reaches the clip value on small data: end the axis after the last filled bin
    filled = np.flatnonzero(heights)
    figure.update_xaxes(range=[0, min(top, (int(filled[-1]) + 1) * bin_size)])
    return figure
