"""Training speed of keras_mf (seconds per epoch, ratings per second) next to Surprise SVD's fit.

Two datasets: 1M generated ratings (low-rank tastes plus noise, 20,000 users x 4,000 movies) and
ml-latest-small. For each, keras_mf trains a fixed number of epochs without validation or early
stopping at each batch size; the first epoch (which includes graph tracing) is reported apart from
the steady epochs. Surprise's SVD (20 epochs, its default) is fitted on the same ratings in the
same run, and the table prints seconds per epoch of both and their ratio.

    hatch run python benchmarks/bench_keras.py
    hatch run python benchmarks/bench_keras.py --ratings 200000 --batch-sizes 4096 --accelerator gpu
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from movierec.core.data import load_dataset  # noqa: E402
from movierec.core.data.tables import make_ratings  # noqa: E402
from movierec.core.models.registry import create_engine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SMALL = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data")) / "ml-latest-small"


def generated_ratings(n: int, n_users: int = 20_000, n_movies: int = 4_000, seed: int = 0) -> pd.DataFrame:
    """n ratings 1-5 from rank-8 tastes, biases and noise; popular movies get more ratings."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    popularity = rng.lognormal(0.0, 1.2, n_movies)
    movies = rng.choice(n_movies, size=n, p=popularity / popularity.sum())
    pairs = np.unique(users.astype(np.int64) * n_movies + movies)  # one rating per pair
    users, movies = pairs // n_movies, pairs % n_movies
    tastes, traits = rng.normal(0, 0.4, (n_users, 8)), rng.normal(0, 0.4, (n_movies, 8))
    score = 3.6 + rng.normal(0, 0.3, n_users)[users] + rng.normal(0, 0.4, n_movies)[movies]
    score += (tastes[users] * traits[movies]).sum(axis=1) + rng.normal(0, 0.6, len(users))
    return make_ratings(users + 1, movies + 1, np.clip(np.rint(score), 1, 5))


def time_keras_mf(ratings: pd.DataFrame, batch_size: int, epochs: int, accelerator: str | None) -> dict:
    """Seconds of the first and of the later epochs of keras_mf at one batch size."""
    stamps: list[float] = []

    def progress(fraction: float, message: str) -> None:
        if message.endswith("done") or " done:" in message:
            stamps.append(time.perf_counter())

    engine = create_engine(
        "keras_mf", epochs=epochs, batch_size=batch_size, validation_fraction=0.0,
        accelerator=accelerator, progress=progress,
    )
    start = time.perf_counter()
    engine.fit(ratings)
    total = time.perf_counter() - start
    epoch_ends = np.array(stamps[:epochs])
    steady = float(np.diff(epoch_ends).mean()) if len(epoch_ends) > 1 else float("nan")
    return {
        "engine": f"keras_mf batch {batch_size}",
        "first_epoch_s": float(epoch_ends[0] - start) if len(epoch_ends) else float("nan"),
        "epoch_s": steady,
        "ratings_per_s": len(ratings) / steady,
        "fit_s": total,
    }


def time_surprise_svd(ratings: pd.DataFrame, epochs: int = 20) -> dict:
    """Surprise SVD's fit time on the same ratings (its default 20 epochs)."""
    from surprise import SVD, Dataset, Reader

    low, high = float(ratings["rating"].min()), float(ratings["rating"].max())
    data = Dataset.load_from_df(ratings[["user", "movie", "rating"]], Reader(rating_scale=(low, high)))
    trainset = data.build_full_trainset()
    start = time.perf_counter()
    SVD(n_epochs=epochs, random_state=0).fit(trainset)
    total = time.perf_counter() - start
    return {"engine": f"surprise SVD ({epochs} epochs)", "first_epoch_s": float("nan"), "epoch_s": total / epochs,
            "ratings_per_s": len(ratings) * epochs / total, "fit_s": total}


def main(argv: list[str] | None = None) -> int:
    """Command line: time both datasets and print one table per dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000, help="size of the generated dataset")
    parser.add_argument("--batch-sizes", default="512,4096", help="comma-separated keras_mf batch sizes")
    parser.add_argument("--epochs", type=int, default=3, help="keras_mf epochs per timing (>= 2)")
    parser.add_argument("--accelerator", default=None, help="auto, tpu, gpu or cpu (default: env or auto)")
    parser.add_argument("--skip-surprise", action="store_true")
    args = parser.parse_args(argv)
    datasets = {f"generated {args.ratings:,}": generated_ratings(args.ratings)}
    if SMALL.exists():
        datasets["ml-latest-small"] = load_dataset(f"movielens:{SMALL}").ratings
    import tensorflow as tf

    devices = [d.device_type for d in tf.config.list_physical_devices()]
    print(f"TensorFlow {tf.__version__}, devices {devices}, {os.cpu_count()} CPU(s)")
    for label, ratings in datasets.items():
        rows = [time_keras_mf(ratings, int(b), args.epochs, args.accelerator) for b in args.batch_sizes.split(",")]
        if not args.skip_surprise:
            rows.append(time_surprise_svd(ratings))
        table = pd.DataFrame(rows).set_index("engine")
        if not args.skip_surprise:
            table["epoch_s / SVD epoch_s"] = table["epoch_s"] / table["epoch_s"].iloc[-1]
        print(f"\n{label}: {len(ratings):,} ratings, {ratings['user'].nunique():,} users, "
              f"{ratings['movie'].nunique():,} movies")
        print(table.to_string(float_format="{:,.3f}".format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
