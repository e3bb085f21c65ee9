"""What the app holds while it serves: one dataset, its fitted engines, and lookups for the widgets."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from movierec.app.engines import EngineCache, ProgressFn, usable_engines
from movierec.app.limits import too_long
from movierec.app.results import best_engines, dataset_name
from movierec.core.data import load_dataset
from movierec.core.data.fetch import GROUPLENS_URL, fetch_movielens
from movierec.core.data.tables import Dataset
from movierec.core.data.titles import find_titles, title_key
from movierec.core.errors import DataError, MovierecError
from movierec.core.models.text import text_source

log = logging.getLogger(__name__)


DEFAULT_DATASET = "sample"
#: what a Space serves when no dataset is configured, fetched into $MOVIEREC_DATA_DIR
SPACE_DATASET = "ml-latest-small"
#: the engine each tab opens on when no stored benchmark ranks the served data (see `AppState.default_engine`),
#: and the one engine that compares movie text; the engines tabs open on are warmed at start
DEFAULT_ENGINES = {"user": "ease", "rate": "ease", "similar": "item_knn"}
#: tabs that open on the offered engine with the best stored nDCG@10 on the served dataset
RANKED_TABS = ("user", "rate")
TEXT_ENGINE = "content_tfidf"
#: what an engine must be able to do on each tab (a capability flag, or None)
TAB_CAPABILITY = {"user": None, "rate": "supports_fold_in", "similar": "has_similar_movies"}
#: the user widget lists this many of the most active users; any other id can be typed
MAX_USER_CHOICES = 200
#: a title widget opens with this many of the most rated titles; typing searches every title on the server
TITLE_CHOICES = 50
TITLE_MATCHES = 30
#: the fuzzy score (0-100) a near match needs to be suggested, as typed titles need to match
NEAR_MATCH_SCORE = 75.0
#: the engines' parameters in the app (e.g. {"surprise_knnbasic": {"sim_options": {"user_based": False}}})
ENGINE_PARAMS: dict[str, dict[str, Any]] = {}


def dataset_spec_from_env() -> str:
    """$MOVIEREC_DATASET; else ml-latest-small on a Hugging Face Space ($SPACE_ID); else the embedded sample."""
    configured = os.environ.get("MOVIEREC_DATASET", "").strip()
    if configured:
        return configured
    return f"movielens:{SPACE_DATASET}" if os.environ.get("SPACE_ID") else DEFAULT_DATASET


def load_served(spec: str, metadata: str | Path | None) -> tuple[Dataset, str | None]:
    """The dataset a spec names, and a notice for the page when the sample stands in for it.

    A Space's default (MovieLens fetched from GroupLens) falls back to the sample when the
    download fails, e.g. without network; a dataset configured by hand fails loudly instead.
    """
    fallback = spec == f"movielens:{SPACE_DATASET}" and not os.environ.get("MOVIEREC_DATASET", "").strip()
    try:
        if not fallback:
            return load_dataset(spec, metadata=metadata), None
        # $MOVIEREC_MOVIELENS_URL: a mirror of files.grouplens.org (the folder holding ml-latest-small.zip)
        folder = fetch_movielens(SPACE_DATASET, base_url=os.environ.get("MOVIEREC_MOVIELENS_URL") or GROUPLENS_URL)
        dataset = load_dataset(f"movielens:{folder}", metadata=metadata)
        dataset.spec = spec  # the archive's name, not the cache folder's local path
        return dataset, None
    except DataError as error:
        if not fallback:
            raise
        log.warning("serving the sample instead of %s: %s", SPACE_DATASET, error)
        # the page gets no error text: it names local folders; the log above has it
        return load_dataset(DEFAULT_DATASET, metadata=metadata), (
            f"MovieLens {SPACE_DATASET} could not be fetched from GroupLens (no network?), so the app serves its "
            "synthetic sample instead"
        )


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
    #: shown under the header when the data is not what was asked for (the sample standing in)
    notice: str | None = None
    #: results computed once per dataset (e.g. the data charts)
    memo: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, spec: str | None = None, cache_dir: Path | None = None,
               metadata: str | Path | None = None) -> "AppState":
        """Load the dataset (default: $MOVIEREC_DATASET or the sample, overviews from $MOVIEREC_METADATA)."""
        metadata = metadata or os.environ.get("MOVIEREC_METADATA") or None
        dataset, notice = load_served(spec or dataset_spec_from_env(), metadata)
        state = cls(dataset=dataset, engines=EngineCache(dataset, cache_dir, params=ENGINE_PARAMS), notice=notice)
        state.offered = usable_engines(ENGINE_PARAMS)
        if state.text_source is None:  # no overview, genre, tag: an engine that reads movie text can only fail
            state.offered = [name for name in state.offered if not state.engines.capabilities(name).uses_overviews]
        return state

    # ------------------------------------------------------------- what is served
    @property
    def name(self) -> str:
        """The served dataset's name for the page (no local path)."""
        return dataset_name(self.dataset.spec)

    @property
    def synthetic(self) -> bool:
        """True when the embedded synthetic sample is served."""
        return self.dataset.spec == DEFAULT_DATASET

    @property
    def real(self) -> bool:
        """True for real rating data (not the generated sample)."""
        return not self.synthetic

    @cached_property
    def text_source(self) -> str | None:
        """What the text similarity reads here (overviews, genres/tags/titles), None when movies have no text."""
        return text_source(self.dataset.movies)

    # ------------------------------------------------------------- engines by capability
    def engines_that(self, flag: str) -> list[str]:
        """Offered engines that have capability `flag` (e.g. 'supports_fold_in'), asked of an instance."""
        return [name for name in self.offered if getattr(self.engines.capabilities(name), flag)]

    def collaborative_engines(self) -> list[str]:
        """Offered engines with movie representations learned from ratings (not from movie text)."""
        return [
            name for name in self.offered
            if self.engines.capabilities(name).has_similar_movies and not self.engines.capabilities(name).uses_overviews
        ]

    def tab_engines(self, tab: str) -> list[str]:
        """The engines a tab offers: every offered engine able to answer its question."""
        if tab == "similar":
            return self.collaborative_engines()
        flag = TAB_CAPABILITY[tab]
        return self.engines_that(flag) if flag else list(self.offered)

    def default_engine(self, tab: str) -> str | None:
        """The engine `tab` opens on.

        The recommend and rate tabs open on the engine they offer with the best stored nDCG@10 on
        the served dataset (benchmarks/results); without one, and on the other tabs, on
        DEFAULT_ENGINES' choice when offered there, else on the tab's first engine.
        """
        choices = self.tab_engines(tab)
        ranked = best_engines(self.name) if tab in RANKED_TABS else []
        for name in [*ranked, DEFAULT_ENGINES[tab]]:
            if name in choices:
                return name
        return choices[0] if choices else None

    def engines_to_warm(self) -> list[str]:
        """The engines the tabs open on, plus the text engine: trained or loaded at start."""
        names = [self.default_engine(tab) for tab in DEFAULT_ENGINES] + [TEXT_ENGINE]
        return [name for name in dict.fromkeys(names) if name is not None and name in self.offered]

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
    def _folded_labels(self) -> list[str]:
        return [label.casefold() for label in self.catalogue.labels]

    def search_labels(self, text: Any, limit: int = TITLE_MATCHES) -> list[str]:
        """Catalogue labels holding every typed word, most rated first, else near matches (the title widgets' search)."""
        if too_long(str(text or "")):  # longer than any title: it matches nothing, and costs nothing to say so
            return []
        words = str(text or "").casefold().split()
        if not words:
            return self.catalogue.labels[:TITLE_CHOICES]
        labels = self.catalogue.labels
        found = [labels[i] for i, folded in enumerate(self._folded_labels) if all(w in folded for w in words)]
        if not found and len("".join(words)) >= 4:  # a typo ('godfater'): near matches, tens of ms
            near = find_titles(self.dataset.movies, " ".join(words), limit=limit)
            near = near[near["score"] >= NEAR_MATCH_SCORE]
            found = [self.catalogue.label_of_movie[int(m)] for m in near["movie"] if int(m) in self.catalogue.label_of_movie]
        return found[:limit]

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
