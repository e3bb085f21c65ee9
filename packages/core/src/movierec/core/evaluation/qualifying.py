"""Predictions for the Netflix Prize's qualifying set, in the Prize's submission format.

The format repeats qualifying.txt with each `CustomerID,Date` line replaced by a predicted rating:
each `MovieID:` line, then one prediction per qualifying line, in the same order.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from movierec.core.errors import UnsupportedError

BATCH = 1 << 16  # qualifying lines predicted and written at a time (one progress step)
STARS = (1.0, 5.0)  # the Prize's rating scale: every prediction is clipped to it


def takes_date(engine: Any) -> bool:
    """Whether the engine's `predict` accepts a `date` argument (time-aware engines)."""
    try:
        parameters = inspect.signature(engine.predict).parameters
    except (TypeError, ValueError):
        return False
    return "date" in parameters


def predict_rows(engine: Any, rows: pd.DataFrame) -> np.ndarray:
    """Predictions for (user, movie[, date]) rows; the dates go only to engines that take them."""
    users, movies = rows["user"].to_numpy(), rows["movie"].to_numpy()
    if "date" in rows.columns and takes_date(engine):
        return np.asarray(engine.predict(users, movies, date=rows["date"].to_numpy()))
    return np.asarray(engine.predict(users, movies))


def write_qualifying(
    engine: Any,
    qualifying: pd.DataFrame,
    path: str | Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write a fitted engine's predictions for the qualifying rows (file order) to `path`.

    A `MovieID:` line starts each run of rows of one movie; predictions are clipped to 1..5 and
    written with three decimals. `progress(n)` hears of every n rows done. The file appears
    whole or not at all (written beside `path`, then renamed). Returns the rows written.
    """
    if not engine.predicts_ratings:
        raise UnsupportedError(
            f"{engine.name or type(engine).__name__} ranks movies but does not predict ratings; "
            "a qualifying file needs a rating engine"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    movies = qualifying["movie"].to_numpy()
    previous = -1
    try:
        with open(partial, "w", encoding="ascii", newline="\n") as handle:
            for start in range(0, len(qualifying), BATCH):
                batch = qualifying.iloc[start : start + BATCH]
                stars = np.clip(predict_rows(engine, batch).astype(np.float64), *STARS)
                handle.write(_block_text(movies[start : start + BATCH], stars, previous))
                previous = int(movies[min(start + BATCH, len(movies)) - 1])
                if progress is not None:
                    progress(len(batch))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return len(qualifying)


def _block_text(movies: np.ndarray, stars: np.ndarray, previous: int) -> str:
    """The lines of one batch: a header where the movie changes (from `previous` too), then ratings."""
    values = [f"{value:.3f}\n" for value in stars.tolist()]
    starts = np.flatnonzero(np.diff(movies.astype(np.int64), prepend=previous)).tolist()
    parts = values[: starts[0]] if starts else values  # the run carried on from the last batch
    for begin, end in zip(starts, [*starts[1:], len(movies)]):
        parts.append(f"{int(movies[begin])}:\n")
        parts.extend(values[begin:end])
    return "".join(parts)
