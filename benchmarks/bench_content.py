"""content_tfidf at The Movies Dataset scale: 45,000 generated overviews.

    hatch run python benchmarks/bench_content.py --movies 45000

Prints fit seconds, `similar_movies` and fold-in `recommend_for_ratings` latency p50/p95, and, in
the same run, the two obvious alternatives: scoring one row against the whole movie-major
matrix (sklearn linear_kernel), and the notebook's dense all-pairs similarity matrix (timed on a
subset; its full-size memory is computed).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench_knn_scale import percentiles, timed  # this folder is on sys.path when run as a script
from movierec.core.data import make_movies, make_ratings
from movierec.core.models import create_engine


def overviews(n: int, vocabulary: int = 30_000, seed: int = 0) -> list[str]:
    """Overviews of 20-90 words from a Zipf-distributed vocabulary; every 50th movie has none."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocabulary)])
    frequency = 1.0 / np.arange(1, vocabulary + 1)
    frequency /= frequency.sum()
    lengths = rng.integers(20, 90, n)
    drawn = rng.choice(vocabulary, size=int(lengths.sum()), p=frequency)
    texts = [" ".join(part) for part in np.split(words[drawn], np.cumsum(lengths)[:-1])]
    return [None if i % 50 == 0 else text for i, text in enumerate(texts)]


def main() -> None:
    from sklearn.metrics.pairwise import linear_kernel

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--movies", type=int, default=45_000)
    parser.add_argument("--dense-subset", type=int, default=5_000)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    ids = np.arange(1, args.movies + 1)
    movies = make_movies(ids, [f"movie {i}" for i in ids], overview=overviews(args.movies))
    ratings = make_ratings(rng.integers(1, 20_001, 500_000), rng.integers(1, args.movies + 1, 500_000),
                           rng.integers(1, 6, 500_000))
    ratings = ratings.drop_duplicates(["user", "movie"])
    start = time.perf_counter()
    engine = create_engine("content_tfidf").fit(ratings, movies)
    print(f"fit on {args.movies:,} overviews, {len(ratings):,} ratings: {time.perf_counter() - start:.1f} s; "
          f"vocabulary {engine.tfidf_.shape[1]:,}, {engine.tfidf_.nnz:,} non-zeros")
    queries = rng.choice(ids, 500, replace=False)
    engine.similar_movies(int(queries[0]))  # builds the inverted index once
    ours = timed(lambda m: engine.similar_movies(int(m), k=10), queries)
    print(f"similar_movies (inverted index, one row)     {percentiles(ours)}")
    matrix = engine.tfidf_
    positions = engine._content_index().index_of(queries)
    forward = timed(lambda p: linear_kernel(matrix[p], matrix), positions)
    print(f"one row via linear_kernel over all movies    {percentiles(forward)}  "
          f"(p50 ratio {np.percentile(forward[0], 50) / np.percentile(ours[0], 50):.1f}x)")
    tastes = [dict(zip(rng.choice(ids, 20, replace=False).tolist(), rng.integers(1, 6, 20).tolist())) for _ in range(200)]
    folded = timed(lambda t: engine.recommend_for_ratings(t, k=10), tastes)
    print(f"recommend_for_ratings (20 rated movies)      {percentiles(folded)}")
    users = rng.choice(engine.users_.ids, 200, replace=False)
    known = timed(lambda u: engine.recommend(int(u), k=10), users)
    print(f"recommend (known user, ~25 ratings)          {percentiles(known)}")
    subset = matrix[: args.dense_subset]
    start = time.perf_counter()
    dense = linear_kernel(subset, subset)
    dense_s = time.perf_counter() - start
    full_gb = args.movies**2 * 8 / 1e9
    print(f"notebook's dense all-pairs on {args.dense_subset:,} movies: {dense_s:.2f} s, {dense.nbytes / 1e6:.0f} MB; "
          f"at {args.movies:,} movies it would be {full_gb:.1f} GB and about "
          f"{dense_s * (args.movies / args.dense_subset) ** 2:.0f} s before the first answer")


if __name__ == "__main__":
    main()
