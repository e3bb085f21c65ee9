"""The time-aware engines on MovieLens latest-small, and time_baseline at the Netflix Prize's size.

    hatch run python benchmarks/bench_time.py [--part quality|blend|scale|all] [--seed 42] [--json-dir OUT]

quality: `kfold:5` seed 42: RMSE/MAE and fit seconds of baseline, time_baseline, keras_mf,
         keras_timemf, user_knn, item_knn, time_item_knn and the blends of the blend part;
         then `temporal:0.2` seed 42 (no test day is seen in training) for the four bias and
         factor engines, time-aware against static.
blend:   `kfold:5` (`--seed`, 42 unless given) of the blends alone, in one run: the default, the
         same with 5 held-out slices, and the earlier default (five members, user and movie
         support, one 20 % slice). Each blend fits its members once per held-out slice (on the
         other training ratings) to learn the weights, then once on all of them.
scale:   time_baseline on generated ratings of 480,189 users x 17,770 movies (`--ratings` of
         them, bench_keras.py's generator) with dates: every user rates in `--sessions` sittings
         on days drawn from the Prize's 1999-11-11..2005-12-31. Prints generation and fit
         seconds and the peak memory of the process (`ru_maxrss`).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from movierec.core.cli.benchmark import summary_text  # noqa: E402
from movierec.core.data import load_dataset  # noqa: E402
from movierec.core.evaluation import run_benchmark  # noqa: E402
from movierec.core.models import create_engine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SMALL = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data")) / "ml-latest-small"
SINGLES = ("baseline", "time_baseline", "keras_mf", "keras_timemf")
BLENDS = (
    ("blend", {}),
    ("blend", {"holdout_slices": 5}),
    # the default before the day support, squared support columns and several slices
    ("blend", {"members": ["baseline", "user_knn", "item_knn", "keras_mf", "time_baseline"],
               "support": ["user", "movie"], "support_degree": 1, "holdout_slices": 1}),
)


def quality_part(json_dir: Path | None) -> None:
    """kfold:5 table of the single engines and the blends, then temporal:0.2 of the singles."""
    dataset = load_dataset(f"movielens:{SMALL}")
    engines = [*SINGLES, "user_knn", "item_knn", "time_item_knn", *BLENDS]
    result = run_benchmark(dataset, "kfold:5", engines, k=10, seed=42, progress=True)
    print(f"\n== {dataset.spec}  kfold:5  seed 42 ==\n{summary_text(result.summary())}")
    if json_dir:
        print(f"wrote {result.save(json_dir / 'time_kfold5.json')}")
    temporal = run_benchmark(dataset, "temporal:0.2", list(SINGLES), k=10, seed=42, progress=True)
    print(f"\n== {dataset.spec}  temporal:0.2  seed 42 ==\n{summary_text(temporal.summary())}")
    if json_dir:
        print(f"wrote {temporal.save(json_dir / 'time_temporal20.json')}")


def blend_part(seed: int, json_dir: Path | None) -> None:
    """kfold:5 table of the blends alone, with the load average before and after."""
    dataset = load_dataset(f"movielens:{SMALL}")
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    result = run_benchmark(dataset, "kfold:5", list(BLENDS), k=10, seed=seed, progress=True)
    print(f"\n== {dataset.spec}  kfold:5  seed {seed} ==\n{summary_text(result.summary())}")
    table = result.table[result.table["metric"] == "rmse"]
    print(table.pivot(index="engine", columns="fold", values="value").round(4).to_string())
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if json_dir:
        print(f"wrote {result.save(json_dir / f'time_blends_seed{seed}.json')}")


def dated_ratings(n: int, sessions: int, seed: int = 0) -> pd.DataFrame:
    """bench_keras's generated Prize-size ratings, each dated on one of its user's `sessions` days."""
    from bench_keras import NETFLIX_USERS, generated_ratings

    ratings = generated_ratings(n)
    rng = np.random.default_rng(seed)
    first = np.datetime64("1999-11-11", "D")
    span = int((np.datetime64("2005-12-31", "D") - first).astype(int)) + 1
    session_days = rng.integers(0, span, (NETFLIX_USERS + 1, sessions)).astype(np.int32)
    users = ratings["user"].to_numpy()
    days = np.empty(len(users), dtype="datetime64[s]")
    for start in range(0, len(users), 8_000_000):
        block = users[start : start + 8_000_000]
        picked = session_days[block, rng.integers(0, sessions, len(block))]
        days[start : start + 8_000_000] = (first + picked.astype("timedelta64[D]")).astype("datetime64[s]")
    ratings["date"] = days
    return ratings


def scale_part(n_ratings: int, sessions: int) -> None:
    """time_baseline's fit on a generated Prize-size table: seconds and peak memory."""
    start = time.perf_counter()
    ratings = dated_ratings(n_ratings, sessions)
    generated = time.perf_counter() - start
    print(f"generated {len(ratings):,} ratings ({ratings['user'].nunique():,} users, "
          f"{ratings['movie'].nunique():,} movies, {sessions} rating days per user) in {generated:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    start, cpu = time.perf_counter(), time.process_time()
    engine = create_engine("time_baseline").fit(ratings)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"time_baseline fit {fit_s:.0f} s (cpu {fit_cpu:.0f} s), {len(engine.biases_.day_keys):,} (user, day) "
          f"biases, peak RSS {peak:.1f} GiB; load average {os.getloadavg()[0]:.1f}")
    sample = ratings.sample(1_000_000, random_state=0)
    start = time.perf_counter()
    predicted = engine.predict(sample["user"], sample["movie"], sample["date"].to_numpy())
    rmse = float(np.sqrt(np.mean((predicted - sample["rating"].to_numpy()) ** 2)))
    print(f"predict 1M dated pairs: {time.perf_counter() - start:.1f} s (training RMSE on them {rmse:.4f})")


def main() -> None:
    """Run the chosen parts and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("quality", "blend", "scale", "all"), default="quality")
    parser.add_argument("--seed", type=int, default=42, help="the kfold:5 seed of --part blend")
    parser.add_argument("--ratings", type=int, default=100_000_000, help="generated ratings for --part scale")
    parser.add_argument("--sessions", type=int, default=12, help="rating days per generated user")
    parser.add_argument("--json-dir", type=Path, help="also write the benchmark tables here")
    args = parser.parse_args()
    if args.part in ("quality", "all"):
        quality_part(args.json_dir)
    if args.part == "blend":
        blend_part(args.seed, args.json_dir)
    if args.part in ("scale", "all"):
        scale_part(args.ratings, args.sessions)


if __name__ == "__main__":
    main()
