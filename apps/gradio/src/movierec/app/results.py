"""Stored benchmark results (benchmarks/results/*.json), parsed once per file version, and what they rank best."""

from __future__ import annotations

import logging
from pathlib import Path

from movierec.app.state import benchmark_results_dir
from movierec.core.errors import MovierecError
from movierec.core.evaluation import BenchmarkResult, load_benchmark

log = logging.getLogger(__name__)

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
