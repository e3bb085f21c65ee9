"""What to watch next: keras_sasrec against ease, lightfm_warp, item_knn and weighted.

    hatch run python benchmarks/bench_next.py [--data DIR] [--part table|lists|all|speed] [--threshold R] [--seeds 1,2]
    hatch run python benchmarks/bench_next.py --part speed --ratings 500000 --users 2400
    hatch run python benchmarks/bench_next.py --part speed --ratings 100000000 --share 0.03

table: ml-latest-small, splits `last:1` (each user's latest rating held out, the leave-one-out
       protocol of sequential recommenders) and `temporal:0.2` (each user's latest 20 %), seed 42,
       the same folds for every engine in one run; ranking metrics at 10, fit seconds. Each
       split's table goes to benchmarks/results/next_<split>_<data>.json (the Benchmarks tab
       reads it) and is printed with the ratio of keras_sasrec's nDCG@10 to ease's. `--seeds`
       refits keras_sasrec with other random states on the same folds (not stored) and prints
       its mean and range: one run's ratio moves by up to a fifth from one random state to another.
speed: keras_sasrec on generated ratings of Netflix's 17,770 movies (bench_keras' generator; no
       dates, so file order) by `--users` users (default 480,189, Netflix's count; fewer users with
       the same ratings per user, 208 at 100M, measure the same cost per position on a smaller
       table): one epoch, training positions per second (timed from the first progress report,
       after tracing, to the epoch's end), the whole fit's seconds and the peak resident memory
       of the process. `--share F` stops the epoch at the first progress report (one every 5 %
       of its steps) past F (an epoch over 100M ratings takes the better part of an hour on 2
       cores; 0.03 stops at 10 %): the rate is that of the steps between the first report and
       the last, the epoch's time its positions at that rate, and the peak memory that of the
       data, the model and the steps run, which do not grow with the steps. `--nondeterministic` turns
       TensorFlow's op determinism off (it is on by default, for repeatable fits).
lists: fitted on every rating: three users' top-10 from keras_sasrec and ease side by side, with
       titles; then the fold-in lists for five sci-fi films rated 5 stars, the same five rated
       1 star, and five romances rated 5 stars, with the reasons each engine gives.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.cli.benchmark import summary_text
from movierec.core.data import load_dataset
from movierec.core.data.tables import Dataset
from movierec.core.evaluation import run_benchmark
from movierec.core.models import create_engine
from movierec.core.models.base import render_reason

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "ml-latest-small"
ENGINES = ("keras_sasrec", "ease", "lightfm_warp", "item_knn", "weighted")
SPLITS = ("last:1", "temporal:0.2")
SCI_FI = (("Matrix, The", 1999), ("Alien", 1979), ("Blade Runner", 1982),
          ("Terminator 2: Judgment Day", 1991), ("Star Wars: Episode IV - A New Hope", 1977))
ROMANCES = (("When Harry Met Sally...", 1989), ("Notting Hill", 1999), ("Pretty Woman", 1990),
            ("Sleepless in Seattle", 1993), ("You've Got Mail", 1998))
LIST_USERS = (1, 68, 414)


def load_note() -> str:
    """The machine's load average, stated with every timing (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def table(dataset: Dataset, data_name: str, threshold: float | None, seeds: tuple[int, ...] = ()) -> None:
    """Every engine on both splits; stored results and the printed table; keras_sasrec's spread over `seeds`."""
    for split in SPLITS:
        print(f"\n== {split}, seed 42 ({load_note()} at start) ==", flush=True)
        start = time.perf_counter()
        result = run_benchmark(dataset, split, list(ENGINES), k=10, seed=42, threshold=threshold, progress=True)
        print(f"{time.perf_counter() - start:.0f} s; {load_note()} at the end")
        suffix = "" if threshold is None else f"_threshold{threshold:g}"
        name = f"next_{split.replace(':', '')}{suffix}_{data_name}.json"
        result.save(ROOT / "benchmarks" / "results" / name)
        print(f"saved benchmarks/results/{name}")
        print(summary_text(result.summary()))
        ndcg = result.summary().set_index(["engine", "metric"])["mean"]
        if ("keras_sasrec", "ndcg@10") in ndcg.index and ("ease", "ndcg@10") in ndcg.index:
            ratio = ndcg[("keras_sasrec", "ndcg@10")] / ndcg[("ease", "ndcg@10")]
            print(f"keras_sasrec / ease nDCG@10: {ratio:.2f}x")
        if seeds and ("keras_sasrec", "ndcg@10") in ndcg.index:
            spread(dataset, split, threshold, seeds, ndcg)


def spread(dataset: Dataset, split: str, threshold: float | None, seeds: tuple[int, ...], table_ndcg: pd.Series) -> None:
    """keras_sasrec's nDCG@10 with other random states on the same fold (not stored): the run-to-run range."""
    found = {42: float(table_ndcg[("keras_sasrec", "ndcg@10")])}
    for seed in seeds:
        result = run_benchmark(dataset, split, [("keras_sasrec", {"random_state": seed})], k=10, seed=42,
                               threshold=threshold)
        found[seed] = float(result.summary().set_index("metric")["mean"]["ndcg@10"])
        print(f"keras_sasrec random_state={seed}: nDCG@10 {found[seed]:.4f} ({load_note()})", flush=True)
    values = np.array(list(found.values()))
    ease = float(table_ndcg[("ease", "ndcg@10")]) if ("ease", "ndcg@10") in table_ndcg.index else float("nan")
    print(f"keras_sasrec over random states {sorted(found)}: nDCG@10 mean {values.mean():.4f}, "
          f"range {values.min():.4f}-{values.max():.4f}; against ease {ease:.4f}: "
          f"{values.mean() / ease:.2f}x ({values.min() / ease:.2f}-{values.max() / ease:.2f}x)")


def _ids(dataset: Dataset, titles: tuple[tuple[str, int], ...]) -> list[int]:
    movies = dataset.movies
    out = []
    for title, year in titles:
        hit = movies[(movies["title"] == title) & (movies["year"] == year)]
        if hit.empty:
            raise SystemExit(f"{title} ({year}) is not in {dataset.spec}")
        out.append(int(hit["movie"].iloc[0]))
    return out


def _named(dataset: Dataset, frame: pd.DataFrame, reasons: list | None = None) -> list[str]:
    lines = []
    for i, movie in enumerate(frame["movie"].tolist()):
        line = dataset.title_of(int(movie))
        if reasons is not None and reasons[i]:
            line += "  <- " + (render_reason(reasons[i], dataset.title_of) or "")
        lines.append(line)
    return lines


def lists(dataset: Dataset) -> None:
    """Side-by-side top-10s of known users, and fold-in lists for liked and disliked films."""
    engines = {}
    for name in ("keras_sasrec", "ease"):
        start = time.perf_counter()
        engines[name] = create_engine(name).fit(dataset.ratings, dataset.movies)
        print(f"{name} fitted on {len(dataset.ratings):,} ratings in {time.perf_counter() - start:.0f} s ({load_note()})")
    for user in LIST_USERS:
        mine = dataset.ratings[dataset.ratings["user"] == user].sort_values("date", kind="stable")
        latest = ", ".join(f"{dataset.title_of(int(m))} ({r:g})" for m, r in zip(mine["movie"].tail(5), mine["rating"].tail(5)))
        print(f"\n== user {user}: {len(mine)} ratings; latest five: {latest}")
        columns = {}
        for name, engine in engines.items():
            top = engine.recommend(user, k=10)
            columns[name] = _named(dataset, top)
        print(pd.DataFrame(columns).to_string())
        for name, engine in engines.items():
            top = engine.recommend(user, k=3)
            for title, text in zip(_named(dataset, top), engine.explain(user, top["movie"].tolist())):
                print(f"  {name}: {title}: {render_reason(text, dataset.title_of)}")
    sci_fi, romances = _ids(dataset, SCI_FI), _ids(dataset, ROMANCES)
    for label, rated in (("five sci-fi films rated 5", [(m, 5.0) for m in sci_fi]),
                         ("the same five rated 1", [(m, 1.0) for m in sci_fi]),
                         ("five romances rated 5", [(m, 5.0) for m in romances])):
        print(f"\n== fold-in: {label}")
        columns = {}
        for name, engine in engines.items():
            ratings = rated if name == "keras_sasrec" else dict(rated)
            columns[name] = _named(dataset, engine.recommend_for_ratings(ratings, k=10))
        print(pd.DataFrame(columns).to_string())


class _Enough(Exception):
    """Raised from the progress report once the asked share of the epoch is timed."""


def speed(n_ratings: int, n_users: int, share: float = 1.0, deterministic: bool = True) -> None:
    """One epoch of keras_sasrec on generated ratings: positions per second, fit seconds, peak memory.

    `share` < 1 stops the epoch at the first progress report (one every 5 % of its steps) past
    that share, the second report at the earliest; the positions per second are those of the steps
    between the first report and the last, and the epoch's time is its positions at that rate.
    """
    import resource

    from bench_keras import NETFLIX_MOVIES, generated_ratings

    start = time.perf_counter()
    ratings = generated_ratings(n_ratings, n_users=n_users)
    print(f"generated {len(ratings):,} ratings of {ratings['user'].nunique():,} users x {NETFLIX_MOVIES:,} movies "
          f"in {time.perf_counter() - start:.0f} s ({load_note()})", flush=True)
    marks: list[tuple[float, float]] = []

    def progress(fraction: float, message: str) -> None:
        marks.append((time.perf_counter(), fraction))
        if fraction >= share and len(marks) > 1:
            raise _Enough

    engine = create_engine("keras_sasrec", n_epochs=1, validation_last=0, progress=progress,
                           deterministic=deterministic)
    start = time.perf_counter()
    try:
        engine.fit(ratings)
    except _Enough:
        pass
    fit_seconds = time.perf_counter() - start
    (first_time, first_fraction), (last_time, last_fraction) = marks[0], marks[-1]
    epoch_seconds = (last_time - first_time) / max(last_fraction - first_fraction, 1e-9)
    positions = int(engine.training_positions_)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    timed = f"timed from {100 * first_fraction:.0f} % to {100 * last_fraction:.0f} % of it"
    print(f"keras_sasrec defaults ({engine.get_params()}), one epoch over {positions:,} training positions "
          f"({len(ratings):,} ratings), {timed}: {epoch_seconds:,.0f} s of training, {positions / epoch_seconds:,.0f} "
          f"positions/s; {fit_seconds:.0f} s from fit() to the last step timed, tracing included; "
          f"peak resident memory {peak:.2f} GiB; {load_note()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT), help="a MovieLens folder (default ml-latest-small)")
    parser.add_argument("--part", choices=("table", "lists", "all", "speed"), default="all")
    parser.add_argument("--ratings", type=int, default=500_000, help="with --part speed: generated ratings")
    parser.add_argument("--users", type=int, default=480_189, help="with --part speed: users of the generated table")
    parser.add_argument("--share", type=float, default=1.0,
                        help="with --part speed: time this share of the epoch, then stop (0 < share <= 1)")
    parser.add_argument("--nondeterministic", action="store_true",
                        help="with --part speed: train with TensorFlow's op determinism off")
    parser.add_argument("--seeds", type=lambda text: [int(x) for x in text.split(",") if x], default=[],
                        help="with --part table: also fit keras_sasrec with these random states (e.g. 1,2), for its spread")
    parser.add_argument("--threshold", type=float, default=None, help="relevant = test movies rated >= this")
    args = parser.parse_args()
    if args.part == "speed":
        if not 0.0 < args.share <= 1.0:
            parser.error(f"--share must be in (0, 1], got {args.share}")
        speed(args.ratings, args.users, args.share, not args.nondeterministic)
        return
    dataset = load_dataset(f"movielens:{args.data}")
    if args.part in ("table", "all"):
        table(dataset, Path(args.data).name, args.threshold, tuple(args.seeds))
    if args.part in ("lists", "all"):
        lists(dataset)


if __name__ == "__main__":
    main()
