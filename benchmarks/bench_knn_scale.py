"""user_knn and item_knn at Netflix scale: 480,189 users x 17,770 movies, generated ratings.

    hatch run python benchmarks/bench_knn_scale.py --ratings 10000000

Ratings are drawn with Netflix-like skew (power-law movie popularity, log-normal user activity)
from a low-rank taste model. For each engine it prints fit seconds, the peak resident memory of
the fit (VmHWM, reset before each phase), 1M-pair predict throughput and single-call recommend
latency p50/p95. The obvious alternative, the notebook's dense users x users cosine matrix, is
run on a small user subset in the same process and its cost ratio printed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data import make_ratings
from movierec.core.models import create_engine

N_USERS = 480_189
N_MOVIES = 17_770


def generate(n_ratings: int, n_users: int, n_movies: int, seed: int = 0) -> pd.DataFrame:
    """Skewed, deduplicated ratings from a rank-8 taste model, 1-5 stars."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_movies + 1) ** 0.9
    rng.shuffle(popularity)
    activity = rng.lognormal(0.0, 1.0, n_users)
    users = rng.choice(n_users, size=n_ratings, p=activity / activity.sum()).astype(np.int32)
    movies = rng.choice(n_movies, size=n_ratings, p=popularity / popularity.sum()).astype(np.int32)
    keys = np.unique(users.astype(np.int64) * n_movies + movies)
    users, movies = (keys // n_movies).astype(np.int32), (keys % n_movies).astype(np.int32)
    taste_u = rng.normal(size=(n_users, 8)).astype(np.float32)
    taste_m = rng.normal(size=(n_movies, 8)).astype(np.float32)
    signal = np.einsum("ij,ij->i", taste_u[users], taste_m[movies]) / np.sqrt(8)
    stars = np.clip(np.rint(3.6 + 0.9 * signal + rng.normal(0, 0.7, len(users))), 1, 5)
    return make_ratings(users + 1, movies + 1, stars.astype(np.float32))


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def peak_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def timed(call, arguments) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of single calls (a busy shared machine adds to wall only)."""
    wall, cpu = [], []
    for argument in arguments:
        start, start_cpu = time.perf_counter(), time.process_time()
        call(argument)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def percentiles(times: tuple[list[float], list[float]]) -> str:
    wall, cpu = times
    return (f"p50 {np.percentile(wall, 50):5.2f} ms p95 {np.percentile(wall, 95):5.2f} ms "
            f"(cpu p95 {np.percentile(cpu, 95):5.2f} ms)")


def latency_ms(call, arguments) -> str:
    """Wall-clock p50/p95 and CPU-time p95 of single calls."""
    return percentiles(timed(call, arguments))


def measure(name: str, params: dict, ratings: pd.DataFrame, rng: np.random.Generator) -> None:
    reset_peak()
    start = time.perf_counter()
    engine = create_engine(name, **params).fit(ratings)
    fit_s = time.perf_counter() - start
    fit_peak = peak_gib()
    neighbours_mb = (engine.neighbors_.nbytes + engine.weights_.nbytes) / 2**20
    pairs = rng.integers(0, len(ratings), 1_000_000)
    users = ratings["user"].to_numpy()[pairs]
    movies = rng.permutation(ratings["movie"].to_numpy()[pairs])
    start = time.perf_counter()
    engine.predict(users, movies)
    predict_s = time.perf_counter() - start
    sample_users = rng.choice(engine.users_.ids, 500, replace=False)
    engine.recommend(int(sample_users[0]))  # build lazy caches once, as a server would
    recommend = latency_ms(lambda u: engine.recommend(int(u), k=10), sample_users)
    label = name + "".join(f" {k}={v}" for k, v in params.items())
    line = (f"{label:9s} fit {fit_s:7.1f} s  peak RSS {fit_peak:5.2f} GiB  neighbours {neighbours_mb:6.0f} MB  "
            f"predict 1M pairs {predict_s:5.2f} s  recommend {recommend}")
    if engine.has_similar_movies:
        movies_sample = rng.choice(engine.movies_.ids, 500, replace=False)
        engine.similar_movies(int(movies_sample[0]))
        line += f"  similar_movies {latency_ms(lambda m: engine.similar_movies(int(m), k=10), movies_sample)}"
    print(line, flush=True)


def dense_alternative(ratings: pd.DataFrame, n_users: int) -> None:
    """The notebook's way (dense pivot, dense users x users cosine) against ours, on a user subset."""
    from sklearn.metrics.pairwise import cosine_similarity

    subset = ratings[ratings["user"] <= n_users]
    reset_peak()
    start = time.perf_counter()
    create_engine("user_knn").fit(subset)
    ours_s, ours_gib = time.perf_counter() - start, peak_gib()
    reset_peak()
    start = time.perf_counter()
    dense = np.zeros((n_users, N_MOVIES), dtype=np.float32)
    dense[subset["user"].to_numpy() - 1, subset["movie"].to_numpy() - 1] = subset["rating"].to_numpy()
    similarity = cosine_similarity(dense)
    dense_s, dense_gib = time.perf_counter() - start, peak_gib()
    del dense, similarity
    full_tb = N_USERS**2 * 4 / 1e12
    print(f"dense alternative on {n_users:,} users ({len(subset):,} ratings): {dense_s:.1f} s, peak {dense_gib:.2f} GiB; "
          f"user_knn {ours_s:.1f} s, peak {ours_gib:.2f} GiB (ratio time {dense_s / ours_s:.1f}x, memory "
          f"{dense_gib / ours_gib:.1f}x). At {N_USERS:,} users the dense matrix alone would be {full_tb:.2f} TB.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ratings", type=int, default=10_000_000, help="ratings to draw (before deduplication)")
    parser.add_argument("--engines", default="item_knn,user_knn")
    parser.add_argument("--max-shared", type=int, default=200,
                        help="user_knn's cap on raters per movie in the neighbour search (0: exact)")
    parser.add_argument("--dense-users", type=int, default=5_000, help="user subset for the dense comparison (0: skip)")
    args = parser.parse_args()
    start = time.perf_counter()
    ratings = generate(args.ratings, N_USERS, N_MOVIES)
    print(f"generated {len(ratings):,} ratings, {ratings['user'].nunique():,} users x "
          f"{ratings['movie'].nunique():,} movies in {time.perf_counter() - start:.1f} s", flush=True)
    rng = np.random.default_rng(1)
    for name in args.engines.split(","):
        params = {"max_shared": args.max_shared} if name == "user_knn" and args.max_shared else {}
        measure(name, params, ratings, rng)
    if args.dense_users:
        dense_alternative(ratings, args.dense_users)


if __name__ == "__main__":
    main()
