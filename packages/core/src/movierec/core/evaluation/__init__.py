"""Evaluation: rating and ranking metrics, the benchmark runner and its tidy result table."""

from movierec.core.evaluation.benchmark import run_benchmark, sample_ratings
from movierec.core.evaluation.metrics import mae, ranking_metrics, relevant_items, rmse
from movierec.core.evaluation.results import (
    BenchmarkResult,
    combine,
    load_benchmark,
    lower_is_better,
    summarize,
)

__all__ = [
    "BenchmarkResult",
    "combine",
    "load_benchmark",
    "lower_is_better",
    "mae",
    "ranking_metrics",
    "relevant_items",
    "rmse",
    "run_benchmark",
    "sample_ratings",
    "summarize",
]
