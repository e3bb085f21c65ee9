"""The benchmark runner: every engine fitted on the same folds, one tidy result table.

Rating engines get RMSE and MAE on the test ratings (predicted on the test ratings' dates, which
the engines with `uses_dates` read); engines that only rank get ranking metrics
at k; rating engines get ranking metrics too when the split holds out movies per user
(`user:F`, `temporal:F`, `last:N`), the protocol under which top-k lists are meaningful.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from movierec.core.data.split import SplitSpec, iter_folds, parse_split, predefined_fold_names
from movierec.core.data.tables import Dataset
from movierec.core.errors import DataError, MovierecError
from movierec.core.evaluation.metrics import mae, protocol_text, ranking_metrics, relevant_items, rmse
from movierec.core.evaluation.results import COLUMNS, BenchmarkResult

EngineSpec = str | tuple[str, dict[str, Any]]
ProgressCallback = Callable[[float, str], None]
RANKING_SPLITS = frozenset({"user", "temporal", "last"})


def engine_label(name: str, params: dict[str, Any]) -> str:
    """The name an engine has in the table: 'user_knn' or 'user_knn(n_neighbors=20)'."""
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in sorted(params.items()))})"


def sample_ratings(ratings: pd.DataFrame, n: int, seed: int = 42) -> pd.DataFrame:
    """A seeded random sample of n ratings (all of them when n >= their number)."""
    if n < 1:
        raise DataError(f"--sample must be a positive number of ratings, got {n}")
    if n >= len(ratings):
        return ratings
    keep = np.sort(np.random.default_rng(seed).choice(len(ratings), size=n, replace=False))
    return ratings.iloc[keep].reset_index(drop=True)


def run_benchmark(
    dataset: Dataset | str,
    split: str | SplitSpec = "kfold:5",
    engines: Sequence[EngineSpec] = ("mean", "baseline"),
    k: int = 10,
    seed: int = 42,
    sample: int | None = None,
    threshold: float | None = None,
    progress: bool | ProgressCallback = False,
) -> BenchmarkResult:
    """Fit every engine on every fold of `split` and score it; returns the tidy table.

    `engines` are registry names or (name, params) pairs. `progress` is True for a tqdm bar or a
    callable(fraction, message), e.g. to forward to gr.Progress. An engine that cannot run on
    this data (e.g. content_tfidf without overviews) is recorded in `extra['failures']` and its
    rows from earlier folds are dropped, so no engine is averaged over fewer folds than the others.
    """
    from movierec.core.models.base import check_k
    from movierec.core.models.registry import create_engine

    if isinstance(dataset, str):
        from movierec.core.data import load_dataset

        dataset = load_dataset(dataset)
    k = check_k(k)
    _check_seed(seed)
    spec = parse_split(split) if isinstance(split, str) else split
    specs = [_normalize(e) for e in engines]
    if not specs:
        raise DataError("no engines to benchmark")
    labels = [engine_label(name, params) for name, params in specs]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise DataError(f"engine {', '.join(repeated)} listed more than once")
    if sample is not None and spec.kind == "predefined":
        raise DataError("--sample cannot be combined with the predefined splits (they fix their own ratings)")
    if len(dataset.ratings) == 0:
        raise DataError(f"{dataset.spec}: no ratings to benchmark")
    _check_threshold(threshold, dataset.ratings)
    ratings = dataset.ratings if sample is None else sample_ratings(dataset.ratings, sample, seed)
    source: Dataset | pd.DataFrame = dataset if sample is None else ratings
    n_folds = _fold_count(spec, dataset)
    report, close = _progress(progress, n_folds * len(specs))
    rows: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    step = 0
    dropped = 0
    try:
        for fold in iter_folds(source, spec, seed):
            _check_fold(fold, spec, len(ratings))
            dropped += fold.dropped
            for (name, params), label in zip(specs, labels):
                step += 1
                if label in failures:
                    continue
                report(step - 1, f"{label} on {fold.name}")
                try:
                    engine = create_engine(name, **params)
                    rows.extend(_score_fold(engine, label, fold, dataset.movies, spec, k, threshold))
                except MovierecError as error:
                    failures[label] = f"{fold.name}: {error}" if n_folds > 1 else str(error)
                    rows = [row for row in rows if row["engine"] != label]
        report(step, "done")
    finally:
        close()
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    extra: dict[str, Any] = {"ratings": int(len(ratings)), "engines": {lbl: p for lbl, (_, p) in zip(labels, specs)}}
    if sample is not None:
        extra["sample"] = int(sample)
    if dropped:
        extra["dropped_test_ratings"] = dropped  # test movies without a training rating (last:N)
    if failures:
        extra["failures"] = failures
    return BenchmarkResult(
        table=table,
        dataset=dataset.spec,
        split=str(spec),
        k=int(k),
        protocol=protocol_text(int(k), threshold),
        seed=seed,
        extra=extra,
    )


def _score_fold(
    engine: Any,
    label: str,
    fold: Any,
    movies: pd.DataFrame,
    spec: SplitSpec,
    k: int,
    threshold: float | None,
) -> list[dict[str, Any]]:
    start = time.perf_counter()
    engine.fit(fold.train, movies)
    fit_seconds = time.perf_counter() - start
    rows = []

    def add(metric: str, value: float, predict_seconds: float) -> None:
        rows.append(
            {"engine": label, "fold": fold.name, "metric": metric, "value": float(value),
             "fit_seconds": fit_seconds, "predict_seconds": predict_seconds}
        )

    if engine.predicts_ratings:
        start = time.perf_counter()
        dates = fold.test["date"].to_numpy() if "date" in fold.test.columns else None
        predicted = engine.predict(fold.test["user"].to_numpy(), fold.test["movie"].to_numpy(), dates)
        seconds = time.perf_counter() - start
        actual = fold.test["rating"].to_numpy()
        add("rmse", rmse(actual, predicted), seconds)
        add("mae", mae(actual, predicted), seconds)
        if hasattr(engine, "fallback_rate"):  # kNN: share of test pairs no neighbour could answer
            add("fallback", engine.fallback_rate(fold.test["user"].to_numpy(), fold.test["movie"].to_numpy()), seconds)
    if not engine.predicts_ratings or spec.kind in RANKING_SPLITS:
        relevant = relevant_items(fold.test, threshold)
        users = np.fromiter(relevant, dtype=np.int64, count=len(relevant))
        start = time.perf_counter()
        recommended = engine.recommend_many(users, k=k, exclude_seen=True)
        seconds = time.perf_counter() - start
        seen = _seen_movies(engine, users)
        metrics = ranking_metrics(recommended, relevant, k, len(engine.movies_), seen=seen)
        if metrics.pop("users") == 0:
            wanted = "a test movie" if threshold is None else f"a test movie rated >= {threshold:g}"
            raise DataError(f"{fold.name}: no test user has {wanted} outside their training movies; "
                            "ranking metrics need one")
        for metric, value in metrics.items():
            add(metric, value, seconds)
    return rows


def _seen_movies(engine: Any, users: np.ndarray) -> dict[int, np.ndarray]:
    """The training movies of each user, read back from the fitted engine."""
    positions = engine.users_.index_of(users)
    seen = engine.seen_
    return {
        int(user): engine.movies_.ids[seen.indices[seen.indptr[p]: seen.indptr[p + 1]]]
        for user, p in zip(users.tolist(), positions.tolist())
        if p >= 0
    }


def _normalize(engine: EngineSpec) -> tuple[str, dict[str, Any]]:
    if isinstance(engine, str):
        return engine, {}
    name, params = engine
    return str(name), dict(params or {})


def _fold_count(spec: SplitSpec, dataset: Dataset) -> int:
    if spec.kind == "kfold":
        return int(spec.value)  # type: ignore[arg-type]
    if spec.kind == "predefined":
        return len(predefined_fold_names(dataset, spec))
    return 1


def _check_seed(seed: Any) -> None:
    """Seeds are whole numbers >= 0 (numpy's generators refuse the rest)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise DataError(f"seed must be a whole number >= 0, got {seed!r}")


def _check_threshold(threshold: float | None, ratings: pd.DataFrame) -> None:
    """A relevance threshold is a finite rating that some rating reaches."""
    if threshold is None:
        return
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or not np.isfinite(threshold):
        raise DataError(f"threshold must be a finite rating, got {threshold!r}")
    highest = float(ratings["rating"].max())
    if threshold > highest:
        lowest = float(ratings["rating"].min())
        raise DataError(
            f"threshold {threshold:g}: no rating reaches it (ratings span {lowest:g}..{highest:g}), "
            "so no movie would be relevant"
        )


def _check_fold(fold: Any, spec: SplitSpec, n_ratings: int) -> None:
    """A fold with an empty train or test part cannot score anything: say why, once."""
    for part, rows in (("test", fold.test), ("training", fold.train)):
        if len(rows) == 0:
            fewest = int(spec.value) + 1 if spec.kind == "last" else 2  # type: ignore[arg-type]
            why = f" (no user has {fewest} or more ratings)" if spec.kind in RANKING_SPLITS and part == "test" else ""
            counted = f"{n_ratings:,} rating" + ("" if n_ratings == 1 else "s")
            raise DataError(f"split {spec} on {counted}: fold {fold.name} has an empty {part} set{why}")


def _progress(progress: bool | ProgressCallback, total: int) -> tuple[Callable[[int, str], None], Callable[[], None]]:
    """A (report(step, message), close()) pair for a tqdm bar, a callback or nothing."""
    if callable(progress):
        return (lambda step, message: progress(step / total, message)), (lambda: None)
    if not progress:
        return (lambda step, message: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="fit", desc="benchmark")

    def report(step: int, message: str) -> None:
        bar.set_postfix_str(message, refresh=False)
        bar.update(step - bar.n)

    return report, bar.close


def engine_list(names: Iterable[str]) -> list[str]:
    """Split and strip a comma-separated engine list ('mean, baseline' -> ['mean', 'baseline'])."""
    return [n.strip() for text in names for n in text.split(",") if n.strip()]
