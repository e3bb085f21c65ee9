"""`movierec recommend DATASET --user ID --engine NAME -k 10 [--json]`: top-k titles for a user.

The engine is fitted on the whole dataset; each line shows the title, year, the predicted stars
(clipped to the rating scale; the list is ranked on the unclipped score) or, for a ranking-only
engine (LightFM, EASE), its relevance score, and, where the engine can say, why (e.g. item_knn:
'similar to X, which you rated 5'). `--json` gives both `score` and `predicted_rating`.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

from movierec.core.cli._common import (
    add_dataset_arguments,
    add_list_arguments,
    load_from_args,
    print_json,
)
from movierec.core.errors import UnknownUserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("recommend", help="top-k movies for a user", description=__doc__)
    add_dataset_arguments(parser)
    parser.add_argument("--user", type=int, required=True, help="user id as in the ratings files")
    parser.add_argument("--engine", default="item_knn", help="engine name (default item_knn)")
    parser.add_argument("--include-seen", action="store_true", help="also list movies the user rated")
    add_list_arguments(parser)
    parser.set_defaults(handler=run)


def fitted_engine(name: str, dataset: Any) -> Any:
    """A registry engine fitted on the whole dataset (ratings plus movies for overviews)."""
    from movierec.core.models.registry import create_engine

    return create_engine(name).fit(dataset.ratings, dataset.movies)


def titled_rows(dataset: Any, frame: pd.DataFrame, reasons: list[str | None] | None = None) -> list[dict[str, Any]]:
    """Result rows with rank, title, year and an optional reason whose movie ids are titled."""
    from movierec.core.models.base import render_reason

    years = release_years(dataset)
    predicted = frame["predicted_rating"].tolist() if "predicted_rating" in frame.columns else [None] * len(frame)
    rows = []
    for rank, (movie, score, stars) in enumerate(zip(frame["movie"].tolist(), frame["score"].tolist(), predicted),
                                                 start=1):
        row = {
            "rank": rank, "movie": int(movie), "title": dataset.title_of(movie), "year": years.get(int(movie)),
            "score": float(score),
            "reason": render_reason(reasons[rank - 1], dataset.title_of) if reasons else None,
        }
        if "predicted_rating" in frame.columns:
            row["predicted_rating"] = float(stars)
        rows.append(row)
    return rows


def release_years(dataset: Any) -> dict[int, int]:
    """{movie id: year} for the movies whose year is known."""
    if "year" not in dataset.movies.columns:
        return {}
    known = dataset.movies.dropna(subset=["year"])
    return dict(zip(known["movie"].astype(int).tolist(), known["year"].astype(int).tolist()))


def print_rows(heading: str, rows: list[dict[str, Any]], measure: str = "") -> None:
    """A numbered, aligned listing: rank, title (year), predicted stars or the score, reason.

    `measure` labels a score (e.g. "relevance"); rows with a predicted rating show it as stars.
    """
    print(heading)
    names = [f"{r['title']}" + (f" ({r['year']})" if r["year"] is not None else "") for r in rows]
    width = min(max((len(n) for n in names), default=0), 60)
    for row, name in zip(rows, names):
        reason = f"  {row['reason']}" if row["reason"] else ""
        if row.get("predicted_rating") is not None:
            value = f"{row['predicted_rating']:4.2f} stars"
        else:
            value = f"{measure} {row['score']:8.4f}" if measure else f"{row['score']:8.4f}"
        print(f"{row['rank']:>3}. {name:<{width}}  {value}  [id {row['movie']}]{reason}")


def run(args: argparse.Namespace) -> int:
    from movierec.core.models.base import check_k
    from movierec.core.models.registry import engine_class

    k = check_k(args.k)
    engine_class(args.engine)  # an unknown engine name fails before the data is loaded
    dataset = load_from_args(args, need_ratings=True)
    users = dataset.ratings["user"].to_numpy()
    if not (users == args.user).any():
        raise UnknownUserError(
            f"unknown user {args.user}: {dataset.spec} has {len(np.unique(users)):,} users "
            f"with ids {users.min()}..{users.max()}"
        )
    engine = fitted_engine(args.engine, dataset)
    frame = engine.recommend(args.user, k=k, exclude_seen=not args.include_seen, min_ratings=args.min_ratings)
    rows = titled_rows(dataset, frame, engine.explain(args.user, frame["movie"].to_numpy()))
    if args.json:
        print_json({"dataset": dataset.spec, "engine": args.engine, "user": args.user, "k": k,
                    "recommendations": rows})
    else:
        shown = "predicted stars" if "predicted_rating" in frame.columns else "relevance scores of a ranking engine"
        print_rows(f"top {len(rows)} for user {args.user} by {args.engine} ({dataset.spec}; {shown}):", rows,
                   measure="" if "predicted_rating" in frame.columns else "relevance")
    return 0
