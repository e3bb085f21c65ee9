"""What the app's rate tab costs: `recommend_for_ratings` (fold-in of a new user) per Keras engine.

    hatch run python benchmarks/bench_fold_in.py [--data DIR] [--engines keras_deep,keras_hybrid,keras_mf]
                                                 [--epochs 5] [--calls 20]

Each engine is fitted on every rating of MovieLens latest-small (few epochs: the fold-in's cost
does not depend on how well the model is trained), then asked for the top 10 of `--calls` new
users, each rating 3 to 14 of the 300 most-rated movies. Prints the first call (which compiles
the fold-in function) and the median, mean and largest of the later calls, with, in the same run,
`recommend` for a known user (no fold-in) as the reference.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from movierec.core.data import load_dataset
from movierec.core.models import create_engine

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-latest-small"


def new_users(counts: np.ndarray, calls: int) -> list[dict[int, float]]:
    """`calls` + 1 seeded new users, each rating a few of the most rated movies."""
    rng = np.random.default_rng(0)
    popular = counts[:300]
    return [
        {int(m): float(rng.choice([1.0, 2.5, 3.5, 4.0, 5.0])) for m in rng.choice(popular, int(rng.integers(3, 15)), replace=False)}
        for _ in range(calls + 1)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--engines", default="keras_deep,keras_hybrid,keras_mf")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs per engine")
    parser.add_argument("--calls", type=int, default=20, help="timed fold-in calls after the first")
    args = parser.parse_args()

    dataset = load_dataset(f"movielens:{args.data}")
    ratings = dataset.ratings
    counts = ratings["movie"].value_counts().index.to_numpy()
    users = new_users(counts, args.calls)
    known = ratings["user"].drop_duplicates().to_numpy()[: args.calls]
    print(f"{dataset.spec}: {len(ratings):,} ratings; {args.calls} new users of 3-14 ratings each")
    for name in args.engines.split(","):
        start = time.perf_counter()
        engine = create_engine(name, n_epochs=args.epochs).fit(ratings, dataset.movies)
        fit = time.perf_counter() - start
        seconds = []
        for rated in users:
            start = time.perf_counter()
            engine.recommend_for_ratings(rated, k=10)
            seconds.append(time.perf_counter() - start)
        reference = []
        for user in known.tolist():
            start = time.perf_counter()
            engine.recommend(int(user), k=10)
            reference.append(time.perf_counter() - start)
        later = np.array(seconds[1:]) * 1000
        print(f"{name:13s} fit {fit:5.1f} s | fold-in: first {seconds[0] * 1000:7.1f} ms, later median "
              f"{np.median(later):6.1f} ms, mean {later.mean():6.1f}, max {later.max():6.1f} | "
              f"recommend (known user) median {np.median(reference) * 1000:5.1f} ms", flush=True)


if __name__ == "__main__":
    main()
