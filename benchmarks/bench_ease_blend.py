"""EASE and blend on MovieLens latest-small (../shared/data/ml-latest-small).

    hatch run python benchmarks/bench_ease_blend.py [--part ease|blend|all] [--tune] [--json-dir OUT]

ease:  `user:0.25` seed 42, k=10: ease against lightfm_warp and weighted (nDCG@10 and the other
       ranking metrics), then ease's top-5 similar titles for Pulp Fiction, The Matrix, Toy Story
       and King Kong (1933), fitted on every rating. `--tune` first sweeps reg (EASE's lambda; binary and
       rating-valued X) on another split (seed 7), the one the default was chosen on.
blend: `kfold:5` seed 42: RMSE/MAE of the default blend, a blend without keras_mf and every
       member alone, with fit seconds per fold (a blend fits each member twice: on 90 % of the
       training ratings to learn the weights, then on all of them).
scale: (only with --part scale) ease on generated ratings of 480,189 users x 17,770 movies (the
       generator of bench_knn_scale.py, `--ratings` of them): fit seconds and peak memory with
       every movie modelled, recommend and similar_movies latency, then the same under a
       `max_movies` bound.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from movierec.core.cli.benchmark import summary_text
from movierec.core.data import load_dataset
from movierec.core.data.tables import Dataset
from movierec.core.evaluation import run_benchmark
from movierec.core.models import create_engine
from movierec.core.models.ensemble.blend import DEFAULT_MEMBERS

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-latest-small"
SIMILAR_TO = (("Pulp Fiction", 1994), ("Matrix, The", 1999), ("Toy Story", 1995), ("King Kong", 1933))
WITHOUT_KERAS = tuple(m for m in DEFAULT_MEMBERS if not m.startswith("keras_"))


def tune_lambda(dataset: Dataset) -> None:
    """nDCG@10 of ease over reg on user:0.25 with seed 7 (not the reported split)."""
    specs = [("ease", {"reg": value}) for value in (50, 100, 150, 250, 500, 1000)]
    specs += [("ease", {"reg": value, "binary": False}) for value in (1000, 2000, 6000)]
    specs += [("ease", {"min_movie_ratings": value}) for value in (1, 3, 10)]
    specs.insert(0, "ease")
    result = run_benchmark(dataset, "user:0.25", specs, k=10, seed=7, progress=True)
    summary = result.summary()
    print(f"\n== reg sweep, user:0.25 seed 7, nDCG@10 (defaults: {create_engine('ease').get_params()}) ==")
    print(summary[summary["metric"] == "ndcg@10"][["engine", "mean", "fit_seconds"]].to_string(index=False))


def ease_part(dataset: Dataset, json_dir: Path | None) -> None:
    """Ranking metrics of ease vs lightfm_warp and weighted, then ease's similar titles."""
    result = run_benchmark(dataset, "user:0.25", ["ease", "lightfm_warp", "weighted"], k=10, seed=42, progress=True)
    print(f"\n== {dataset.spec}  user:0.25  k=10  seed 42 ==\n{summary_text(result.summary())}\n{result.protocol}")
    if json_dir:
        print(f"wrote {result.save(json_dir / 'ease_user25.json')}")
    start = time.perf_counter()
    ease = create_engine("ease").fit(dataset.ratings)
    print(f"\nease fitted on all {len(dataset.ratings):,} ratings in {time.perf_counter() - start:.1f} s "
          f"({len(ease.kept_):,} movies, {ease.weights_.dtype} weights, {ease.weights_.nbytes / 2**20:.0f} MiB)")
    counts = dataset.ratings["movie"].value_counts()
    movies = dataset.movies
    for title, year in SIMILAR_TO:
        match = movies[(movies["title"] == title) & (movies["year"] == year)]
        if match.empty:
            print(f"{title} ({year}): not in this dataset")
            continue
        similar = ease.similar_movies(int(match["movie"].iloc[0]), k=5)
        named = [f"{dataset.title_of(m)} [{counts.get(m, 0)}]" for m in similar["movie"]]
        print(f"similar to {title} ({year}): {'; '.join(named)}")
    print("[n] = the movie's number of ratings")


def blend_part(dataset: Dataset, json_dir: Path | None) -> None:
    """RMSE of the default blend, the blend without keras_mf, and every member, over kfold:5."""
    engines = [*DEFAULT_MEMBERS, "blend", ("blend", {"members": list(WITHOUT_KERAS)})]
    result = run_benchmark(dataset, "kfold:5", engines, k=10, seed=42, progress=True)
    print(f"\n== {dataset.spec}  kfold:5  seed 42 ==\n{summary_text(result.summary())}")
    for engine, message in result.extra.get("failures", {}).items():
        print(f"skipped {engine}: {message}")
    if json_dir:
        print(f"wrote {result.save(json_dir / 'blend_kfold5.json')}")
    blend = create_engine("blend").fit(dataset.ratings)
    print(f"\ndefault blend fitted on all {len(dataset.ratings):,} ratings: weights {_rounded(blend.member_weights())}")
    print(f"RMSE on its own 10 % holdout (members fitted on the other 90 %): {_rounded(blend.holdout_rmse_)}")
    seconds = {name: f"{held:.1f} + {full:.1f}" for name, (held, full) in blend.member_fit_seconds_.items()}
    print(f"member fit seconds (90 % + all): {seconds}")


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 4) for key, value in values.items()}


def scale_part(n_ratings: int) -> None:
    """ease at Netflix's movie count: fit time, peak memory, query latency; then a max_movies bound."""
    import numpy as np
    from bench_knn_scale import N_MOVIES, N_USERS, generate, latency_ms, peak_gib, reset_peak

    ratings = generate(n_ratings, N_USERS, N_MOVIES)
    print(f"\n== generated: {len(ratings):,} ratings, {ratings['user'].nunique():,} users, "
          f"{ratings['movie'].nunique():,} movies ==")
    rng = np.random.default_rng(0)
    for params in ({"min_movie_ratings": 1}, {"min_movie_ratings": 1, "max_movies": 8000}):
        reset_peak()
        start, start_cpu = time.perf_counter(), time.process_time()
        engine = create_engine("ease", **params).fit(ratings)
        fit_s, fit_cpu, peak = time.perf_counter() - start, time.process_time() - start_cpu, peak_gib()
        users = rng.choice(engine.users_.ids, 200, replace=False)
        movies = engine.movies_.ids[rng.choice(engine.kept_, 200, replace=False)]
        print(f"ease {params}: {len(engine.kept_):,} movies modelled, fit {fit_s:.1f} s (cpu {fit_cpu:.1f} s), "
              f"peak RSS {peak:.2f} GiB, weights {engine.weights_.nbytes / 2**30:.2f} GiB {engine.weights_.dtype}; "
              f"note: {engine.note_}")
        print(f"  recommend {latency_ms(lambda u: engine.recommend(int(u), k=10), users)}")
        print(f"  similar_movies {latency_ms(lambda m: engine.similar_movies(int(m), k=10), movies)}")
        del engine


def main() -> None:
    """Run the chosen parts and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--part", choices=("ease", "blend", "all", "scale"), default="all",
                        help="'all' is ease and blend; 'scale' runs alone")
    parser.add_argument("--ratings", type=int, default=5_000_000, help="generated ratings for --part scale")
    parser.add_argument("--tune", action="store_true", help="sweep ease's reg on the seed-7 split first")
    parser.add_argument("--json-dir", type=Path, help="also write the benchmark tables here")
    args = parser.parse_args()
    if args.part == "scale":
        scale_part(args.ratings)
        return
    dataset = load_dataset(f"movielens:{args.data}")
    if args.tune:
        tune_lambda(dataset)
    if args.part in ("ease", "all"):
        ease_part(dataset, args.json_dir)
    if args.part in ("blend", "all"):
        blend_part(dataset, args.json_dir)


if __name__ == "__main__":
    main()
