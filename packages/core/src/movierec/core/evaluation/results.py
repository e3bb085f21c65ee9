"""The benchmark table: one tidy format that the runner writes and the charts and app read.

One row per (engine, fold, metric): columns engine, fold, metric, value, fit_seconds,
predict_seconds. Metric names: 'rmse', 'mae', 'fallback' (kNN engines: the share of test
pairs predicted by the baseline alone, no rated neighbour), and ranking metrics at k such as
'precision@10', 'recall@10', 'ndcg@10', 'map@10', 'hit_rate@10', 'coverage@10'. Lower is better
for rmse, mae and fallback, higher for the rest.

JSON file layout ("movierec-benchmark/1"):
    {"format": "movierec-benchmark/1", "dataset": "...", "split": "kfold:5", "k": 10,
     "protocol": "...", "seed": 42, "created": "2026-...", "rows": [{...}, ...]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from movierec.core.errors import DataError, excerpt

FORMAT = "movierec-benchmark/1"
COLUMNS = ("engine", "fold", "metric", "value", "fit_seconds", "predict_seconds")
LOWER_IS_BETTER = frozenset({"rmse", "mae", "fallback"})


def lower_is_better(metric: str) -> bool:
    """True for error metrics (rmse, mae, fallback), False for ranking metrics."""
    return metric.split("@")[0] in LOWER_IS_BETTER


@dataclass
class BenchmarkResult:
    """A benchmark table plus how it was made."""

    table: pd.DataFrame
    dataset: str = ""
    split: str = ""
    k: int = 10
    protocol: str = ""
    seed: int = 42
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.table.columns]
        if missing:
            raise DataError(f"benchmark table lacks column(s) {', '.join(missing)}")
        self.table = self.table.loc[:, list(COLUMNS)].reset_index(drop=True)

    @property
    def failures(self) -> dict[str, str]:
        """{engine: why it could not run}; empty when every engine ran."""
        return dict(self.extra.get("failures", {}))

    def summary(self) -> pd.DataFrame:
        """Mean and std over folds: engine, metric, mean, std, folds, fit_seconds, predict_seconds."""
        return summarize(self.table)

    def to_json(self) -> dict[str, Any]:
        rows = [
            {key: (None if isinstance(v, float) and np.isnan(v) else v) for key, v in row.items()}
            for row in self.table.to_dict(orient="records")
        ]
        return {
            "format": FORMAT,
            "dataset": self.dataset,
            "split": self.split,
            "k": self.k,
            "protocol": self.protocol,
            "seed": self.seed,
            "created": self.created,
            **({"extra": self.extra} if self.extra else {}),
            "rows": rows,
        }

    def save(self, path: str | Path) -> Path:
        """Write the JSON file (folders are created)."""
        path = Path(path)
        text = json.dumps(self.to_json(), indent=1, default=_plain)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        except OSError as error:
            raise DataError(f"{path}: cannot write the benchmark file ({error.strerror or error})") from None
        return path

    @classmethod
    def from_json(cls, document: dict[str, Any], source: str = "benchmark") -> "BenchmarkResult":
        """A result from the JSON document `to_json` makes; DataError naming `source` when it is not one."""
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        if found != FORMAT:
            raise DataError(
                f"{source}: not a movierec benchmark file (format {excerpt(str(found))}, expected {FORMAT!r})"
            )
        rows = document.get("rows", [])
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise DataError(f"{source}: 'rows' must be a list of objects with {', '.join(COLUMNS)}")
        extra = document.get("extra", {})
        if not isinstance(extra, dict):
            raise DataError(f"{source}: 'extra' must be an object, got {excerpt(str(extra))}")
        table = pd.DataFrame(rows, columns=list(COLUMNS))
        table["value"] = pd.to_numeric(table["value"], errors="coerce").astype(float)
        for column in ("fit_seconds", "predict_seconds"):
            table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
        return cls(
            table=table,
            dataset=str(document.get("dataset", "")),
            split=str(document.get("split", "")),
            k=_whole(document.get("k", 10), "k", source),
            protocol=str(document.get("protocol", "")),
            seed=_whole(document.get("seed", 42), "seed", source),
            created=str(document.get("created", "")),
            extra=extra,
        )


def _whole(value: Any, key: str, source: str) -> int:
    """A whole-number field of a benchmark file."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{source}: {key!r} must be a whole number, got {excerpt(str(value))}")
    return value


def load_benchmark(path: str | Path) -> BenchmarkResult:
    """Read a benchmark JSON file written by `BenchmarkResult.save`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: benchmark file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a benchmark JSON file")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.start}), expected a benchmark JSON file") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    return BenchmarkResult.from_json(document, source=str(path))


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Aggregate a tidy benchmark table over folds."""
    if table.empty:
        return pd.DataFrame(columns=["engine", "metric", "mean", "std", "folds", "fit_seconds", "predict_seconds"])
    grouped = table.groupby(["engine", "metric"], sort=False)
    out = grouped.agg(
        mean=("value", "mean"),
        std=("value", "std"),
        folds=("value", "size"),
        fit_seconds=("fit_seconds", "mean"),
        predict_seconds=("predict_seconds", "mean"),
    ).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def combine(results: list[BenchmarkResult]) -> BenchmarkResult:
    """One table from several results on the same data and split (e.g. surprise + movierec)."""
    if not results:
        raise DataError("no benchmark results to combine")
    first = results[0]
    for other in results[1:]:
        if (other.dataset, other.split) != (first.dataset, first.split):
            raise DataError(
                f"cannot combine benchmarks of {first.dataset} {first.split} and {other.dataset} {other.split}"
            )
    table = pd.concat([r.table for r in results], ignore_index=True)
    return BenchmarkResult(table, first.dataset, first.split, first.k, first.protocol, first.seed)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{value!r} is not JSON serializable")
