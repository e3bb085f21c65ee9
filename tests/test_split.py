"""Splits: seeded holdout, k-fold, per-user stratified, per-user temporal, last N, predefined."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from movierec.core.data import load_movielens, make_ratings
from movierec.core.data.split import (
    holdout_split,
    iter_folds,
    kfold_split,
    last_split,
    parse_split,
    temporal_split,
    user_split,
)
from movierec.core.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "movielens"


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    """3,000 ratings of 200 users (1 to 40 ratings each) with dates and same-day ties."""
    rng = np.random.default_rng(7)
    counts = np.r_[1, 2, 3, rng.integers(1, 40, 197)]
    users = np.repeat(np.arange(1, 201), counts)
    days = rng.integers(0, 400, len(users))
    dates = np.datetime64("2004-01-01") + days.astype("timedelta64[D]")
    return make_ratings(users, rng.integers(1, 300, len(users)), rng.integers(1, 6, len(users)), dates)


def keys(frame: pd.DataFrame) -> set[tuple]:
    return set(frame.itertuples(index=False, name=None))


def test_every_split_is_reproducible_with_a_seed(ratings: pd.DataFrame) -> None:
    for split in ("holdout:300", "kfold:4", "user:0.25", "temporal:0.2", "last:2"):
        first = [(f.train, f.test) for f in iter_folds(ratings, split, seed=3)]
        again = [(f.train, f.test) for f in iter_folds(ratings, split, seed=3)]
        assert all(a[0].equals(b[0]) and a[1].equals(b[1]) for a, b in zip(first, again)), split
    other = next(iter_folds(ratings, "user:0.25", seed=4))
    assert not other.test.equals(next(iter_folds(ratings, "user:0.25", seed=3)).test)


def test_holdout_takes_exactly_n_or_a_fraction(ratings: pd.DataFrame) -> None:
    train, test = holdout_split(ratings, 300, seed=1)
    assert (len(train), len(test)) == (len(ratings) - 300, 300)
    assert keys(train) | keys(test) == keys(ratings)
    assert len(holdout_split(ratings, 0.1, seed=1)[1]) == round(len(ratings) * 0.1)
    with pytest.raises(DataError, match="test size"):
        holdout_split(ratings, len(ratings))


def test_kfold_test_folds_partition_the_ratings(ratings: pd.DataFrame) -> None:
    folds = list(kfold_split(ratings, 5, seed=2))
    sizes = [len(f.test) for f in folds]
    assert sum(sizes) == len(ratings) and max(sizes) - min(sizes) <= 1
    positions = pd.concat([f.test for f in folds]).sort_values(list(ratings.columns)).reset_index(drop=True)
    assert positions.equals(ratings.sort_values(list(ratings.columns)).reset_index(drop=True))
    for fold in folds:
        assert len(fold.train) + len(fold.test) == len(ratings)


def test_user_split_keeps_every_user_in_train_and_test(ratings: pd.DataFrame) -> None:
    train, test = user_split(ratings, 0.25, seed=5)
    per_user = ratings["user"].value_counts()
    in_test = test["user"].value_counts()
    in_train = train["user"].value_counts()
    several = per_user.index[per_user >= 2]
    assert set(several) <= set(in_test.index) and set(per_user.index) == set(in_train.index)
    assert set(per_user.index[per_user == 1]).isdisjoint(in_test.index)
    assert len(test) / len(ratings) == pytest.approx(0.25, abs=0.03)
    assert len(train) + len(test) == len(ratings)


def test_temporal_split_puts_each_users_latest_ratings_in_test(ratings: pd.DataFrame) -> None:
    train, test = temporal_split(ratings, 0.2)
    last_train = train.groupby("user")["date"].max()
    first_test = test.groupby("user")["date"].min()
    assert (first_test >= last_train.loc[first_test.index]).all()
    assert set(test["user"]) == set(ratings["user"].value_counts().loc[lambda c: c >= 2].index)


def test_temporal_ties_keep_file_order() -> None:
    day = np.datetime64("2005-06-01")
    table = make_ratings([1, 1, 1, 1], [10, 20, 30, 40], [1, 2, 3, 4], [day, day, day, day])
    train, test = temporal_split(table, 0.5)
    assert (train["movie"].tolist(), test["movie"].tolist()) == ([10, 20], [30, 40])


def test_last_split_holds_out_each_users_latest_ratings(ratings: pd.DataFrame) -> None:
    train, test, dropped = last_split(ratings, 2)
    per_user = ratings["user"].value_counts()
    assert len(train) + len(test) + dropped == len(ratings)
    assert set(test["user"]) <= set(per_user.index[per_user > 2])
    assert test["user"].value_counts().max() <= 2
    latest_train = train.groupby("user")["date"].max()
    assert (test.groupby("user")["date"].min() >= latest_train.loc[test["user"].unique()]).all()
    assert set(test["movie"]) <= set(train["movie"])


def test_last_split_keeps_users_with_n_or_fewer_ratings_in_training() -> None:
    day = np.datetime64("2005-06-01")
    table = make_ratings([1, 2, 2, 3, 3, 3], [10, 10, 20, 10, 20, 30], [3] * 6, [day] * 6)
    train, test, dropped = last_split(table, 2)
    assert sorted(train["user"].tolist()) == [1, 2, 2, 3]
    # user 3's two latest are 20 and 30 (file order breaks the date tie); 30 has no training rating
    assert test["movie"].tolist() == [20] and dropped == 1


def test_last_split_ties_in_date_keep_file_order() -> None:
    day = np.datetime64("2005-06-01")
    table = make_ratings([1, 1, 1, 2, 2, 3], [10, 20, 30, 10, 20, 30], [1, 2, 3, 4, 5, 3],
                         [day, day, day, day, day - np.timedelta64(1, "D"), day])
    train, test, dropped = last_split(table, 1)
    # user 1: three ratings on one day, the last line is the latest; user 2: 10 is a day later
    assert (test["user"].tolist(), test["movie"].tolist(), dropped) == ([1, 2], [30, 10], 0)


def test_last_split_reads_netflix_dates_by_the_day() -> None:
    days = np.array(["2005-01-03", "2005-01-01", "2005-01-02"], dtype="datetime64[D]")
    table = make_ratings([7, 7, 7, 8, 8, 9], [1, 2, 3, 2, 3, 1], [3, 4, 5, 2, 1, 4], np.r_[days, days])
    train, test, dropped = last_split(table, 1)
    assert sorted(zip(test["user"], test["movie"])) == [(7, 1), (8, 2)] and dropped == 0


def test_last_split_in_a_benchmark_scores_rankings_and_counts_drops(ratings: pd.DataFrame) -> None:
    from movierec.core.data.tables import Dataset
    from movierec.core.evaluation import run_benchmark

    folds = list(iter_folds(ratings, "last:1"))
    assert [f.name for f in folds] == ["last"] and folds[0].dropped == last_split(ratings, 1)[2]
    result = run_benchmark(Dataset("generated", ratings, pd.DataFrame()), "last:1", ["mean"])
    assert result.split == "last:1" and "ndcg@10" in set(result.table["metric"])
    assert result.extra.get("dropped_test_ratings", 0) == folds[0].dropped


def test_last_split_needs_dates_and_a_whole_n() -> None:
    with pytest.raises(DataError, match="'last:1'.*no dates"):
        last_split(make_ratings([1, 1], [1, 2], [3, 4]), 1)
    for text in ("last:0", "last:1.5", "last:-2", "last:x"):
        with pytest.raises(DataError, match="split"):
            parse_split(text)
    assert parse_split("last").value == 1 and str(parse_split("last:3")) == "last:3"


def test_temporal_split_needs_dates() -> None:
    with pytest.raises(DataError, match="no dates"):
        temporal_split(make_ratings([1, 1], [1, 2], [3, 4]), 0.5)


def test_predefined_splits_come_from_the_dataset(ratings: pd.DataFrame) -> None:
    dataset = load_movielens(FIXTURES / "ml-100k")
    assert [f.name for f in iter_folds(dataset, "predefined:ua")] == ["ua"]
    with pytest.raises(DataError, match="unknown; this dataset has u1, ua"):
        list(iter_folds(dataset, "predefined:u9"))
    with pytest.raises(DataError, match="no predefined splits"):
        list(iter_folds(ratings, "predefined"))


def write_100k_folder(folder: Path, folds: tuple[str, ...]) -> Path:
    """A MovieLens 100k layout: u.data plus .base/.test pairs; u1..u5 partition the ratings, ua/ub
    hold out one movie per user (as the real ua/ub hold out ten)."""
    folder.mkdir()
    lines = [f"{user}\t{movie}\t{1 + (user + movie) % 5}\t{880000000 + user * 100 + movie}"
             for user in range(1, 11) for movie in range(1, 7)]
    (folder / "u.data").write_text("\n".join(lines) + "\n")
    for name in folds:
        if name.startswith("u") and name[1:].isdigit():
            test = [line for position, line in enumerate(lines) if position % 5 == int(name[1:]) - 1]
        else:
            test = [line for position, line in enumerate(lines) if position % 6 == "ab".index(name[1])]
        base = [line for line in lines if line not in test]
        (folder / f"{name}.base").write_text("\n".join(base) + "\n")
        (folder / f"{name}.test").write_text("\n".join(test) + "\n")
    return folder


def test_predefined_means_the_five_folds_u1_to_u5(tmp_path: Path) -> None:
    dataset = load_movielens(write_100k_folder(tmp_path / "ml-100k", ("u1", "u2", "u3", "u4", "u5", "ua", "ub")))
    folds = list(iter_folds(dataset, "predefined"))
    assert [f.name for f in folds] == ["u1", "u2", "u3", "u4", "u5"]
    assert sum(len(f.test) for f in folds) == len(dataset.ratings)  # five-fold: every rating tested once
    assert [f.name for f in iter_folds(dataset, "predefined:ua,ub")] == ["ua", "ub"]
    assert [f.name for f in iter_folds(dataset, "predefined:u3")] == ["u3"]


def test_a_benchmark_on_predefined_averages_u1_to_u5_only(tmp_path: Path) -> None:
    from movierec.core.evaluation import run_benchmark

    dataset = load_movielens(write_100k_folder(tmp_path / "ml-100k", ("u1", "u2", "u3", "u4", "u5", "ua", "ub")))
    progress: list[float] = []
    result = run_benchmark(dataset, "predefined", ["mean"], progress=lambda f, _: progress.append(f))
    assert sorted(set(result.table["fold"])) == ["u1", "u2", "u3", "u4", "u5"]
    assert result.summary().set_index("metric").loc["rmse", "folds"] == 5 and progress[-1] == 1.0


def test_predefined_without_u1_to_u5_asks_for_the_names(tmp_path: Path) -> None:
    dataset = load_movielens(write_100k_folder(tmp_path / "ml-100k", ("ua", "ub")))
    with pytest.raises(DataError, match=r"means the five folds u1..u5.*predefined:ua,ub"):
        list(iter_folds(dataset, "predefined"))


@pytest.mark.parametrize("text", [
    "kfold:1", "kfold:2.5", "user:1.5", "temporal:0", "holdout:-3", "random:3", "user:x", "kfold:inf", "kfold:nan",
    "kfold:-inf", "kfold:1e309", "holdout:inf", "holdout:nan", "holdout:1.5", "holdout:2.25", "user:nan",
    "temporal:inf", "predefined:u1,u1",
])
def test_bad_split_strings_are_clear_errors(text: str) -> None:
    with pytest.raises(DataError, match="split"):
        parse_split(text)


def test_holdout_counts_have_no_fractional_part() -> None:
    with pytest.raises(DataError, match=r"holdout:1.5.*whole number of test ratings, or a fraction in \(0, 1\)"):
        parse_split("holdout:1.5")
    assert parse_split("holdout:2").value == 2 and parse_split("holdout:0.5").value == 0.5


def test_split_errors_quote_a_long_value_briefly() -> None:
    with pytest.raises(DataError) as error:
        parse_split("kfold:" + "9" * 5000)
    assert len(str(error.value)) < 200


def test_a_holdout_of_one_rating_says_it_cannot_be_split() -> None:
    with pytest.raises(DataError, match="holdout:0.1: 1 rating cannot be split; train and test need at least 2"):
        holdout_split(make_ratings([1], [1], [3]), 0.1)


def test_split_strings_round_trip() -> None:
    for text in ("kfold:5", "holdout:100000", "user:0.25", "temporal:0.2", "last:1", "predefined:u1,u2"):
        assert str(parse_split(text)) == text
