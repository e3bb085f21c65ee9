"""LightFM WARP and BPR (pure and hybrid) next to EASE and the movierec engines, ranked the right way.

1. The movierec runner on `user:0.25` (a quarter of each user's ratings held out): precision,
   recall and nDCG at 10 for LightFM and the movierec engines, training movies never counted.
   The table goes to benchmarks/results/lightfm_user0.25_<data>.json.
2. LightFM's own `precision_at_k` on the same split: with `train_interactions` (right), without it
   (the notebook's 0.9568 train / 0.0154 test at k=20), and on the training matrix.
3. LightFM's documented setting (its MovieLens example: ~0.11 test precision@10 for WARP on
   MovieLens 100k): 10 test ratings per user, every rating a positive, 10 components, 10 epochs,
   precision@10 counted both ways.
4. Speed: the engine's vectorized `recommend` against LightFM's `predict` for the same users.

    hatch run python benchmarks/bench_lightfm.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.data import load_dataset
from movierec.core.data.matrix import build_matrix
from movierec.core.data.split import user_split
from movierec.core.evaluation.benchmark import run_benchmark
from movierec.core.models.registry import create_engine, engine_names

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ml-latest-small"
ENGINES = [
    "lightfm_warp",
    "lightfm_bpr",
    "ease",
    ("lightfm_warp", {"item_features": "genres"}),
    ("lightfm_warp", {"item_features": "genres+overview"}),
    ("lightfm_bpr", {"item_features": "genres"}),
    "mean",
    "weighted",
    "baseline",
    "user_knn",
    "item_knn",
    "content_tfidf",
    "surprise_svd",
    "keras_mf",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="a MovieLens folder")
    parser.add_argument("--metadata", default=None, help="overview file (default DATA/movies_with_overview.csv)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    data = Path(args.data)
    metadata = Path(args.metadata) if args.metadata else data / "movies_with_overview.csv"
    dataset = load_dataset(f"movielens:{data}", metadata=metadata if metadata.exists() else None)

    available = set(engine_names(available_only=True))
    engines = [e for e in ENGINES if (e if isinstance(e, str) else e[0]) in available]
    start = time.perf_counter()
    result = run_benchmark(dataset, "user:0.25", engines, k=10, progress=True)
    print(f"\nuser:0.25 on {data.name}: {time.perf_counter() - start:.0f} s; {result.protocol}")
    if result.extra.get("failures"):
        print("failures:", result.extra["failures"])
    summary = result.summary()
    wide = summary.pivot(index="engine", columns="metric", values="mean")
    times = summary.groupby("engine")[["fit_seconds", "predict_seconds"]].first()
    table = wide[["precision@10", "recall@10", "ndcg@10", "map@10", "coverage@10"]].join(times)
    print(table.sort_values("ndcg@10", ascending=False).round(4).to_string())
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"lightfm_user0.25_{data.name}.json"
    result.save(out)
    print(f"wrote {out}")

    train, test = user_split(dataset.ratings, 0.25, seed=result.seed)
    lightfm_own_precision(train, test)
    documented_setting(dataset.ratings)
    speed(train)


def _model_of(engine):
    """A LightFM model holding the engine's final representations (identity features)."""
    from lightfm import LightFM

    n_users, n_movies = engine.seen_.shape
    model = LightFM(no_components=engine.no_components, loss=engine.loss)
    model._initialize(engine.no_components, n_movies, n_users)
    model.user_embeddings[:], model.user_biases[:] = engine.user_embeddings_, engine.user_biases_
    model.item_embeddings[:], model.item_biases[:] = engine.item_embeddings_, engine.item_biases_
    return model


def _interactions(ratings: pd.DataFrame, engine) -> sp.coo_matrix:
    matrix = build_matrix(ratings, engine.users_, engine.movies_, values=None).matrix
    return sp.coo_matrix(matrix, dtype=np.float32)


def lightfm_own_precision(train: pd.DataFrame, test: pd.DataFrame) -> None:
    """LightFM's precision_at_k with and without train_interactions, at 10 and at 20."""
    from lightfm.evaluation import precision_at_k

    print("\nLightFM's precision_at_k on the same user:0.25 split (20 components, 20 epochs):")
    for name in ("lightfm_warp", "lightfm_bpr"):
        engine = create_engine(name).fit(train)
        model = _model_of(engine)
        train_matrix, test_matrix = _interactions(train, engine), _interactions(test, engine)
        for k in (10, 20):
            right = precision_at_k(model, test_matrix, train_interactions=train_matrix, k=k).mean()
            naive = precision_at_k(model, test_matrix, k=k).mean()
            on_train = precision_at_k(model, train_matrix, k=k).mean()
            print(f"  {name} @{k}: test excluding train {right:.4f} | test naive {naive:.4f} | train {on_train:.4f}")


def documented_setting(ratings: pd.DataFrame) -> None:
    """LightFM's MovieLens example: 10 test ratings per user, 10 components, 10 epochs."""
    from lightfm.evaluation import precision_at_k

    rng = np.random.default_rng(42)
    key = rng.random(len(ratings))
    rank = pd.Series(key).groupby(ratings["user"].to_numpy()).rank(method="first").to_numpy()
    held_out = rank <= 10
    train, test = ratings[~held_out].reset_index(drop=True), ratings[held_out].reset_index(drop=True)
    print("\nLightFM's documented setting (10 test ratings per user, all ratings positive):")
    for name in ("lightfm_warp", "lightfm_bpr"):
        engine = create_engine(name, no_components=10, epochs=10).fit(train)
        model = _model_of(engine)
        train_matrix, test_matrix = _interactions(train, engine), _interactions(test, engine)
        right = precision_at_k(model, test_matrix, train_interactions=train_matrix, k=10).mean()
        naive = precision_at_k(model, test_matrix, k=10).mean()
        print(f"  {name}: precision@10 excluding train {right:.4f}, counted like the example {naive:.4f} "
              f"(LightFM's MovieLens 100k example: WARP 0.106, BPR 0.062)")


def speed(train: pd.DataFrame) -> None:
    """recommend (numpy dot product) against LightFM's predict per user, top-10 for 200 users."""
    engine = create_engine("lightfm_warp").fit(train)
    model = _model_of(engine)
    users = engine.users_.ids[:200]
    start = time.perf_counter()
    ours = engine.recommend_many(users, k=10)
    fast = time.perf_counter() - start
    items = np.arange(len(engine.movies_), dtype=np.int32)
    start = time.perf_counter()
    same = 0
    for user in users.tolist():
        position = engine.users_.position(user)
        scores = model.predict(position, items).astype(np.float64)
        scores[engine.seen_[position].indices] = -np.inf
        top = engine.movies_.ids[np.lexsort((items, -scores))[:10]]
        same += int(np.array_equal(top, ours[user]))
    slow = time.perf_counter() - start
    print(f"\ntop-10 for {len(users)} users: recommend_many {fast:.3f} s, LightFM predict {slow:.3f} s "
          f"(x{slow / fast:.1f}); identical lists {same}/{len(users)}")


if __name__ == "__main__":
    main()
