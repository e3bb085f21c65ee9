"""Shared fixtures: the embedded sample, and the real datasets in ../shared/data.

Tests that need ../shared/data skip when it is absent, and fail instead when
MOVIEREC_REQUIRE_SHARED_DATA=1 (as CI sets).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data"))


def modules_loaded_by(statements: str, candidates: tuple[str, ...]) -> list[str]:
    """Which of `candidates` a fresh interpreter has imported after running `statements`."""
    code = f"import sys\n{statements}\nprint(','.join(m for m in {candidates!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [name for name in done.stdout.strip().split(",") if name]


def check_factor_reasons(engine, train, user: int, vectors, expected) -> None:
    """A factor engine's reasons for its top 10 name the liked rated movie with the largest pull.

    Pull of rated movie j on movie i: (r_j - expected_j) x cos(v_i, v_j) x n_j / (n_j + 20), with
    `expected` the engine's baseline for each of the user's rated movies (in `train` order) and
    `vectors` its movie vectors; liked means at or above the user's mean and 3 stars.
    """
    import numpy as np

    mine = train[train["user"] == user].set_index("movie")["rating"]
    top = engine.recommend(user, k=10)["movie"].to_numpy()
    reasons = engine.reasons(user, top)
    assert any(r is not None for r in reasons)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    rated = engine.movies_.index_of(mine.index.to_numpy())
    counts = train["movie"].value_counts().reindex(mine.index).to_numpy()
    liked = mine.to_numpy() >= max(mine.mean(), 3.0)
    raters = train.groupby("movie")["user"].agg(set)
    for movie, reason in zip(top, reasons):
        pull = (mine.to_numpy() - expected(rated)) * (unit[rated] @ unit[engine.movies_.position(movie)])
        together = np.array([len(raters.get(j, set()) & raters.get(movie, set())) for j in mine.index])
        pull = np.where(liked & (together >= 3), pull * counts / (counts + 20), -np.inf)  # named: rated together by 3+
        if reason is None:
            assert not (pull > 0).any()
            continue
        assert reason["movie"] == mine.index[np.argmax(pull)] and reason["rating"] == mine.iloc[np.argmax(pull)]
        assert len(reason["because"]) <= 3 and all(b["movie"] in mine.index for b in reason["because"])
        assert "{movie:" in engine.explain(user, [movie])[0] and "of them also rated it" in engine.explain(user, [movie])[0]


def _require(path: Path) -> Path:
    if path.exists():
        return path
    if os.environ.get("MOVIEREC_REQUIRE_SHARED_DATA") == "1":
        pytest.fail(f"{path} is missing and MOVIEREC_REQUIRE_SHARED_DATA=1")
    pytest.skip(f"{path} not present (real-data test)")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder (skip or fail when absent)."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def netflix_dir(shared_data: Path) -> Path:
    return _require(shared_data / "netflix")


@pytest.fixture(scope="session")
def movielens_small_dir(shared_data: Path) -> Path:
    return _require(shared_data / "ml-latest-small")


@pytest.fixture(scope="session")
def sample():
    """The embedded sample dataset, loaded once per session (treat as read-only)."""
    from movierec.core.data import load_dataset

    return load_dataset("sample")


@pytest.fixture(scope="session")
def movielens_small(movielens_small_dir: Path):
    """ml-latest-small loaded once per session (treat as read-only)."""
    from movierec.core.data import load_dataset

    return load_dataset(f"movielens:{movielens_small_dir}")
