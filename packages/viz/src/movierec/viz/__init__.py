"""movierec.viz: plain DataFrames in, plotly Figures out (the notebook's charts and the benchmark charts)."""

from movierec.viz.benchmark_charts import benchmark_heatmap, quality_vs_fit_time
from movierec.viz.data_charts import (
    movies_by_year,
    rating_distribution,
    ratings_by_day,
    ratings_per_movie,
    ratings_per_user,
)
from movierec.viz.export import find_browser, to_png, write_html, write_png, write_pngs
from movierec.viz.reference_lines import PRIZE_REFERENCE_LINES, ReferenceLine, reference_lines
from movierec.viz.ranking_charts import top_mean_rating, top_recommendations, top_similar_movies, top_weighted_rating
from movierec.viz.training_charts import training_curves

__all__ = [
    "PRIZE_REFERENCE_LINES",
    "ReferenceLine",
    "benchmark_heatmap",
    "find_browser",
    "movies_by_year",
    "quality_vs_fit_time",
    "rating_distribution",
    "ratings_by_day",
    "ratings_per_movie",
    "ratings_per_user",
    "reference_lines",
    "to_png",
    "top_mean_rating",
    "top_recommendations",
    "top_similar_movies",
    "top_weighted_rating",
    "training_curves",
    "write_html",
    "write_png",
    "write_pngs",
]
