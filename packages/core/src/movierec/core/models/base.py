"""The one interface every engine offers (classic, deep or wrapped library).

Modelled on scikit-learn estimators (hyper-parameters are `__init__` arguments and nothing else
happens there; `fit` returns self; learned state ends in an underscore) and on implicit's
`RecommenderBase` (`recommend`, `similar_items`, fold-in for unseen users).

Subclasses implement the indexed hooks (`_fit`, `_predict_indexed`, and optionally
`_score_user`, `_similar_scores`, `_score_new_user`, `_state`/`_set_state`); ids are mapped to
positions here, once, so every engine answers the same questions the same way.
"""

from __future__ import annotations

import inspect
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.data.matrix import IdIndex, build_matrix
from movierec.core.data.tables import check_ratings
from movierec.core.errors import (
    DataError,
    NotFittedError,
    UnknownMovieError,
    UnknownUserError,
    UnsupportedError,
)

FORMAT_VERSION = 1

#: how `explain` texts name a movie: '{movie:123}'; `render_reason` swaps in the title
_MOVIE_REFERENCE = re.compile(r"\{movie:(-?\d+)\}")


def movie_reference(movie: int) -> str:
    """The placeholder an explanation uses for a movie id (titles live outside the engine)."""
    return f"{{movie:{int(movie)}}}"


def render_reason(text: str | None, title_of: Callable[[int], str]) -> str | None:
    """Replace every '{movie:ID}' in an explanation with `title_of(ID)`, e.g. Dataset.title_of."""
    if text is None:
        return None
    return _MOVIE_REFERENCE.sub(lambda match: title_of(int(match.group(1))), text)


def similar_reason_text(reason: Mapping[str, Any] | None) -> str | None:
    """'similar to {movie:ID}, which you rated R' from a {movie, rating} reason, or None."""
    if reason is None:
        return None
    return f"similar to {movie_reference(reason['movie'])}, which you rated {reason['rating']:g}"


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Positions of the k highest scores, best first; `exclude` positions and NaNs never appear."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    scores[np.isnan(scores)] = -np.inf
    if exclude is not None and len(exclude):
        scores[exclude] = -np.inf
    allowed = int((scores > -np.inf).sum())
    k = min(k, allowed)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k < len(scores):
        # argpartition picks arbitrary members of a tie at the cut: take the lowest positions
        threshold = scores[np.argpartition(-scores, k - 1)[k - 1]]
        above = np.flatnonzero(scores > threshold)
        tied = np.flatnonzero(scores == threshold)[: k - len(above)]
        part = np.concatenate([above, tied])
    else:
        part = np.flatnonzero(scores > -np.inf)
    # stable order: score descending, then position ascending
    return part[np.lexsort((part, -scores[part]))]


class Recommender(ABC):
    """Base class of every movierec engine."""

    #: registry name, set by the registry
    name: ClassVar[str] = ""
    #: the engine predicts ratings on the data's scale (RMSE/MAE make sense)
    predicts_ratings: ClassVar[bool] = True
    #: the engine has item representations, so `similar_movies` works
    has_similar_movies: ClassVar[bool] = False
    #: `recommend_for_ratings` works for a user unseen at fit time
    supports_fold_in: ClassVar[bool] = False
    #: the engine reads movie overviews (pass `movies` to fit)
    uses_overviews: ClassVar[bool] = False

    # ----------------------------------------------------------------- parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, as scikit-learn's `get_params`."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # ----------------------------------------------------------------- fitting
    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> Self:
        """Learn from a ratings table (user, movie, rating[, date]); `movies` adds overviews."""
        ratings = check_ratings(ratings)
        if len(ratings) == 0:
            raise DataError("cannot fit on an empty ratings table")
        self.users_ = IdIndex.from_values(ratings["user"].to_numpy())
        self.movies_ = IdIndex.from_values(ratings["movie"].to_numpy())
        self.seen_ = build_matrix(ratings, self.users_, self.movies_).matrix
        self.global_mean_ = float(ratings["rating"].mean())
        self.rating_range_ = (float(ratings["rating"].min()), float(ratings["rating"].max()))
        self._fit(ratings, movies)
        return self

    @abstractmethod
    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        """Learn the engine's state; `self.users_`, `self.movies_`, `self.seen_` are set."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "users_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(ratings) first")

    # ----------------------------------------------------------------- questions
    def predict(self, users: Any, movies: Any) -> np.ndarray:
        """Predicted ratings for pairs (users[i], movies[i]); unknown ids get a fallback estimate."""
        self._check_fitted()
        if not self.predicts_ratings:
            raise UnsupportedError(f"{self.name or type(self).__name__} ranks movies but does not predict ratings")
        users = np.atleast_1d(np.asarray(users))
        movies = np.atleast_1d(np.asarray(movies))
        if users.shape != movies.shape:
            raise ValueError(f"users and movies must have the same length ({len(users)} != {len(movies)})")
        scores = self._predict_indexed(self.users_.index_of(users), self.movies_.index_of(movies))
        return np.asarray(scores, dtype=np.float32).reshape(-1)

    @abstractmethod
    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        """Scores for index pairs; -1 marks an id unseen at fit time (fall back, never fail)."""

    def _score_user(self, user_idx: int) -> np.ndarray:
        """Scores of every movie for one known user (override with a faster batched form)."""
        n = len(self.movies_)
        return self._predict_indexed(np.full(n, user_idx), np.arange(n))

    def _known_user(self, user: int) -> int:
        """The row of a user seen at fit time; UnknownUserError otherwise."""
        self._check_fitted()
        index = self.users_.position(int(user))
        if index < 0:
            raise UnknownUserError(f"unknown user {user}: not in the training data")
        return index

    def recommend(self, user: int, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """Top-k movies for a known user, best first: columns movie, score."""
        index = self._known_user(user)
        scores = self._score_user(index)
        exclude = self.seen_[index].indices if exclude_seen else None
        best = top_k(scores, check_k(k), exclude)
        return self._frame(best, np.asarray(scores)[best])

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        """Scores of every movie for several known users, one row each (override with a matrix form)."""
        return np.vstack([np.asarray(self._score_user(int(i)), dtype=np.float64) for i in user_idx])

    def recommend_many(
        self, users: Any, k: int = 10, exclude_seen: bool = True, batch_size: int = 256
    ) -> dict[int, np.ndarray]:
        """Top-k movie ids for many users at once: {user: ids best first}; unknown users omitted.

        Users are scored `batch_size` at a time through `_score_users`, so engines with factor
        matrices answer a batch with one matrix product.
        """
        self._check_fitted()
        k = check_k(k)
        users = np.atleast_1d(np.asarray(users, dtype=np.int64))
        positions = self.users_.index_of(users)
        known = positions >= 0
        users, positions = users[known], positions[known]
        result: dict[int, np.ndarray] = {}
        for start in range(0, len(users), max(int(batch_size), 1)):
            rows = positions[start : start + batch_size]
            scores = np.asarray(self._score_users(rows), dtype=np.float64)
            for user, row, row_scores in zip(users[start : start + batch_size].tolist(), rows, scores):
                exclude = self.seen_[row].indices if exclude_seen else None
                result[int(user)] = self.movies_.ids[top_k(row_scores, k, exclude)]
        return result

    def similar_movies(self, movie: int, k: int = 10) -> pd.DataFrame:
        """The k movies most similar to `movie`, best first: columns movie, score."""
        self._check_fitted()
        if not self.has_similar_movies:
            raise UnsupportedError(f"{self.name or type(self).__name__} has no movie representations")
        k = check_k(k)
        index = self._movie_position(movie)
        scores = np.asarray(self._similar_scores_top(index, k), dtype=np.float64)
        best = top_k(scores, k, np.array([index]))
        return self._frame(best, scores[best], ids=self._similar_ids())

    def _movie_position(self, movie: int) -> int:
        index = self._similar_ids_index().position(int(movie))
        if index < 0:
            raise UnknownMovieError(f"unknown movie {movie}: the engine has no representation of it")
        return index

    def _similar_ids(self) -> np.ndarray:
        """The ids that `_similar_scores` positions refer to (content engines may know more movies)."""
        return self.movies_.ids

    def _similar_ids_index(self) -> IdIndex:
        return self.movies_

    def _similar_scores_top(self, movie_idx: int, k: int) -> np.ndarray:
        """Scores good enough to pick the top k (NaN elsewhere); defaults to the full row."""
        return self._similar_scores(movie_idx)

    def _similar_scores(self, movie_idx: int) -> np.ndarray:
        raise UnsupportedError(f"{type(self).__name__} has no movie representations")

    def recommend_for_ratings(
        self, ratings: Mapping[int, float], k: int = 10, exclude_rated: bool = True
    ) -> pd.DataFrame:
        """Top-k movies for a new user given as {movie: rating}, without refitting (fold-in)."""
        self._check_fitted()
        if not self.supports_fold_in:
            raise UnsupportedError(f"{self.name or type(self).__name__} cannot fold in a new user")
        if not ratings:
            raise DataError("rate at least one movie to get recommendations")
        ids = np.fromiter((int(m) for m in ratings), dtype=np.int64, count=len(ratings))
        values = np.fromiter((float(v) for v in ratings.values()), dtype=np.float64, count=len(ratings))
        low, high = self.rating_range_
        bad = (values < low) | (values > high) | np.isnan(values)
        if bad.any():
            raise DataError(
                f"rating {values[bad][0]:g} for movie {ids[bad][0]} is outside {low:g}-{high:g}"
            )
        positions = self.movies_.index_of(ids)
        known = positions >= 0
        if not known.any():
            raise UnknownMovieError("none of the rated movies is known to the engine")
        scores = np.asarray(self._score_new_user(positions[known], values[known]), dtype=np.float64)
        exclude = positions[known] if exclude_rated else None
        best = top_k(scores, check_k(k), exclude)
        return self._frame(best, scores[best])

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        raise UnsupportedError(f"{type(self).__name__} cannot fold in a new user")

    def explain(self, user: int, movies: Any) -> list[str | None]:
        """A one-line reason per recommended movie where the engine can give one.

        Movies named in a reason appear as '{movie:ID}' placeholders: pass the text and a
        title lookup to `render_reason` to show titles.
        """
        return [None] * len(np.atleast_1d(np.asarray(movies)))

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """The structured form of `explain`: one dict (or None) per movie, keys per engine."""
        return [None] * len(np.atleast_1d(np.asarray(movies)))

    def _frame(self, positions: np.ndarray, scores: np.ndarray, ids: np.ndarray | None = None) -> pd.DataFrame:
        ids = self.movies_.ids if ids is None else ids
        return pd.DataFrame(
            {"movie": ids[positions].astype(np.int64), "score": np.asarray(scores, dtype=np.float64)}
        )

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted engine to folder `path` (engine.json + arrays.npz, no pickle)."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {
            "users": self.users_.ids,
            "movies": self.movies_.ids,
            "seen_indptr": self.seen_.indptr,
            "seen_indices": self.seen_.indices,
            "seen_data": self.seen_.data,
        }
        for key, value in self._state().items():
            arrays[f"state_{key}"] = np.asarray(value)
        np.savez(folder / "arrays.npz", **arrays)
        meta = {
            "format": FORMAT_VERSION,
            "engine": self.name,
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "params": self.get_params(),
            "global_mean": self.global_mean_,
            "rating_range": list(self.rating_range_),
        }
        (folder / "engine.json").write_text(json.dumps(meta, indent=2, default=_json_default))
        self._save_extra(folder)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read an engine written by `save`; arrays are loaded with allow_pickle=False."""
        folder = Path(path)
        meta_path = folder / "engine.json"
        if not meta_path.exists():
            raise DataError(f"{folder}: not a saved movierec engine (no engine.json)")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise DataError(f"{meta_path}: unsupported format {meta.get('format')!r}")
        expected = f"{cls.__module__}:{cls.__qualname__}"
        if cls is not Recommender and meta.get("class") != expected:
            raise DataError(f"{meta_path}: holds {meta.get('class')}, not {expected}")
        engine = cls(**meta["params"])
        with np.load(folder / "arrays.npz", allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        engine.users_ = IdIndex(arrays["users"])
        engine.movies_ = IdIndex(arrays["movies"])
        engine.seen_ = sp.csr_matrix(
            (arrays["seen_data"], arrays["seen_indices"], arrays["seen_indptr"]),
            shape=(len(engine.users_), len(engine.movies_)),
        )
        engine.global_mean_ = float(meta["global_mean"])
        engine.rating_range_ = tuple(meta["rating_range"])
        engine._set_state({k[6:]: v for k, v in arrays.items() if k.startswith("state_")})
        engine._load_extra(folder)
        return engine

    def _state(self) -> dict[str, np.ndarray]:
        """Learned arrays to save (besides the id mappings and the seen matrix)."""
        return {}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what `_state` returned."""

    def _save_extra(self, folder: Path) -> None:
        """Write files that are not arrays (e.g. a `.keras` model)."""

    def _load_extra(self, folder: Path) -> None:
        """Read what `_save_extra` wrote."""


def check_k(k: int) -> int:
    """`k` as a positive int; ValueError naming the value otherwise."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"parameter value {value!r} cannot be saved as JSON")
