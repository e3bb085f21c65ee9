"""Stored benchmark results (benchmarks/results/*.json), parsed once per file version, and what they rank best."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from movierec.core.errors import MovierecError
from movierec.core.evaluation import BenchmarkResult, load_benchmark

log = logging.getLogger(__name__)

#: the measure that picks the engine the recommend and rate tabs open on
OPENING_METRIC = "ndcg@10"


def dataset_name(spec: str) -> str:
    """The name a page shows for a dataset spec: the folder or archive name, never a local path."""
    kind, _, location = spec.partition(":")
    if not location:
        return kind.strip() or spec
    return Path(location.strip().rstrip("/\\")).name or kind


def benchmark_results_dir() -> Path:
    """$MOVIEREC_BENCHMARK_DIR, else benchmarks/results of the checkout the app runs from."""
    configured = os.environ.get("MOVIEREC_BENCHMARK_DIR")
    if configured:
        return Path(configured).expanduser()
    for parent in [Path.cwd(), *Path(__file__).resolve().parents]:
        candidate = parent / "benchmarks" / "results"
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "benchmarks" / "results"


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


def best_engines(served: str, metric: str = OPENING_METRIC, folder: Path | None = None) -> list[str]:
    """Engines measured on the served dataset, best first by head-to-head `metric` (higher is better).

    Figures of different splits do not compare (nDCG@10 on `user:0.25` is ten times that on
    `last:1`), so engines meet only inside one result file, on its folds: each pair measured
    together scores a win for the higher mean over folds, and engines are ordered by wins minus
    losses over every stored file, then by their best figure. Rows for an engine with parameters
    ("lightfm_warp(item_features=...)") name another configuration than the one served, so only
    plain engine names count.
    """
    balance: dict[str, int] = {}
    best: dict[str, float] = {}
    for result in stored_results(folder).values():
        if dataset_name(result.dataset or "") != served:
            continue
        rows = result.table[result.table["metric"] == metric]
        means = {str(engine): float(value) for engine, value in rows.groupby("engine")["value"].mean().items()
                 if "(" not in str(engine) and value == value}  # value == value: not NaN
        for engine, value in means.items():
            balance[engine] = balance.get(engine, 0) + sum((value > other) - (value < other) for other in means.values())
            best[engine] = max(value, best.get(engine, float("-inf")))
    return sorted(best, key=lambda name: (-balance[name], -best[name], name))
