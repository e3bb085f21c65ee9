"""What the app holds while it serves: one dataset, its fitted engines, and lookups for the widgets."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from movierec.app.engines import EngineCache, ProgressFn, capabilities, usable_engines
from movierec.core.data import load_dataset
from movierec.core.data.tables import Dataset
from movierec.core.data.titles import title_key
from movierec.core.errors import MovierecError


DEFAULT_DATASET = "sample"
#: the engines offered first on each tab; cheap to train on the sample, so they are warmed at start
DEFAULT_RECOMMEND_ENGINE = "item_knn"
DEFAULT_TEXT_ENGINE = "content_tfidf"
DEFAULT_COLLABORATIVE_ENGINE = "item_knn"
#: widgets list at most this many choices; any other id or title can still be typed
MAX_USER_CHOICES = 2000
MAX_TITLE_CHOICES = 20000


def dataset_spec_from_env() -> str:
    """$MOVIEREC_DATASET, else the embedded sample."""
    return os.environ.get("MOVIEREC_DATASET", "").strip() or DEFAULT_DATASET


def benchmark_results_dir() -> Path:
    """$MOVIEREC_BENCHMARK_DIR, else benchmarks/results of the checkout the app runs from."""
    configured = os.environ.get("MOVIEREC_BENCHMARK_DIR")
    if configured:
        return Path(configured).expanduser()
    for parent in [Path.cwd(), *Path(__file__).resolve().parents]:
        candidate = parent / "benchmarks" / "results"
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "benchmarks" / "results"


@dataclass
class Catalogue:
    """Movie labels for the title widgets ('Title (1999)'), each naming exactly one movie id."""

    labels: list[str]
    movie_of_label: dict[str, int]
    label_of_movie: dict[int, str]
    #: movie -> every movie with the same title (remakes), for titles that have several
    versions: dict[int, list[int]]

    @classmethod
    def build(cls, movies: pd.DataFrame, popularity: pd.Series) -> "Catalogue":
        """Labels ordered by number of ratings, most rated first; same-title remakes keep their year."""
        frame = movies[["movie", "title", "year"]].copy()
        frame["count"] = frame["movie"].map(popularity).fillna(0).astype(np.int64)
        frame = frame.sort_values(["count", "movie"], ascending=[False, True], kind="stable")
        labels: list[str] = []
        movie_of_label: dict[str, int] = {}
        label_of_movie: dict[int, str] = {}
        for movie, title, year in zip(frame["movie"].tolist(), frame["title"].tolist(), frame["year"].tolist()):
            title = "" if pd.isna(title) else str(title)
            label = f"{title} ({year})" if not pd.isna(year) else title
            if label in movie_of_label or not label:
                label = f"{label} #{movie}".strip()  # two movies with the same title and year
            labels.append(label)
            movie_of_label[label] = int(movie)
            label_of_movie[int(movie)] = label
        by_title: dict[str, list[int]] = {}
        for movie, title in zip(frame["movie"].tolist(), frame["title"].tolist()):
            by_title.setdefault(title_key(title), []).append(int(movie))
        versions = {movie: group for group in by_title.values() if len(group) > 1 for movie in group}
        return cls(labels, movie_of_label, label_of_movie, versions)


@dataclass
class AppState:
    """The dataset being served, its engine cache, and lookups shared by every callback."""

    dataset: Dataset
    engines: EngineCache
    offered: list[str] = field(default_factory=list)
    #: results computed once per dataset (e.g. the data charts)
    memo: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, spec: str | None = None, cache_dir: Path | None = None,
               metadata: str | Path | None = None) -> "AppState":
        """Load the dataset (default: $MOVIEREC_DATASET or the sample, overviews from $MOVIEREC_METADATA)."""
        metadata = metadata or os.environ.get("MOVIEREC_METADATA") or None
        dataset = load_dataset(spec or dataset_spec_from_env(), metadata=metadata)
        state = cls(dataset=dataset, engines=EngineCache(dataset, cache_dir))
        state.offered = usable_engines()
        return state

    # ------------------------------------------------------------- engines by capability
    def engines_that(self, flag: str) -> list[str]:
        """Offered engines whose class sets capability `flag` (e.g. 'supports_fold_in')."""
        return [name for name in self.offered if getattr(capabilities(name), flag)]

    def collaborative_engines(self) -> list[str]:
        """Offered engines with movie representations learned from ratings (not from overviews)."""
        return [
            name for name in self.offered
            if capabilities(name).has_similar_movies and not capabilities(name).uses_overviews
        ]

    def default_engine(self, preferred: str, flag: str | None = None) -> str | None:
        """`preferred` when offered (and capable), else the first capable engine."""
        choices = self.engines_that(flag) if flag else self.offered
        if preferred in choices:
            return preferred
        return choices[0] if choices else None

    def warm(self, names: list[str], progress: ProgressFn | None = None) -> dict[str, str]:
        """Load or train the given engines now, so the first clicks answer at once; {name: why not}."""
        failures: dict[str, str] = {}
        for position, name in enumerate(names):
            def step(fraction: float, text: str, position: int = position) -> None:
                if progress is not None:
                    progress((position + fraction) / len(names), text)

            try:
                self.engines.get(name, step)
            except MovierecError as error:  # e.g. content_tfidf on data without overviews
                failures[name] = str(error)
        return failures

    # ------------------------------------------------------------- lookups
    @cached_property
    def ratings_per_movie(self) -> pd.Series:
        return self.dataset.ratings["movie"].value_counts()

    @cached_property
    def catalogue(self) -> Catalogue:
        return Catalogue.build(self.dataset.movies, self.ratings_per_movie)

    @cached_property
    def dataset_stats(self) -> dict[str, Any]:
        """`Dataset.stats()`, computed once (it counts distinct users and movies over every rating)."""
        return self.dataset.stats()

    @cached_property
    def users(self) -> np.ndarray:
        """Every user id, ascending."""
        return np.fromiter(self.ratings_by_user, dtype=np.int64, count=len(self.ratings_by_user))

    @cached_property
    def user_choices(self) -> list[str]:
        """The user ids the dropdown lists: the most active users first, at most MAX_USER_CHOICES."""
        users = self.users
        counts = np.fromiter((len(rows) for rows in self.ratings_by_user.values()), dtype=np.int64, count=len(users))
        # users ascend, so a stable sort by count keeps the lower id first among equally active users
        top = users[np.argsort(-counts, kind="stable")[:MAX_USER_CHOICES]]
        return [str(user) for user in np.sort(top).tolist()]

    @cached_property
    def ratings_by_user(self) -> dict[int, np.ndarray]:
        """Row positions of each user's ratings (for the "rated highest" table), users ascending."""
        users = self.dataset.ratings["user"].to_numpy()
        order = np.argsort(users, kind="stable")
        boundaries = np.flatnonzero(np.diff(users[order])) + 1
        groups = np.split(order, boundaries)
        return {int(users[group[0]]): group for group in groups if len(group)}

    @cached_property
    def movie_rows(self) -> pd.DataFrame:
        """The movies table indexed by movie id."""
        return self.dataset.movies.drop_duplicates("movie").set_index("movie")
