"""Training speed of the Keras engines (seconds per epoch, ratings per second) next to Surprise SVD.

Two datasets in one run: generated ratings on a Netflix-size table (480,189 users x 17,770
movies, 1M ratings by default; low-rank tastes plus noise, popular movies rated more, every movie
a generated text for keras_hybrid) and ml-latest-small (with overviews). Each Keras engine trains
a few epochs with its default batch size and learning rate (picked from the data size), without
validation; the first epoch (graph tracing included) is reported apart from the mean of the
later ones. Surprise's SVD (20 epochs, its default) is fitted on the same ratings in the same run,
and the last column is each engine's epoch time over SVD's.

    hatch run python benchmarks/bench_keras.py
    hatch run python benchmarks/bench_keras.py --ratings 5000000 --engines keras_mf
    hatch run python benchmarks/bench_keras.py --accelerator gpu          # the same on a GPU

`--full-scale` instead trains keras_mf with its defaults (validation part, early stopping) on
the generated table and prints wall time, epochs and seconds per epoch; run it under
`/usr/bin/time -v` for the peak memory:

    /usr/bin/time -v hatch run python benchmarks/bench_keras.py --full-scale --ratings 100000000
    /usr/bin/time -v hatch run python benchmarks/bench_keras.py --full-scale --ratings 100000000 --min-delta 0.001
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_deep_quality import with_overviews  # noqa: E402

from movierec.core.data import load_dataset  # noqa: E402
from movierec.core.data.tables import make_ratings  # noqa: E402
from movierec.core.models.registry import create_engine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SMALL = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data")) / "ml-latest-small"
NETFLIX_USERS, NETFLIX_MOVIES = 480_189, 17_770
ENGINES = ("keras_mf", "keras_deep", "keras_hybrid")


def generated_ratings(
    n: int, n_users: int = NETFLIX_USERS, n_movies: int = NETFLIX_MOVIES, seed: int = 0
) -> pd.DataFrame:
    """About n ratings 1-5 from rank-8 tastes, biases and noise; popular movies get more ratings."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    popularity = rng.lognormal(0.0, 1.2, n_movies)
    movies = rng.choice(n_movies, size=n, p=popularity / popularity.sum())
    pairs = np.unique(users.astype(np.int64) * n_movies + movies)  # one rating per pair
    users, movies = pairs // n_movies, pairs % n_movies
    tastes, traits = rng.normal(0, 0.4, (n_users, 8)), rng.normal(0, 0.4, (n_movies, 8))
    user_bias, movie_bias = rng.normal(0, 0.3, n_users), rng.normal(0, 0.4, n_movies)
    rating = np.empty(len(users), dtype=np.float32)
    for start in range(0, len(users), 4_000_000):  # in chunks: 100M x 8 float64 would not fit
        u, m = users[start : start + 4_000_000], movies[start : start + 4_000_000]
        score = 3.6 + user_bias[u] + movie_bias[m] + np.einsum("ij,ij->i", tastes[u], traits[m])
        rating[start : start + 4_000_000] = np.clip(np.rint(score + rng.normal(0, 0.6, len(u))), 1, 5)
    return make_ratings((users + 1).astype(np.int32), (movies + 1).astype(np.int32), rating)


def generated_movies(n_movies: int = NETFLIX_MOVIES, words: int = 40, vocabulary: int = 5_000, seed: int = 0) -> pd.DataFrame:
    """A movies table whose overviews are `words` tokens drawn from a generated vocabulary."""
    rng = np.random.default_rng(seed)
    tokens = np.array([f"w{i}" for i in range(vocabulary)])
    drawn = tokens[rng.zipf(1.3, size=(n_movies, words)) % vocabulary]
    return pd.DataFrame({
        "movie": np.arange(1, n_movies + 1, dtype=np.int64),
        "title": [f"Movie {i}" for i in range(1, n_movies + 1)],
        "overview": pd.array([" ".join(row) for row in drawn], dtype="string"),
    })


def time_engine(name: str, ratings: pd.DataFrame, movies: pd.DataFrame | None, epochs: int, accelerator: str | None) -> dict:
    """Seconds of the first and of the later epochs of one Keras engine with its default batch."""
    stamps: list[float] = []

    def progress(fraction: float, message: str) -> None:
        if " done" in message:
            stamps.append(time.perf_counter())

    engine = create_engine(name, n_epochs=epochs, validation_fraction=0.0, accelerator=accelerator, progress=progress)
    start = time.perf_counter()
    engine.fit(ratings, movies)
    total = time.perf_counter() - start
    ends = np.array([start, *stamps[:epochs]])
    steady = float(np.diff(ends)[1:].mean()) if len(ends) > 2 else float("nan")
    return {
        "engine": f"{name} (batch {engine.batch_size_}, lr {engine.learning_rate_:.4f})",
        "first_epoch_s": float(ends[1] - ends[0]) if len(ends) > 1 else float("nan"),
        "epoch_s": steady,
        "ratings_per_s": len(ratings) / steady,
        "fit_s": total,
    }


def time_surprise_svd(ratings: pd.DataFrame, epochs: int = 20) -> dict:
    """Surprise SVD's fit time on the same ratings (its default 20 epochs), per epoch."""
    from surprise import SVD, Dataset, Reader

    low, high = float(ratings["rating"].min()), float(ratings["rating"].max())
    data = Dataset.load_from_df(ratings[["user", "movie", "rating"]], Reader(rating_scale=(low, high)))
    trainset = data.build_full_trainset()
    start = time.perf_counter()
    SVD(n_epochs=epochs, random_state=0).fit(trainset)
    total = time.perf_counter() - start
    return {"engine": f"surprise SVD ({epochs} epochs)", "first_epoch_s": float("nan"), "epoch_s": total / epochs,
            "ratings_per_s": len(ratings) * epochs / total, "fit_s": total}


def full_scale(ratings: pd.DataFrame, epochs: int | None, accelerator: str | None,
               min_delta: float | None = None) -> None:
    """keras_mf with its defaults (early stopping on 5 % validation): wall time and epochs.

    `min_delta`, when given, replaces the engine's default (0): training then stops after
    `patience` epochs without a fall of validation RMSE by more than it.
    """
    stamps: list[float] = []

    def progress(fraction: float, message: str) -> None:
        if " done" in message:
            stamps.append(time.perf_counter())
            print(f"  {time.perf_counter() - start:8.1f} s  {message}", flush=True)

    params = {"accelerator": accelerator, "progress": progress}
    if epochs is not None:
        params["n_epochs"] = epochs
    if min_delta is not None:
        params["min_delta"] = min_delta
    engine = create_engine("keras_mf", **params)
    start = time.perf_counter()
    engine.fit(ratings)
    total = time.perf_counter() - start
    epoch_s = np.diff([start, *stamps])
    val = engine.history_.get("val_rmse") or [np.nan]
    kept = val[engine.best_epoch_ - 1] if 0 < engine.best_epoch_ <= len(val) else np.nan
    print(f"keras_mf on {len(ratings):,} ratings: {total:,.0f} s wall (fit), {engine.epochs_run_} epochs run, "
          f"weights of epoch {engine.best_epoch_} kept (val RMSE {kept:.4f}; lowest {np.nanmin(val):.4f} "
          f"at epoch {int(np.nanargmin(val)) + 1 if np.isfinite(val).any() else 0}), "
          f"min_delta {engine.min_delta}, batch {engine.batch_size_}, epoch s: first {epoch_s[0]:,.0f}, later mean {epoch_s[1:].mean() if len(epoch_s) > 1 else np.nan:,.0f}")


def main(argv: list[str] | None = None) -> int:
    """Command line: time every engine on both datasets and print one table per dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000, help="size of the generated Netflix-size dataset")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated Keras engines")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timing (>= 2: the first includes tracing)")
    parser.add_argument("--accelerator", default=None, help="auto, tpu, gpu, cpu or multiworker (default: env or auto)")
    parser.add_argument("--skip-small", action="store_true", help="only the generated dataset")
    parser.add_argument("--skip-surprise", action="store_true")
    parser.add_argument("--full-scale", action="store_true", help="keras_mf to early stopping on the generated table")
    parser.add_argument("--max-epochs", type=int, default=None, help="with --full-scale: stop after this many epochs")
    parser.add_argument("--min-delta", type=float, default=None,
                        help="with --full-scale: the smallest fall in validation RMSE that resets early "
                             "stopping's patience (engine default 0)")
    parser.add_argument("--first-use", action="store_true",
                        help="only the app's first-use training: keras_mf with its defaults on all of ml-latest-small")
    args = parser.parse_args(argv)
    if args.first_use:
        ratings = load_dataset(f"movielens:{SMALL}").ratings
        start = time.perf_counter()
        engine = create_engine("keras_mf", accelerator=args.accelerator).fit(ratings)
        print(f"keras_mf defaults on ml-latest-small ({len(ratings):,} ratings): fit {time.perf_counter() - start:.1f} s, "
              f"{engine.epochs_run_} epochs (best {engine.best_epoch_}), batch {engine.batch_size_}")
        return 0
    if args.full_scale:
        start = time.perf_counter()
        ratings = generated_ratings(args.ratings)
        print(f"generated {len(ratings):,} ratings in {time.perf_counter() - start:,.0f} s", flush=True)
        full_scale(ratings, args.max_epochs, args.accelerator, args.min_delta)
        return 0
    datasets = {f"generated Netflix-size table, {args.ratings:,} drawn": (generated_ratings(args.ratings), generated_movies())}
    if SMALL.exists() and not args.skip_small:
        small, _ = with_overviews(load_dataset(f"movielens:{SMALL}"), SMALL)
        datasets["ml-latest-small"] = (small.ratings, small.movies)
    import tensorflow as tf

    devices = [d.device_type for d in tf.config.list_physical_devices()]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"TensorFlow {tf.__version__}, devices {devices}, {os.cpu_count()} CPU(s), load average {load:.1f}")
    for label, (ratings, movies) in datasets.items():
        rows = [time_engine(name, ratings, movies, args.epochs, args.accelerator) for name in args.engines.split(",")]
        if not args.skip_surprise:
            rows.append(time_surprise_svd(ratings))
        table = pd.DataFrame(rows).set_index("engine")
        if not args.skip_surprise:
            table["epoch_s / SVD epoch_s"] = table["epoch_s"] / table["epoch_s"].iloc[-1]
        print(f"\n{label}: {len(ratings):,} ratings, {ratings['user'].nunique():,} users, "
              f"{ratings['movie'].nunique():,} movies")
        print(table.to_string(float_format="{:,.3f}".format), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
