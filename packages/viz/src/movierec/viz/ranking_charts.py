"""Top-N charts as horizontal bars: best movies by mean or weighted rating, recommendations, similar movies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from movierec.core.models.classic.popularity import default_m, weighted_score
from movierec.viz._style import RED, bar_chart_height, count, empty_figure, escape, layout

# movies need this share of the busiest movies' rating counts to enter a mean-rating top list
DEFAULT_VOTES_QUANTILE = 0.9


def movie_rating_stats(ratings: pd.DataFrame) -> pd.DataFrame:
    """Per movie: mean rating and number of ratings (columns movie, mean, ratings)."""
    grouped = ratings.groupby("movie", sort=False)["rating"]
    stats = pd.DataFrame({"mean": grouped.mean().astype(float), "ratings": grouped.size()})
    return stats.reset_index()


def default_min_ratings(ratings_per_movie: pd.Series | np.ndarray, quantile: float = DEFAULT_VOTES_QUANTILE) -> int:
    """Ratings a movie needs to be ranked: the 90th percentile of ratings per movie (at least 1)."""
    values = np.asarray(ratings_per_movie, dtype=float)
    return max(1, int(np.quantile(values, quantile))) if values.size else 1


def weighted_ratings(ratings: pd.DataFrame, min_votes: float | None = None) -> pd.DataFrame:
    """Per movie: the `weighted` engine's v/(v+m)*R + m/(v+m)*C (columns movie, score, mean, ratings)."""
    return _weighted(movie_rating_stats(ratings), ratings, min_votes)[0]


def _weighted(stats: pd.DataFrame, ratings: pd.DataFrame, min_votes: float | None) -> tuple[pd.DataFrame, float]:
    """The stats with a weighted `score` column, and the m used (core's default when None)."""
    m = default_m(stats["ratings"].to_numpy()) if min_votes is None else float(min_votes)
    global_mean = float(ratings["rating"].mean()) if len(ratings) else 0.0
    score = weighted_score(stats["ratings"].to_numpy(), stats["mean"].to_numpy(), global_mean, m)
    return stats.assign(score=score), m


def top_mean_rating(
    ratings: pd.DataFrame,
    movies: pd.DataFrame | None = None,
    n: int = 10,
    min_ratings: int | None = None,
    rmse: float | None = None,
    from_zero: bool = False,
) -> go.Figure:
    """Top-N movies by mean rating among movies with at least `min_ratings` ratings (bars from 0 with `from_zero`)."""
    stats = movie_rating_stats(ratings)
    floor = default_min_ratings(stats["ratings"]) if min_ratings is None else int(min_ratings)
    ranked = stats[stats["ratings"] >= floor].rename(columns={"mean": "score"})
    return _rated_ranking(ranked, movies, n, "Mean-Movie-Ratings", "Mean-Rating", rmse,
                          note=f"Movies With At Least {count(floor)} Ratings", from_zero=from_zero)


def top_weighted_rating(
    ratings: pd.DataFrame,
    movies: pd.DataFrame | None = None,
    n: int = 10,
    min_votes: float | None = None,
    rmse: float | None = None,
    from_zero: bool = False,
) -> go.Figure:
    """Top-N movies by weighted rating, as the `weighted` engine scores them (m = `min_votes`; bars from 0 with `from_zero`)."""
    weighted, m = _weighted(movie_rating_stats(ratings), ratings, min_votes)
    shown = count(m) if float(m).is_integer() else f"{m:,.1f}"
    return _rated_ranking(weighted, movies, n, "Weighted-Movie-Ratings", "Weighted Rating", rmse, note=f"m = {shown}",
                          from_zero=from_zero)


def top_recommendations(
    recommendations: pd.DataFrame,
    movies: pd.DataFrame | None = None,
    n: int = 10,
    user: int | str | None = None,
    engine: str = "",
    rmse: float | None = None,
    measure: str = "Recommendation Score",
    from_zero: bool = False,
) -> go.Figure:
    """Top-N recommendations of one engine for one user (columns movie, score and optionally title).

    Bars are in the frame's order among equal scores (an engine's ranking, e.g. predicted stars
    clipped at the top of the scale), so the chart lists ties as the engine's table does.
    `from_zero` draws bars from 0 (stars read against the whole scale, not against each other).
    """
    who = " For A User" if user is None else f" For User {user}"
    by = f" By {engine}" if engine else ""
    return _scored_ranking(recommendations, movies, n, f"Recommended Movies{who}{by}", measure, rmse, from_zero)


def top_similar_movies(
    similar: pd.DataFrame,
    movie_title: str,
    movies: pd.DataFrame | None = None,
    n: int = 10,
    measure: str = "Cosine Similarity",
) -> go.Figure:
    """Top-N movies most similar to one title (columns movie, score and optionally title; ties in the frame's order)."""
    # similarities are read against 0 (the notebook's 0 .. 0.4 axis), not against each other
    return _scored_ranking(similar, movies, n, f'Most Similar Movies To "{movie_title}"', measure, None, from_zero=True)


def _titles(frame: pd.DataFrame, movies: pd.DataFrame | None) -> list[str]:
    """Title of each row: its own title column, else the movies table, else 'movie <id>'."""
    if "title" in frame.columns:
        titles = frame["title"]
    elif movies is not None and len(movies):
        lookup = dict(zip(movies["movie"].tolist(), movies["title"].tolist()))
        titles = frame["movie"].map(lookup)
    else:
        titles = pd.Series([None] * len(frame), index=frame.index)
    ids = frame["movie"].tolist() if "movie" in frame.columns else [None] * len(frame)
    return [f"movie {movie}" if title is None or pd.isna(title) else str(title) for title, movie in zip(titles, ids)]


def _top(frame: pd.DataFrame, n: int, ties_by_movie: bool = True) -> tuple[pd.DataFrame, int]:
    """The n highest finite scores and how many rows had no score.

    Ties are broken by movie id, or kept in the frame's order (`ties_by_movie=False`: a ranked list).
    """
    scores = pd.to_numeric(frame["score"], errors="coerce")
    usable = frame.assign(score=scores)[np.isfinite(scores.to_numpy(dtype=float))]
    order = ["score", "movie"] if "movie" in usable.columns and ties_by_movie else ["score"]
    ascending = [False, True][: len(order)]
    return usable.sort_values(order, ascending=ascending, kind="stable").head(max(0, int(n))), len(frame) - len(usable)


def _rated_ranking(
    stats: pd.DataFrame, movies: pd.DataFrame | None, n: int, what: str, x_title: str,
    rmse: float | None, note: str, from_zero: bool = False,
) -> go.Figure:
    top, _ = _top(stats, n)
    title = _ranking_title(len(top) if len(top) else n, what, rmse) + f" ({note})"
    if top.empty:
        return empty_figure(title, "no movie has enough ratings")
    names = _titles(top, movies)
    text = [f"{escape(name)}: {count(k)} Ratings" for name, k in zip(names, top["ratings"])]
    hover = [f"{escape(name)}<br>{x_title} {score:.4f}<br>{count(k)} ratings"
             for name, score, k in zip(names, top["score"], top["ratings"])]
    return _bars(top["score"].to_numpy(dtype=float), text, hover, title, x_title, from_zero)


def _scored_ranking(
    frame: pd.DataFrame, movies: pd.DataFrame | None, n: int, what: str, x_title: str, rmse: float | None,
    from_zero: bool = False,
) -> go.Figure:
    if "score" not in frame.columns:
        frame = frame.assign(score=pd.Series(dtype=float))
    top, unscored = _top(frame, n, ties_by_movie=False)
    title = _ranking_title(len(top) if len(top) else n, what, rmse)
    if unscored:
        title += f" ({count(unscored)} Without Score)"
    if top.empty:
        return empty_figure(title, "nothing to rank")
    names = _titles(top, movies)
    scores = top["score"].to_numpy(dtype=float)
    hover = [f"{escape(name)}<br>{x_title} {score:.4f}" for name, score in zip(names, scores)]
    text = [f"{escape(name)}: {score:.3f}" for name, score in zip(names, scores)]
    return _bars(scores, text, hover, title, x_title, from_zero)


def _ranking_title(k: int, what: str, rmse: float | None) -> str:
    title = f"Ranking Of Top {k} {what}"
    if rmse is not None and np.isfinite(rmse):
        title += f": {rmse:.4f} RMSE"
    return title


def _bars(
    scores: np.ndarray, text: list[str], hover: list[str], title: str, x_title: str, from_zero: bool = False
) -> go.Figure:
    """Rank 1 at the top; bars start below the lowest score so the differences show.

    Each bar spans `base` to its score (`base + x == score`, scores also in customdata): a bar
    drawn from 0 and cut off by the axis range would hide its label, which sits at the bar's start.
    """
    low, high = float(scores.min()), float(scores.max())
    spread = high - low if high > low else max(abs(high) * 0.1, 0.1)
    # the shortest bar keeps room for its label, as in the notebook's narrow ranges
    start = low - 1.5 * spread
    if (low >= 0 > start) or (from_zero and low >= 0):
        start = 0.0
    trace = go.Bar(
        x=scores - start,
        base=start,
        y=list(range(1, len(scores) + 1)),
        orientation="h",
        customdata=scores,
        text=text,
        textposition="inside",
        insidetextanchor="start",
        textfont=dict(color="#ffffff"),
        hovertext=hover,
        hoverinfo="text",
        marker=dict(color=RED),
    )
    figure = go.Figure(data=[trace], layout=layout(title, x_title, "Movie", height=bar_chart_height(len(scores))))
    figure.update_xaxes(range=[start, high + 0.02 * spread])
    figure.update_yaxes(autorange="reversed", dtick=1)
    return figure
