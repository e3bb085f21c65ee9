"""Seeded, reproducible train/test splits, named by one string as the CLI spells them.

    holdout:N      shuffle, the last N ratings are the test set (the notebook's split); N is a
                   whole number of ratings, or a fraction 0 < N < 1 of them (holdout:0.1)
    kfold:K        random K-fold cross-validation (K a whole number >= 2)
    user:F         per user, a random fraction F of their ratings is the test set (ranking metrics)
    temporal:F     per user, the latest fraction F of their ratings is the test set (probe-like)
    last:N         per user, the N latest ratings are the test set (`last:1` is the leave-one-out
                   protocol of sequential recommenders); users with N or fewer ratings stay in
                   training; test movies without a training rating are dropped and counted
    predefined     MovieLens 100k's five-fold cross-validation: the folds u1..u5 the dataset has
    predefined:NAMES  the named folds, comma-separated; ua and ub only this way (predefined:ua,ub)
    probe          the Netflix Prize's probe set (probe.txt of a netflix:DIR folder): test on the
                   probe pairs' ratings, train on every other rating; a probe pair with no rating
                   is an error naming its line (with --lenient, skipped and counted)

Numbers that are not finite (inf, nan) and counts with a fractional part (holdout:1.5) are errors.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.core.data.tables import Dataset, runs_of
from movierec.core.errors import DataError, excerpt

SPLIT_HELP = "holdout:N, kfold:K, user:F, temporal:F, last:N, predefined[:NAMES] or probe"
FIVE_FOLD = ("u1", "u2", "u3", "u4", "u5")


@dataclass(frozen=True)
class Fold:
    """One train/test pair of a split."""

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    #: test ratings left out because their movie has no training rating (`last:N`)
    dropped: int = 0


@dataclass(frozen=True)
class SplitSpec:
    """A parsed split string: kind plus its parameter."""

    kind: str
    value: float | int | None = None
    names: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "predefined":
            return "predefined" + (":" + ",".join(self.names) if self.names else "")
        if self.kind == "probe":
            return "probe"
        return f"{self.kind}:{_number(self.value)}"  # type: ignore[arg-type]


def parse_split(text: str) -> SplitSpec:
    """Parse 'kfold:5', 'holdout:100000', 'user:0.25', 'temporal:0.2', 'last:1' or 'predefined[:NAMES]'."""
    shown = excerpt(text)
    kind, _, value = text.strip().partition(":")
    kind = kind.lower()
    defaults = {"kfold": "5", "holdout": "0.1", "user": "0.25", "temporal": "0.2", "last": "1"}
    if kind == "predefined":
        names = tuple(n.strip() for n in value.split(",") if n.strip())
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise DataError(f"split {shown}: fold {', '.join(repeated)} named twice")
        return SplitSpec("predefined", None, names)
    if kind == "probe":
        if value.strip():
            raise DataError(f"split {shown}: the probe split takes no value; write 'probe'")
        return SplitSpec("probe")
    if kind not in defaults:
        raise DataError(f"unknown split {shown}: expected {SPLIT_HELP}")
    value = value.strip() or defaults[kind]
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"split {shown}: {excerpt(value)} is not a number") from None
    if not math.isfinite(number):
        raise DataError(f"split {shown}: {excerpt(value)} is not a finite number")
    if kind == "kfold":
        if number != int(number) or number < 2:
            raise DataError(f"split {shown}: K must be a whole number >= 2")
        return SplitSpec(kind, int(number))
    if kind == "last":
        if number != int(number) or number < 1:
            raise DataError(f"split {shown}: N must be a whole number >= 1 of each user's latest ratings")
        return SplitSpec(kind, int(number))
    if kind == "holdout":
        if number <= 0:
            raise DataError(f"split {shown}: N must be a positive count or a fraction in (0, 1)")
        if number < 1:
            return SplitSpec(kind, number)
        if number != int(number):
            raise DataError(
                f"split {shown}: N must be a whole number of test ratings, or a fraction in (0, 1) "
                f"such as holdout:0.1"
            )
        return SplitSpec(kind, int(number))
    if not 0 < number < 1:
        raise DataError(f"split {shown}: F must be a fraction between 0 and 1")
    return SplitSpec(kind, number)


def predefined_fold_names(dataset: Dataset | pd.DataFrame, spec: SplitSpec) -> tuple[str, ...]:
    """The folds a predefined split runs: the names given, else u1..u5 (MovieLens 100k's five folds)."""
    available = dataset.predefined_splits if isinstance(dataset, Dataset) else {}
    if not available:
        raise DataError(
            f"split {str(spec)!r}: this dataset has no predefined splits (MovieLens 100k has u1..u5, ua, ub)"
        )
    for name in spec.names:
        if name not in available:
            known = ", ".join(available)
            raise DataError(f"split 'predefined': fold {excerpt(name)} unknown; this dataset has {known}")
    if spec.names:
        return spec.names
    five_fold = tuple(name for name in FIVE_FOLD if name in available)
    if not five_fold:
        raise DataError(
            f"split 'predefined' means the five folds u1..u5, and this dataset has none of them; "
            f"name its folds instead: predefined:{','.join(available)}"
        )
    return five_fold


def iter_folds(dataset: Dataset | pd.DataFrame, split: str | SplitSpec, seed: int = 42) -> Iterator[Fold]:
    """Yield the folds of a split of a dataset (or of a bare ratings table)."""
    spec = parse_split(split) if isinstance(split, str) else split
    ratings = dataset.ratings if isinstance(dataset, Dataset) else dataset
    if spec.kind == "holdout":
        train, test = holdout_split(ratings, spec.value, seed)  # type: ignore[arg-type]
        yield Fold("holdout", train, test)
    elif spec.kind == "kfold":
        yield from kfold_split(ratings, int(spec.value), seed)  # type: ignore[arg-type]
    elif spec.kind == "user":
        train, test = user_split(ratings, float(spec.value), seed)  # type: ignore[arg-type]
        yield Fold("user", train, test)
    elif spec.kind == "temporal":
        train, test = temporal_split(ratings, float(spec.value))  # type: ignore[arg-type]
        yield Fold("temporal", train, test)
    elif spec.kind == "probe":
        train, test = probe_split(dataset)
        yield Fold("probe", train, test)
    elif spec.kind == "last":
        train, test, dropped = last_split(ratings, int(spec.value))  # type: ignore[arg-type]
        yield Fold("last", train, test, dropped)
    else:
        for name in predefined_fold_names(dataset, spec):
            train, test = dataset.predefined_splits[name]  # type: ignore[union-attr]
            yield Fold(name, train, test)


def holdout_split(ratings: pd.DataFrame, n_test: int | float, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffle, then the last `n_test` ratings (or that fraction) are the test set."""
    n = len(ratings)
    if n < 2:
        counted = f"{n} rating" + ("" if n == 1 else "s")
        raise DataError(f"holdout:{_number(n_test)}: {counted} cannot be split; train and test need at least 2")
    count = int(round(n * n_test)) if isinstance(n_test, float) and n_test < 1 else int(n_test)
    if not 0 < count < n:
        size = f"{n_test:g} of {n} ratings is {count}" if isinstance(n_test, float) and n_test < 1 else _number(count)
        raise DataError(f"holdout:{_number(n_test)}: the test size ({size}) must be between 1 and {n - 1} ratings")
    order = np.random.default_rng(seed).permutation(n)
    return _take(ratings, order[:-count]), _take(ratings, order[-count:])


def kfold_split(ratings: pd.DataFrame, k: int, seed: int = 42) -> Iterator[Fold]:
    """Random K-fold: every rating is in exactly one test fold."""
    if len(ratings) < k:
        raise DataError(f"kfold:{_number(k)}: {_number(k)} folds need as many ratings, there are {len(ratings)}")
    fold_of = np.random.default_rng(seed).permutation(len(ratings)) % k
    for i in range(k):
        test = fold_of == i
        yield Fold(f"fold{i + 1}", _select(ratings, ~test), _select(ratings, test))


def user_split(ratings: pd.DataFrame, test_fraction: float = 0.25, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user, a random `test_fraction` of their ratings goes to test (stratified by user).

    Every user with 2 or more ratings has at least one rating in test and one in train; a user
    with a single rating stays in train.
    """
    random_key = np.random.default_rng(seed).integers(0, 1 << 32, len(ratings), dtype=np.uint64)
    # ties between two random keys of one user are rare and harmless: no stable sort needed
    return _per_user_split(ratings, random_key, test_fraction, stable=False)


def temporal_split(ratings: pd.DataFrame, test_fraction: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user, the latest `test_fraction` of their ratings goes to test, like the Netflix probe set.

    Ratings on the same date keep file order (the later line counts as later); unknown dates
    count as the earliest.
    """
    return _per_user_split(ratings, _date_key(ratings, "temporal"), test_fraction, stable=True)


def last_split(ratings: pd.DataFrame, n_test: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Per user, the `n_test` latest ratings by date go to test; returns (train, test, dropped).

    Ratings on the same date keep file order (the later line counts as later), so Netflix's dates
    by the day split as deterministically as MovieLens' timestamps. Users with `n_test` or fewer
    ratings stay in training; test ratings of movies that no training rating has are dropped
    (no engine could rank them) and counted in `dropped`.
    """
    if not isinstance(n_test, (int, np.integer)) or isinstance(n_test, bool) or n_test < 1:
        raise DataError(f"split 'last:{n_test}': N must be a whole number >= 1")
    key = _date_key(ratings, f"last:{n_test}")
    users = ratings["user"].to_numpy()
    n = len(users)
    if n == 0:
        empty = ratings.iloc[:0].reset_index(drop=True)
        return empty, empty, 0
    order, starts, counts = _user_order(users, key, stable=True)
    rank_from_end = np.repeat(starts + counts, counts) - 1 - np.arange(n)  # 0 = the latest rating
    is_test = np.empty(n, dtype=bool)
    is_test[order] = (rank_from_end < n_test) & np.repeat(counts > n_test, counts)
    trained_movies = np.unique(ratings["movie"].to_numpy()[~is_test])
    unseen = is_test & ~np.isin(ratings["movie"].to_numpy(), trained_movies)
    return _select(ratings, ~is_test), _select(ratings, is_test & ~unseen), int(unseen.sum())


def _date_key(ratings: pd.DataFrame, split: str) -> np.ndarray:
    """Each rating's date as a 32-bit sort key (seconds since 1970); NaT counts as the earliest."""
    if "date" not in ratings.columns or ratings["date"].isna().all():
        raise DataError(f"split {split!r}: the ratings have no dates")
    seconds = ratings["date"].to_numpy().astype("datetime64[s]").astype(np.int64)
    # seconds since 1970 fit 32 bits until 2106; NaT (int64 min) becomes 0, the earliest
    return np.clip(seconds, 0, (1 << 32) - 1).astype(np.uint64)


def _user_order(users: np.ndarray, key: np.ndarray, stable: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by (user, key), ties by position when `stable`; each user's start and count."""
    user_code = users.astype(np.int64) - int(users.min())  # int32 ids span < 2**32
    # one sort of (user, key) packed in 64 bits: 2-3x faster than lexsort at 10M rows
    order = np.argsort((user_code.astype(np.uint64) << np.uint64(32)) | key, kind="stable" if stable else None)
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    return order, starts, np.diff(np.r_[starts, len(users)])


def probe_split(dataset: Dataset | pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Prize's protocol: the ratings of the probe pairs are the test set, all others train.

    A probe pair that no rating matches is an error naming its file and line; a dataset loaded
    with lenient=True skips such pairs, counted in a note and a warning.
    """
    if not isinstance(dataset, Dataset):
        raise DataError("split 'probe': a bare ratings table has no probe pairs (nor a --sample of one)")
    probe = dataset.probe
    if probe is None:
        raise DataError("split 'probe': this dataset has no probe set (a netflix:DIR folder with probe.txt has one)")
    ratings = dataset.ratings
    is_test, matched = _probe_rows(ratings["user"].to_numpy(), ratings["movie"].to_numpy(), probe)
    missing = np.flatnonzero(~matched)
    if len(missing):
        path = dataset.prize_files.get("probe", "probe.txt")
        first = probe.iloc[int(missing[0])]
        where = f"{path}:{int(first['line'])}: probe pair (customer {int(first['user'])}, movie {int(first['movie'])})"
        if not dataset.lenient:
            raise DataError(
                f"{where} has no rating in the ratings files; the probe set must be part of the "
                f"training ratings (--lenient skips such pairs and counts them)"
            )
        note = f"split 'probe': {len(missing)} probe pair(s) with no rating skipped (lenient mode), e.g. {where}"
        if note not in dataset.notes:
            dataset.notes.append(note)
        logging.getLogger(__name__).warning(note)
    return _select(ratings, ~is_test), _select(ratings, is_test)


def _probe_rows(user: np.ndarray, movie: np.ndarray, probe: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which ratings are probe pairs, and which probe pairs some rating matched.

    Ratings come in runs of one movie (a Netflix file's blocks), so each run's customers are
    looked up among that movie's few probe customers: small sorted arrays, no sort of the ratings
    (ratings in any other order are looked up pair by pair among all probe pairs).
    """
    probe_movie, probe_user = probe["movie"].to_numpy(), probe["user"].to_numpy()
    order = np.lexsort((probe_user, probe_movie))
    sorted_movie, sorted_user = probe_movie[order], probe_user[order]
    movie_ids, first = np.unique(sorted_movie, return_index=True)
    bounds = dict(zip(movie_ids.tolist(), zip(first.tolist(), np.r_[first[1:], len(order)].tolist())))
    is_test = np.zeros(len(user), dtype=bool)
    matched = np.zeros(len(probe), dtype=bool)
    starts, stops = runs_of(movie)
    if len(starts) > len(user) // 16 + 1:  # no movie runs worth the name: one lookup of every pair
        keys = (sorted_movie.astype(np.int64) << 32) | sorted_user.astype(np.int64)
        pairs = (movie.astype(np.int64) << 32) | user.astype(np.int64)
        at = np.minimum(np.searchsorted(keys, pairs), len(keys) - 1)
        is_test = keys[at] == pairs
        matched[order[at[is_test]]] = True
        return is_test, matched
    for start, stop, run_movie in zip(starts.tolist(), stops.tolist(), movie[starts].tolist()):
        if run_movie not in bounds:
            continue
        low, high = bounds[run_movie]
        customers = sorted_user[low:high]
        at = np.minimum(np.searchsorted(customers, user[start:stop]), len(customers) - 1)
        hit = customers[at] == user[start:stop]
        is_test[start:stop] = hit
        matched[order[low + at[hit]]] = True
    return is_test, matched


def _per_user_split(
    ratings: pd.DataFrame, key: np.ndarray, test_fraction: float, stable: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user, the rows with the largest `key` (a 32-bit value; ties by position) are the test set."""
    users = ratings["user"].to_numpy()
    n = len(users)
    if n == 0:
        return ratings.iloc[:0].reset_index(drop=True), ratings.iloc[:0].reset_index(drop=True)
    if not 0 < test_fraction < 1:
        raise DataError(f"per-user split: the test fraction must be between 0 and 1, got {test_fraction}")
    order, starts, counts = _user_order(users, key, stable)
    rank = np.arange(n) - np.repeat(starts, counts)  # 0 = smallest key of that user
    n_test = np.floor(counts * test_fraction + 0.5).astype(np.int64)
    n_test = np.where(counts >= 2, np.clip(n_test, 1, counts - 1), 0)
    is_test = np.empty(n, dtype=bool)
    is_test[order] = rank >= np.repeat(counts - n_test, counts)
    return _select(ratings, ~is_test), _select(ratings, is_test)


def _number(value: int | float) -> str:
    """A count or fraction as an error message shows it: 300, 0.1, 1e+300 (never 300 digits)."""
    if isinstance(value, float) or abs(value) >= 10**12:
        return f"{value:g}"
    return str(value)


def _take(ratings: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """Rows at positions, in their original order, with a fresh index."""
    return ratings.iloc[np.sort(positions)].reset_index(drop=True)


def _select(ratings: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """Rows where `mask` holds, in their original order, with a fresh index."""
    return ratings.iloc[np.flatnonzero(mask)].reset_index(drop=True)
