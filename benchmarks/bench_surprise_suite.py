"""The notebook's "Crossvalidated Comparison Of Surprise Algorithms", next to the movierec engines.

Every scikit-surprise engine and the classic movierec engines are fitted on the same folds by the
movierec benchmark runner; the tidy table (RMSE, MAE, fit and test seconds per fold) is written
where the heatmap and the app read it. Two side measurements compare with the obvious
alternatives and print the ratio:

  * Trainset construction: `build_trainset` (straight from the CSR matrix) against Surprise's
    `Dataset.load_from_df(...).build_full_trainset()`.
  * Scoring one user's unseen movies: the engines' vectorized `recommend` against a loop over
    Surprise's `algo.predict` (the only top-N route Surprise offers).
  * `--parity`: Surprise's own `cross_validate` on the same folds, to show that the engines give
    Surprise's RMSE (and what the wrapping costs in time).

    hatch run python benchmarks/bench_surprise_suite.py --split kfold:3 --sample 20000
    hatch run python benchmarks/bench_surprise_suite.py --split kfold:3
    hatch run python benchmarks/bench_surprise_suite.py --split kfold:5
"""

from __future__ import annotations

import argparse
import inspect
import time
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data import load_dataset
from movierec.core.data.split import iter_folds
from movierec.core.evaluation.benchmark import run_benchmark, sample_ratings
from movierec.core.evaluation.results import BenchmarkResult, combine, load_benchmark
from movierec.core.models.registry import SURPRISE_SUITE, create_engine, engine_names

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ml-latest-small"
MOVIEREC_ENGINES = ("mean", "weighted", "baseline", "user_knn", "item_knn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="a MovieLens folder")
    parser.add_argument("--split", default="kfold:3")
    parser.add_argument("--sample", type=int, default=None, help="a random sample of this many ratings")
    parser.add_argument("--engines", default=",".join(SURPRISE_SUITE + MOVIEREC_ENGINES))
    parser.add_argument("--skip", default="", help="engines to leave out (comma-separated)")
    parser.add_argument("--out", default=None, help="result JSON (default benchmarks/results/surprise_...json)")
    parser.add_argument("--parity", action="store_true", help="also run Surprise's own cross_validate")
    parser.add_argument("--merge", action="store_true",
                        help="add these engines' rows to the existing result file (same data, split, seed)")
    parser.add_argument("--no-comparisons", action="store_true", help="skip the Trainset and recommend timings")
    args = parser.parse_args()

    dataset = load_dataset(f"movielens:{args.data}")
    skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    engines = [name.strip() for name in args.engines.split(",") if name.strip() and name.strip() not in skip]
    known = set(engine_names(available_only=True))
    missing = [name for name in engines if name not in known]
    engines = [name for name in engines if name in known]
    if missing:
        print(f"not available here, left out: {', '.join(missing)}")

    ratings = dataset.ratings if args.sample is None else sample_ratings(dataset.ratings, args.sample)
    if not args.no_comparisons:
        trainset_comparison(ratings)
        recommend_comparison(ratings)

    start = time.perf_counter()
    result = run_benchmark(dataset, args.split, engines, sample=args.sample, progress=True)
    print(f"\nbenchmark: {len(engines)} engines, {args.split}, {result.extra['ratings']} ratings, "
          f"{time.perf_counter() - start:.0f} s")
    if result.extra.get("failures"):
        print("failures:", result.extra["failures"])
    print_table(result.summary())
    name = f"surprise_{args.split.replace(':', '')}{f'_sample{args.sample}' if args.sample else ''}_{Path(args.data).name}.json"
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / name
    if args.merge and out.exists():
        result = merge(load_benchmark(out), result)
    result.save(out)
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if args.parity:
        parity(ratings, args.split, result)


def merge(stored: BenchmarkResult, new: BenchmarkResult) -> BenchmarkResult:
    """The stored table with the new engines' rows replacing theirs (the folds must be the same)."""
    if (stored.dataset, stored.split, stored.seed, stored.extra.get("sample")) != (
        new.dataset, new.split, new.seed, new.extra.get("sample")
    ):
        raise SystemExit(f"--merge: the stored result is {stored.dataset} {stored.split} seed {stored.seed}, not this run's")
    kept = stored.table[~stored.table["engine"].isin(set(new.table["engine"]))]
    merged = combine([BenchmarkResult(kept, stored.dataset, stored.split, stored.k, stored.protocol, stored.seed), new])
    merged.extra = {**stored.extra, "engines": {**stored.extra.get("engines", {}), **new.extra.get("engines", {})}}
    return merged


def print_table(summary: pd.DataFrame) -> None:
    """Engines as rows, RMSE/MAE mean +- std, fit and test seconds per fold; best RMSE first."""
    wide = summary.pivot(index="engine", columns="metric", values="mean")
    spread = summary.pivot(index="engine", columns="metric", values="std")
    times = summary.groupby("engine")[["fit_seconds", "predict_seconds"]].first()
    table = pd.DataFrame({
        "rmse": wide["rmse"].map("{:.4f}".format) + " ± " + spread["rmse"].map("{:.4f}".format),
        "mae": wide["mae"].map("{:.4f}".format) + " ± " + spread["mae"].map("{:.4f}".format),
        "fit_s": times["fit_seconds"].map("{:.2f}".format),
        "test_s": times["predict_seconds"].map("{:.2f}".format),
    }).loc[wide["rmse"].sort_values().index]
    print(table.to_string())


def trainset_comparison(ratings: pd.DataFrame) -> None:
    """build_trainset against Dataset.load_from_df(...).build_full_trainset()."""
    from surprise import Dataset, Reader

    from movierec.core.data.matrix import build_matrix
    from movierec.core.models.library.surprise_engines import build_trainset

    scale = (float(ratings["rating"].min()), float(ratings["rating"].max()))
    start = time.perf_counter()
    frame = ratings[["user", "movie", "rating"]]
    theirs = Dataset.load_from_df(frame, Reader(rating_scale=scale)).build_full_trainset()
    load_from_df = time.perf_counter() - start
    start = time.perf_counter()
    matrix = build_matrix(ratings)
    ours = build_trainset(matrix.matrix, matrix.users.ids, matrix.movies.ids, scale)
    direct = time.perf_counter() - start
    assert (ours.n_users, ours.n_items, ours.n_ratings) == (theirs.n_users, theirs.n_items, theirs.n_ratings)
    print(f"Trainset of {len(ratings)} ratings: load_from_df {load_from_df:.3f} s, from CSR {direct:.3f} s "
          f"(x{load_from_df / direct:.1f})")


def recommend_comparison(ratings: pd.DataFrame) -> None:
    """Top-10 for 20 users: vectorized recommend against a loop over Surprise's predict."""
    users = np.unique(ratings["user"])[:20]
    for name in ("surprise_svd", "surprise_knnwithmeans"):
        engine = create_engine(name).fit(ratings)
        start = time.perf_counter()
        fast = [engine.recommend(int(u), k=10)["score"].to_numpy() for u in users]
        vectorized = time.perf_counter() - start
        start = time.perf_counter()
        slow = []
        for user in users.tolist():
            seen = set(ratings.loc[ratings["user"] == user, "movie"].tolist())
            unseen = [m for m in engine.movies_.ids.tolist() if m not in seen]
            scores = np.array([engine.algo_.predict(user, m, clip=False).est for m in unseen])
            slow.append(np.sort(scores)[::-1][:10])
        looped = time.perf_counter() - start
        # equal scores may trade places at the cut-off, so compare the top-10 scores
        same = sum(np.allclose(a, b, rtol=1e-9) for a, b in zip(fast, slow))
        print(f"{name} top-10 for {len(users)} users: vectorized {vectorized:.3f} s, predict loop {looped:.2f} s "
              f"(x{looped / vectorized:.0f}); same top-10 scores {same}/{len(users)}")


def parity(ratings: pd.DataFrame, split: str, result) -> None:
    """Surprise's cross_validate on the same folds: RMSE should agree, time shows the overhead."""
    import surprise
    from surprise import Dataset, Reader
    from surprise.model_selection import cross_validate

    folds = list(iter_folds(ratings, split, seed=result.seed))
    scale = (float(ratings["rating"].min()), float(ratings["rating"].max()))
    data = Dataset.load_from_df(ratings[["user", "movie", "rating"]], Reader(rating_scale=scale))

    class SameFolds:
        def split(self, _data):
            for fold in folds:
                train = Dataset.load_from_df(fold.train[["user", "movie", "rating"]], Reader(rating_scale=scale))
                test = list(zip(fold.test["user"].tolist(), fold.test["movie"].tolist(), fold.test["rating"].tolist()))
                yield train.build_full_trainset(), test

    summary = result.summary().set_index(["engine", "metric"])
    print("\nSurprise's own cross_validate on the same folds:")
    for name in SURPRISE_SUITE:
        if (name, "rmse") not in summary.index:
            continue
        engine = create_engine(name)
        algo_class = getattr(surprise, engine.algorithm)
        accepted = inspect.signature(algo_class.__init__).parameters
        kwargs = {k: v for k, v in engine.get_params().items() if k == "random_state" and k in accepted}
        algo = algo_class(**kwargs, **({"verbose": False} if "verbose" in accepted else {}))
        scores = cross_validate(algo, data, measures=["rmse"], cv=SameFolds())
        ours = summary.loc[(name, "rmse")]
        print(f"{name:26s} rmse surprise {np.mean(scores['test_rmse']):.4f} movierec {ours['mean']:.4f}  "
              f"fit+test s surprise {np.mean(scores['fit_time']) + np.mean(scores['test_time']):.2f} "
              f"movierec {ours['fit_seconds'] + ours['predict_seconds']:.2f}")


if __name__ == "__main__":
    main()
