"""Quality of the classic engines on MovieLens latest-small (../shared/data/ml-latest-small).

    hatch run python benchmarks/bench_classic_quality.py [--data DIR] [--json-dir OUT]

1. kfold:5, every rating engine: RMSE / MAE mean +- std over folds, and each engine's RMSE gain
   over `mean` (the floor every personalized engine must beat).
2. user:0.25 (per-user stratified 75/25), every engine: ranking metrics at k=10, test movies
   as relevant, training movies never counted.
Overviews for content_tfidf come from movies_with_overview.csv, joined through links.csv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from movierec.core.cli.benchmark import summary_text
from movierec.core.data import load_dataset
from movierec.core.evaluation import run_benchmark

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-latest-small"
RATING_ENGINES = ["mean", "weighted", "baseline", "user_knn", "item_knn"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--json-dir", type=Path, help="also write both benchmark tables here")
    args = parser.parse_args()
    overviews = args.data / "movies_with_overview.csv"
    dataset = load_dataset(f"movielens:{args.data}", metadata=overviews if overviews.exists() else None)

    ratings = run_benchmark(dataset, "kfold:5", RATING_ENGINES, k=10, seed=42, progress=True)
    print(f"\n== {dataset.spec}  kfold:5 ==\n{summary_text(ratings.summary())}\n")
    summary = ratings.summary().set_index(["engine", "metric"])["mean"]
    floor = summary[("mean", "rmse")]
    for engine in RATING_ENGINES[1:]:
        value = summary[(engine, "rmse")]
        print(f"{engine:9s} RMSE {value:.4f}: {floor - value:+.4f} vs mean ({(floor - value) / floor:+.1%})")

    ranking = run_benchmark(dataset, "user:0.25", RATING_ENGINES + ["content_tfidf"], k=10, seed=42, progress=True)
    print(f"\n== {dataset.spec}  user:0.25  k=10 ==\n{summary_text(ranking.summary())}\n{ranking.protocol}")
    for engine, message in ranking.extra.get("failures", {}).items():
        print(f"skipped {engine}: {message}")
    if args.json_dir:
        print(f"wrote {ratings.save(args.json_dir / 'classic_kfold5.json')}, "
              f"{ranking.save(args.json_dir / 'classic_user25.json')}")


if __name__ == "__main__":
    main()
