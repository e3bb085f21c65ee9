"""The one interface every engine offers (classic, deep or wrapped library).

A scikit-learn estimator (`BaseEstimator`: hyper-parameters are `__init__` arguments and nothing
else happens there, so `get_params`, `set_params`, the repr and `clone` are scikit-learn's; `fit`
returns self; learned state ends in an underscore), modelled on implicit's
`RecommenderBase` (`recommend`, `similar_items`, fold-in for unseen users).

An engine sets `name` and implements `_fit`, `_state` and `_set_state`; the rest is optional (the hooks):

    _fit(ratings, movies)              learn; users_, movies_, seen_, global_mean_ are set   (required)
    _predict_indexed(u_idx, m_idx)     rating predictions, unclipped; -1 = unknown id        (rating engines)
    _predict_dated(u_idx, m_idx, days) the same on given days (NaN: none given)  (engines with `uses_dates`)
    _score_users(u_idx)                ranking scores, one row of every movie per user      (default: _predict_indexed)
    _similar_scores(m_idx, k)          scores over `similar_index_` (NaN where not computed)
    _score_new_user(m_idx, ratings)    fold-in scores for a user unseen at fit time
    reasons(user, movies)              why each movie is recommended (dicts; `explain` renders them)
    _state() / _set_state(state)       learned arrays to save / restore; {} if none           (required)
    _save_extra(dir) / _load_extra(dir)  files that are not arrays (a `.keras` model)

Capabilities follow from the hooks an engine implements (`predicts_ratings`, `has_similar_movies`,
`supports_fold_in` are instance properties; override one where it depends on parameters).
Fitting starts from a blank engine: every attribute that is not a constructor argument is
dropped, so nothing a previous fit learned or cached survives (`_derived` caches included).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from movierec.core.data.matrix import IdIndex, build_matrix
from movierec.core.data.tables import check_ratings
from movierec.core.errors import (
    DataError,
    ModelFileError,
    NotFittedError,
    UnknownMovieError,
    UnknownUserError,
    UnsupportedError,
)

_T = TypeVar("_T")

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


def reason_text(reason: Mapping[str, Any] | None) -> str | None:
    """One line from a structured reason: its 'text', or the rated movies it names.

    A reason is {'text': ...}, {'movie': ID, 'rating': R} or {'because': [{'movie', 'rating'}, ...]}.
    """
    if reason is None:
        return None
    if "text" in reason:
        return str(reason["text"])
    rated = list(reason.get("because") or [reason])
    if not rated:
        return None
    if len(rated) == 1:
        return f"similar to {movie_reference(rated[0]['movie'])}, which you rated {rated[0]['rating']:g}"
    named = [f"{movie_reference(r['movie'])} ({r['rating']:g})" for r in rated]
    return "similar to " + ", ".join(named[:-1]) + " and " + named[-1] + ", which you rated"


#: kept for callers of the earlier name
similar_reason_text = reason_text


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


def rating_days(dates: Any, n: int) -> np.ndarray:
    """Day numbers (days since 1970-01-01, float) of `n` dates; NaN where a date is NaT or missing."""
    values = np.asarray(dates)
    if values.shape != (n,):
        raise ValueError(f"dates must have one entry per pair ({values.size} dates for {n} pairs)")
    try:
        seconds = values.astype("datetime64[s]")
    except (TypeError, ValueError) as error:
        raise DataError(f"dates must be dates (datetime64 or 'YYYY-MM-DD' text): {error}") from None
    days = np.floor(seconds.astype(np.int64) / 86_400.0)
    return np.where(np.isnat(seconds), np.nan, days)


def check_k(k: int) -> int:
    """`k` as a positive int; ValueError naming the value otherwise."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def check_min_ratings(min_ratings: int) -> int:
    """`min_ratings` as a non-negative int; ValueError naming the value otherwise."""
    if not isinstance(min_ratings, (int, np.integer)) or isinstance(min_ratings, bool) or min_ratings < 0:
        raise ValueError(f"min_ratings must be a non-negative integer, got {min_ratings!r}")
    return int(min_ratings)


def _overrides(engine: object, hook: str) -> bool:
    return getattr(type(engine), hook) is not getattr(Recommender, hook)


class Recommender(BaseEstimator):
    """Base class of every movierec engine."""

    #: the registry name; every concrete engine sets it in its class body
    name: ClassVar[str] = ""
    #: the engine reads movie text (pass `movies` to fit)
    uses_overviews: ClassVar[bool] = False
    #: predictions depend on the rating's date: `predict` passes `dates` on to `_predict_dated`
    uses_dates: ClassVar[bool] = False
    #: constructor arguments that are run-time hooks, not hyper-parameters (never saved or cloned)
    _runtime_params: ClassVar[tuple[str, ...]] = ()

    # ----------------------------------------------------------------- capabilities
    @property
    def predicts_ratings(self) -> bool:
        """The engine predicts ratings on the data's scale (RMSE/MAE make sense)."""
        return _overrides(self, "_predict_indexed")

    @property
    def has_similar_movies(self) -> bool:
        """The engine has movie representations, so `similar_movies` works."""
        return _overrides(self, "_similar_scores")

    @property
    def supports_fold_in(self) -> bool:
        """`recommend_for_ratings` works for a user unseen at fit time."""
        return _overrides(self, "_score_new_user")

    # ----------------------------------------------------------------- parameters
    # get_params, set_params, __repr__ and clone come from scikit-learn's BaseEstimator
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's hyper-parameters (scikit-learn's), run-time hooks such as `progress` left out."""
        params = super().get_params(deep=deep)
        return {key: value for key, value in params.items() if key.partition("__")[0] not in self._runtime_params}

    # ----------------------------------------------------------------- fitting
    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> Self:
        """Learn from a ratings table (user, movie, rating[, date]); `movies` adds overviews."""
        ratings = check_ratings(ratings)
        if len(ratings) == 0:
            raise DataError("cannot fit on an empty ratings table")
        self._forget()
        self.users_ = IdIndex.from_values(ratings["user"].to_numpy())
        self.movies_ = IdIndex.from_values(ratings["movie"].to_numpy())
        self.similar_index_ = self.movies_
        self.seen_ = build_matrix(ratings, self.users_, self.movies_).matrix
        self.global_mean_ = float(ratings["rating"].to_numpy(np.float64).mean())
        self.rating_range_ = (float(ratings["rating"].min()), float(ratings["rating"].max()))
        self._fit(ratings, movies)
        return self

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        """Learn the engine's state; `users_`, `movies_`, `seen_`, `global_mean_` are set."""
        raise NotImplementedError(f"{type(self).__name__} must implement _fit")

    def _forget(self) -> None:
        """Drop everything but the hyper-parameters: what a fit learned and every derived cache."""
        keep = set(self._get_param_names())
        for attribute in [key for key in vars(self) if key not in keep]:
            delattr(self, attribute)

    def _derived(self, key: str, compute: Callable[[], _T]) -> _T:
        """A value computed once from the fitted state and dropped by the next fit or load."""
        cache = self.__dict__.setdefault("_derived_cache", {})
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def _check_fitted(self) -> None:
        if not hasattr(self, "users_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(ratings) first")

    @property
    def _label(self) -> str:
        return self.name or type(self).__name__

    # ----------------------------------------------------------------- questions
    def predict(self, users: Any, movies: Any, dates: Any = None) -> np.ndarray:
        """Predicted ratings for pairs (users[i], movies[i]), clipped to the rating scale; unknown ids get a fallback.

        `dates` (one per pair: datetime64 or 'YYYY-MM-DD') are the days the ratings are given;
        engines with `uses_dates` read them and use the user's latest training date where a date is
        missing (no `dates`, or NaT); the other engines ignore them.
        """
        self._check_fitted()
        if not self.predicts_ratings:
            raise UnsupportedError(f"{self._label} ranks movies but does not predict ratings")
        users = np.atleast_1d(np.asarray(users))
        movies = np.atleast_1d(np.asarray(movies))
        if users.shape != movies.shape:
            raise ValueError(f"users and movies must have the same length ({len(users)} != {len(movies)})")
        user_idx, movie_idx = self.users_.index_of(users), self.movies_.index_of(movies)
        if self.uses_dates:
            days = None if dates is None else rating_days(dates, len(users))
            scores = self._predict_dated(user_idx, movie_idx, days)
        else:
            scores = self._predict_indexed(user_idx, movie_idx)
        return self._clip(np.asarray(scores, dtype=np.float64).reshape(-1)).astype(np.float32)

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        """Unclipped rating predictions for index pairs; -1 marks an id unseen at fit time (fall back)."""
        raise UnsupportedError(f"{self._label} ranks movies but does not predict ratings")

    def _predict_dated(self, user_idx: np.ndarray, movie_idx: np.ndarray, days: np.ndarray | None) -> np.ndarray:
        """`_predict_indexed` on given days (see `rating_days`; None or NaN: the user's latest training day)."""
        return self._predict_indexed(user_idx, movie_idx)

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        """Ranking scores of every movie for known users, one row each (unclipped)."""
        n = len(self.movies_)
        users = np.repeat(np.asarray(user_idx, dtype=np.int64), n)
        movies = np.tile(np.arange(n), len(user_idx))
        return np.asarray(self._predict_indexed(users, movies), dtype=np.float64).reshape(len(user_idx), n)

    def _clip(self, scores: np.ndarray) -> np.ndarray:
        low, high = self.rating_range_
        return np.clip(scores, low, high)

    def _known_user(self, user: int) -> int:
        """The row of a user seen at fit time; UnknownUserError otherwise."""
        self._check_fitted()
        index = self.users_.position(int(user))
        if index < 0:
            raise UnknownUserError(f"unknown user {user}: not in the training data")
        return index

    def ratings_per_movie(self) -> np.ndarray:
        """Training ratings of each movie, in `movies_` order."""
        self._check_fitted()
        return self._derived("ratings_per_movie", lambda: np.bincount(self.seen_.indices, minlength=len(self.movies_)))

    def _too_rare(self, min_ratings: int, ids: np.ndarray | None = None) -> np.ndarray:
        """Positions (in `ids`, default `movies_.ids`) of movies with fewer than `min_ratings` training ratings."""
        if check_min_ratings(min_ratings) == 0:
            return np.empty(0, dtype=np.int64)
        counts = self.ratings_per_movie()
        if ids is None:
            return np.flatnonzero(counts < min_ratings)
        positions = self.movies_.index_of(ids)
        per_id = np.where(positions >= 0, counts[np.maximum(positions, 0)], 0)
        return np.flatnonzero(per_id < min_ratings)

    def _exclusions(self, *parts: np.ndarray | None) -> np.ndarray:
        return np.concatenate([np.asarray(p, dtype=np.int64) for p in parts if p is not None] or [np.empty(0, np.int64)])

    def recommend(self, user: int, k: int = 10, exclude_seen: bool = True, min_ratings: int = 0) -> pd.DataFrame:
        """Top-k movies for a known user, best first: movie, score (and predicted_rating for rating engines).

        `score` is the engine's ranking value, unclipped; movies with fewer than `min_ratings`
        training ratings are not offered.
        """
        index = self._known_user(user)
        scores = np.asarray(self._score_users(np.array([index]))[0], dtype=np.float64)
        seen = self.seen_[index].indices if exclude_seen else None
        best = top_k(scores, check_k(k), self._exclusions(seen, self._too_rare(min_ratings)))
        return self._frame(best, scores[best])

    def recommend_many(
        self, users: Any, k: int = 10, exclude_seen: bool = True, batch_size: int = 256, min_ratings: int = 0
    ) -> dict[int, np.ndarray]:
        """Top-k movie ids for many users at once: {user: ids best first}; unknown users omitted.

        Users are scored `batch_size` at a time through `_score_users`, so engines with factor
        matrices answer a batch with one matrix product.
        """
        self._check_fitted()
        k = check_k(k)
        rare = self._too_rare(min_ratings)
        users = np.atleast_1d(np.asarray(users, dtype=np.int64))
        positions = self.users_.index_of(users)
        known = positions >= 0
        users, positions = users[known], positions[known]
        result: dict[int, np.ndarray] = {}
        for start in range(0, len(users), max(int(batch_size), 1)):
            rows = positions[start : start + batch_size]
            scores = np.asarray(self._score_users(rows), dtype=np.float64)
            for user, row, row_scores in zip(users[start : start + batch_size].tolist(), rows, scores):
                seen = self.seen_[row].indices if exclude_seen else None
                result[int(user)] = self.movies_.ids[top_k(row_scores, k, self._exclusions(seen, rare))]
        return result

    def similar_movies(self, movie: int, k: int = 10, min_ratings: int = 0) -> pd.DataFrame:
        """The k movies most similar to `movie`, best first: movie, score; rarer candidates than `min_ratings` left out."""
        self._check_fitted()
        if not self.has_similar_movies:
            raise UnsupportedError(f"{self._label} has no movie representations")
        k = check_k(k)
        index = self.similar_index_.position(int(movie))
        if index < 0:
            raise UnknownMovieError(f"unknown movie {movie}: {self._label} has no representation of it")
        rare = self._too_rare(min_ratings, self.similar_index_.ids)
        # ask for enough that the filter still leaves k
        scores = np.asarray(self._similar_scores(index, k + 1 + len(rare)), dtype=np.float64)
        best = top_k(scores, k, self._exclusions(np.array([index]), rare))
        return pd.DataFrame({"movie": self.similar_index_.ids[best].astype(np.int64), "score": scores[best]})

    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        """Similarity of movie `movie_idx` to every movie of `similar_index_`; `k` bounds what must be exact."""
        raise UnsupportedError(f"{self._label} has no movie representations")

    def recommend_for_ratings(
        self, ratings: Mapping[int, float], k: int = 10, exclude_rated: bool = True, min_ratings: int = 0
    ) -> pd.DataFrame:
        """Top-k movies for a new user given as {movie: rating}, without refitting (fold-in)."""
        self._check_fitted()
        if not self.supports_fold_in:
            raise UnsupportedError(f"{self._label} cannot fold in a new user")
        if not ratings:
            raise DataError("rate at least one movie to get recommendations")
        ids = np.fromiter((int(m) for m in ratings), dtype=np.int64, count=len(ratings))
        values = np.fromiter((float(v) for v in ratings.values()), dtype=np.float64, count=len(ratings))
        low, high = self.rating_range_
        bad = (values < low) | (values > high) | np.isnan(values)
        if bad.any():
            raise DataError(f"rating {values[bad][0]:g} for movie {ids[bad][0]} is outside {low:g}-{high:g}")
        positions = self.movies_.index_of(ids)
        known = positions >= 0
        if not known.any():
            raise UnknownMovieError("none of the rated movies is known to the engine")
        scores = np.asarray(self._score_new_user(positions[known], values[known]), dtype=np.float64)
        rated = positions[known] if exclude_rated else None
        best = top_k(scores, check_k(k), self._exclusions(rated, self._too_rare(min_ratings)))
        return self._frame(best, scores[best])

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Scores of every movie for a user given by rated positions and ratings."""
        raise UnsupportedError(f"{self._label} cannot fold in a new user")

    def explain(self, user: int, movies: Any) -> list[str | None]:
        """A one-line reason per recommended movie where the engine can give one.

        Movies named in a reason appear as '{movie:ID}' placeholders: pass the text and a
        title lookup to `render_reason` to show titles.
        """
        return [reason_text(reason) for reason in self.reasons(user, movies)]

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """The structured form of `explain`: one dict (or None) per movie (see `reason_text`)."""
        return [None] * len(np.atleast_1d(np.asarray(movies)))

    def _frame(self, positions: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame(
            {"movie": self.movies_.ids[positions].astype(np.int64), "score": np.asarray(scores, dtype=np.float64)}
        )
        if self.predicts_ratings:
            frame["predicted_rating"] = self._clip(frame["score"].to_numpy())
        return frame

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted engine to folder `path` (engine.json + arrays.npz, no pickle)."""
        from movierec.core.models.persistence import write_engine

        self._check_fitted()
        return write_engine(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read an engine of this class (or a subclass) written by `save`; every file is checked (ModelFileError)."""
        from movierec.core.models.persistence import read_engine

        return read_engine(Path(path), cls)  # type: ignore[return-value]

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], folder: Path) -> None:
        """Set the fitted state from checked arrays (used by `load`)."""
        self._forget()
        self.users_ = IdIndex(arrays["users"])
        self.movies_ = IdIndex(arrays["movies"])
        self.similar_index_ = self.movies_
        import scipy.sparse as sp

        self.seen_ = sp.csr_matrix(
            (arrays["seen_data"], arrays["seen_indices"], arrays["seen_indptr"]),
            shape=(len(self.users_), len(self.movies_)),
        )
        self.global_mean_ = float(meta["global_mean"])
        self.rating_range_ = (float(meta["rating_range"][0]), float(meta["rating_range"][1]))
        self._set_state({k[6:]: v for k, v in arrays.items() if k.startswith("state_")})
        self._load_extra(folder)

    def _state(self) -> dict[str, np.ndarray]:
        """Learned arrays to save (besides the id mappings and the seen matrix); `{}` if there are none."""
        # no silent default: an engine that forgot would save without error and fail only on load
        raise NotImplementedError(
            f"{type(self).__name__} does not say what it saves: implement _state() and _set_state() "
            f"(return {{}} from _state if it learns nothing beyond the ids and the seen matrix)"
        )

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what `_state` returned (a missing key raises KeyError, reported as a damaged file)."""
        raise NotImplementedError(f"{type(self).__name__} does not say how it restores its state: implement _set_state()")

    def _save_extra(self, folder: Path) -> None:
        """Write files that are not arrays (e.g. a `.keras` model)."""

    def _load_extra(self, folder: Path) -> None:
        """Read what `_save_extra` wrote."""


__all__ = [
    "ModelFileError",
    "Recommender",
    "check_k",
    "check_min_ratings",
    "movie_reference",
    "rating_days",
    "reason_text",
    "render_reason",
    "top_k",
]
