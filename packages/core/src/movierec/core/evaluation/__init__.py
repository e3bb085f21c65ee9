"""Evaluation: rating and ranking metrics, the benchmark runner and its tidy result table."""

from movierec.core.evaluation.results import (
    BenchmarkResult,
    combine,
    load_benchmark,
    lower_is_better,
    summarize,
)

__all__ = ["BenchmarkResult", "combine", "load_benchmark", "lower_is_better", "summarize"]
