"""Quality of the Keras engines on ml-latest-small, next to baseline and Surprise SVD / SVD++.

Every engine is fitted on the same seeded folds (`kfold:5`, seed 42 by default) and scored on
RMSE and MAE; the table prints mean and std over folds and each engine's RMSE as a ratio of
Surprise SVD's. Overviews come from `movies_with_overview.csv`, joined on movieId where its
tmdb_id agrees with links.csv (the README warns of about 200 bad title matches).

    hatch run python benchmarks/bench_deep_quality.py                    # the full 5-fold run
    hatch run python benchmarks/bench_deep_quality.py --split holdout:0.2 \\
        --engines keras_mf --param keras_mf.n_factors=32                    # tuning on one holdout
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from movierec.core.data import load_dataset  # noqa: E402
from movierec.core.data.tables import Dataset  # noqa: E402
from movierec.core.evaluation.benchmark import run_benchmark  # noqa: E402
from movierec.core.evaluation.results import BenchmarkResult, summarize  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data")) / "ml-latest-small"
ENGINES = ("baseline", "surprise_svd", "surprise_svdpp", "keras_mf", "keras_deep", "keras_hybrid")


def with_overviews(dataset: Dataset, folder: Path) -> tuple[Dataset, str]:
    """Attach overviews from movies_with_overview.csv (tmdb ids checked against links.csv)."""
    if "overview" in dataset.movies.columns and dataset.movies["overview"].notna().sum() > 0:
        return dataset, f"{int(dataset.movies['overview'].notna().sum())} overviews from the loader"
    texts = pd.read_csv(folder / "movies_with_overview.csv", dtype={"movieId": np.int64, "overview": str})
    links = pd.read_csv(folder / "links.csv", dtype={"movieId": np.int64})
    joined = texts.merge(links[["movieId", "tmdbId"]], on="movieId", how="left")
    agrees = joined["tmdb_id"].astype("Int64").eq(joined["tmdbId"].astype("Int64")).fillna(False)
    kept = joined[agrees & joined["overview"].notna()]
    lookup = kept.set_index("movieId")["overview"]
    movies = dataset.movies.copy()
    movies["overview"] = movies["movie"].map(lookup).astype("string")
    dataset.movies = movies
    note = (
        f"{len(kept)} overviews joined on movieId; {int((~agrees).sum())} rows dropped "
        f"(tmdb_id missing from or disagreeing with links.csv), {int(movies['overview'].isna().sum())} movies without overview"
    )
    return dataset, note


def run(dataset: Dataset, engines: list[str], params: dict[str, dict], split: str, seed: int) -> BenchmarkResult:
    """Fit and score every engine on the same folds with the project's benchmark runner."""

    def progress(fraction: float, message: str) -> None:
        print(f"  [{fraction:4.0%}] {message}", flush=True)

    specs = [(name, params.get(name, {})) for name in engines]
    result = run_benchmark(dataset, split, specs, seed=seed, progress=progress)
    for label, error in result.extra.get("failures", {}).items():
        print(f"  {label} failed: {error}")
    return result


def report(result: BenchmarkResult) -> pd.DataFrame:
    """Mean/std per engine and metric, with RMSE relative to Surprise SVD and baseline."""
    summary = summarize(result.table)
    summary["engine"] = summary["engine"].str.replace(r"\(.*", "", regex=True)  # labels carry params
    wide = summary.pivot(index="engine", columns="metric", values="mean")
    wide["rmse_std"] = summary[summary.metric == "rmse"].set_index("engine")["std"]
    wide["fit_s"] = summary[summary.metric == "rmse"].set_index("engine")["fit_seconds"]
    for ref in ("surprise_svd", "baseline"):
        if ref in wide.index:
            wide[f"rmse/{ref}"] = wide["rmse"] / wide.loc[ref, "rmse"]
    return wide.sort_values("rmse")


def parse_params(items: list[str]) -> dict[str, dict]:
    """{'keras_mf': {'n_factors': 32}} from ['keras_mf.n_factors=32']; values are JSON, else strings."""
    params: dict[str, dict] = {}
    for item in items:
        key, sep, text = item.partition("=")
        engine, dot, name = key.partition(".")
        if not sep or not dot:
            raise SystemExit(f"--param {item!r}: expected ENGINE.NAME=VALUE")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        params.setdefault(engine, {})[name] = tuple(value) if isinstance(value, list) else value
    return params


def main(argv: list[str] | None = None) -> int:
    """Command line: run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="ml-latest-small folder")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--param", action="append", default=[], metavar="ENGINE.NAME=VALUE",
                        help="an engine parameter, e.g. keras_mf.n_factors=32 (repeatable; VALUE is JSON)")
    parser.add_argument("--split", default="kfold:5")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=None, help="write the benchmark table here")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"{args.data} not found: this benchmark needs ml-latest-small", file=sys.stderr)
        return 2
    dataset, note = with_overviews(load_dataset(f"movielens:{args.data}"), args.data)
    print(f"{dataset.spec}: {len(dataset.ratings)} ratings; {note}; split {args.split}, seed {args.seed}")
    result = run(dataset, args.engines.split(","), parse_params(args.param), args.split, args.seed)
    print(report(result).to_string(float_format="{:.4f}".format))
    if args.json:
        result.save(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
