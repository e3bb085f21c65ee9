"""Rating metrics (RMSE, MAE) and ranking metrics at k, on plain arrays and id lists.

Ranking protocol (stated in every benchmark file): a user's relevant movies are their test
movies (Microsoft Recommenders' convention, with the per-user stratified `user:0.25` split), or
only the test movies rated >= `threshold` when one is given. Recommendation lists are drawn with
the user's training movies excluded, and any training movie that still appears in a list is
dropped before scoring, so a movie rated in training never counts as a hit. Users without a
relevant test movie are not scored.

    precision@k  hits / k                        recall@k  hits / |relevant|
    ndcg@k       binary-gain DCG / ideal DCG     map@k     sum(precision@rank at hits) / min(k, |relevant|)
    hit_rate@k   share of users with >= 1 hit    coverage@k  distinct recommended movies / catalogue
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from movierec.core.models.base import check_k

RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage")


def rmse(actual: Iterable[float], predicted: Iterable[float]) -> float:
    """Root mean squared error (scikit-learn's, after our checks of the pair)."""
    return float(root_mean_squared_error(*_pair(actual, predicted)))


def mae(actual: Iterable[float], predicted: Iterable[float]) -> float:
    """Mean absolute error (scikit-learn's, after our checks of the pair)."""
    return float(mean_absolute_error(*_pair(actual, predicted)))


def _pair(actual: Iterable[float], predicted: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    p = np.asarray(predicted, dtype=np.float64).reshape(-1)
    if a.shape != p.shape:
        raise ValueError(f"actual and predicted differ in length ({len(a)} != {len(p)})")
    if len(a) == 0:
        raise ValueError("no ratings to score")
    return a, p


def relevant_items(test: pd.DataFrame, threshold: float | None = None) -> dict[int, np.ndarray]:
    """{user: test movie ids} (only those rated >= threshold when given)."""
    if threshold is not None:
        test = test[test["rating"] >= threshold]
    users = test["user"].to_numpy(np.int64)
    movies = test["movie"].to_numpy(np.int64)
    order = np.argsort(users, kind="stable")
    users, movies = users[order], movies[order]
    cuts = np.flatnonzero(np.diff(users)) + 1
    return {int(group[0]): np.unique(m) for group, m in zip(np.split(users, cuts), np.split(movies, cuts)) if len(group)}


def ranking_metrics(
    recommended: Mapping[int, Iterable[int]],
    relevant: Mapping[int, Iterable[int]],
    k: int,
    catalogue_size: int,
    seen: Mapping[int, Iterable[int]] | None = None,
) -> dict[str, float]:
    """Mean ranking metrics at k over users with relevant movies; `seen` movies never count."""
    k = check_k(k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    totals = dict.fromkeys(RANKING_METRICS[:-1], 0.0)
    shown: set[int] = set()
    n_users = 0
    for user, relevant_ids in relevant.items():
        seen_ids = set() if seen is None else set(np.asarray(seen.get(user, ()), dtype=np.int64).tolist())
        truth = set(np.asarray(relevant_ids, dtype=np.int64).tolist()) - seen_ids
        if not truth:
            continue
        n_users += 1
        ranked = [m for m in np.asarray(recommended.get(user, ()), dtype=np.int64).tolist() if m not in seen_ids][:k]
        shown.update(ranked)
        hits = np.array([m in truth for m in ranked], dtype=bool)
        n_hits = int(hits.sum())
        totals["precision"] += n_hits / k
        totals["recall"] += n_hits / len(truth)
        ideal = discounts[: min(len(truth), k)].sum()
        totals["ndcg"] += float(discounts[: len(hits)][hits].sum() / ideal)
        if n_hits:
            precision_at_hits = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
            totals["map"] += float(precision_at_hits.sum() / min(len(truth), k))
            totals["hit_rate"] += 1.0
    result = {f"{name}@{k}": (value / n_users if n_users else float("nan")) for name, value in totals.items()}
    result[f"coverage@{k}"] = len(shown) / catalogue_size if catalogue_size else float("nan")
    result["users"] = n_users
    return result


def protocol_text(k: int, threshold: float | None) -> str:
    """The one-line description of the ranking protocol stored with benchmark results."""
    relevance = "test movies" if threshold is None else f"test movies rated >= {threshold:g}"
    return (
        f"ranking@{k}: relevant = {relevance}; training movies excluded from the lists and never "
        f"counted; users without relevant test movies skipped; rating metrics on all test ratings"
    )
