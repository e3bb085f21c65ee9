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
