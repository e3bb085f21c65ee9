"""`blend`: a linear blend of member engines, the Netflix Prize lesson.

Fitting holds out `holdout_slices` seeded, disjoint slices of the training ratings, each
`holdout_fraction` of them; for each slice every member is fitted on the other ratings and
predicts the slice, so each held-out rating gets the prediction of members that never saw it.
On those out-of-slice predictions the blend learns rating ~ intercept + sum(weight_m *
prediction_m) by ridge regression (`reg`; the intercept is not penalized). With `support`
(default: user, movie and day; see `ensemble.support`), the weights vary with how much the data
says about the pair, as in the Netflix Prize blends: for each support column s (log(1 + the
user's, the movie's, or the user's on the rating's day number of training ratings), and with
`support_degree` 2 also its square, standardized on the held-out ratings) the ridge also sees
s * prediction_m and s, so member m's weight at a pair is w_m + sum_s v_sm * s. The counts are
those of the ratings the members were fitted on (the rest of the training ratings while
learning, all of them afterwards; without a date, the user's latest training day counts; a
folded-in user's ratings are one sitting). `support=()` is the plain blend. The members are then
refitted on all the ratings, so the blend answers with members that saw everything. Members are
registry names (`members`); their own parameters travel in `member_params` ({name: {param:
value}}), which is plain JSON and so survives `get_params`, `clone` and `save`.

A saved blend is its arrays (weights, intercept, the (user, day) rating counts) plus one
subfolder per member written by the member's own `save`, and `members.json` (covered by the
blend's manifest checksums): each member's folder, parameters and the SHA-256 of its
`engine.json`, which in turn covers the member's arrays. Loading takes members only from the
blend's own `members/` folder, under registry names, with the parameters the blend asks for,
and refuses a member swapped for another save. A folder saved before `members.json` existed
loads when its members' parameters fit; one saved before support features loads as the plain
blend it was, one saved before the day support as the user and movie support blend it was. The
fit diagnostics `holdout_rmse_` and `member_fit_seconds_` are not saved.

Default members, measured on ml-latest-small kfold:5 seed 42 (benchmarks/bench_time.py --part
blend; docs/benchmarks/time.md): baseline + user_knn + item_knn + keras_mf + time_baseline +
time_item_knn + keras_timemf, user, movie and day support with their squares, 2 slices of 20 %
held out, reach RMSE 0.8187 (5 slices: 0.8181 at about twice the fit time); the earlier default
(the first five members, user and movie support, one 20 % slice) 0.8211. These were chosen on
those folds; on seed 7 the two score 0.8199 and 0.8213. Holding both the static
and the time-aware baseline lets the weights add their difference, the time effects, to the
rest; more held-out slices give the ridge enough ratings for the squared and day support
columns, which one slice cannot confirm.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import root_mean_squared_error

from movierec.core.errors import DataError, ModelFileError
from movierec.core.models.base import Recommender
from movierec.core.models.classic.time_baseline import training_days
from movierec.core.models.ensemble.support import SUPPORTS, SupportCounts, counts_of
from movierec.core.models.params import renamed_params
from movierec.core.models.registry import register
from movierec.core.models.vectors import ridge

DEFAULT_MEMBERS = ("baseline", "user_knn", "item_knn", "keras_mf", "time_baseline", "time_item_knn", "keras_timemf")
DEFAULT_SUPPORT = ("user", "movie", "day")
MEMBERS_FILE = "members.json"


@register(family="ensemble", summary="ridge blend of member engines' predictions, learned on held-out ratings")
class Blend(Recommender):
    """Predicts clip(intercept + sum(weight_m * member_m's prediction)) to the rating scale."""

    name = "blend"

    @renamed_params(alpha="reg", seed="random_state")
    def __init__(
        self,
        members: Sequence[str] = DEFAULT_MEMBERS,
        member_params: Mapping[str, Mapping[str, Any]] | None = None,
        holdout_fraction: float = 0.2,
        reg: float = 1.0,
        random_state: int = 42,
        support: Sequence[str] = DEFAULT_SUPPORT,
        holdout_slices: int = 2,
        support_degree: int = 2,
    ) -> None:
        self.members = members
        self.member_params = member_params
        self.holdout_fraction = holdout_fraction
        self.reg = reg
        self.random_state = random_state
        self.support = support
        self.holdout_slices = holdout_slices
        self.support_degree = support_degree

    # ----------------------------------------------------------------- members
    def _member_names(self) -> list[str]:
        """The member names, checked: a non-empty list of distinct engine names."""
        names = [self.members] if isinstance(self.members, str) else list(self.members)
        if not names:
            raise DataError("blend needs at least one member engine")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise DataError(f"blend members must be distinct, got {', '.join(repeated)} more than once")
        if "blend" in names:
            raise DataError("a blend cannot be a member of itself")
        extra = sorted(set(self.member_params or {}) - set(names))
        if extra:
            raise DataError(f"member_params names {', '.join(extra)}, which is not among the members {names}")
        return names

    def _new_members(self) -> list[Recommender]:
        """Fresh, unfitted member engines; each must predict ratings."""
        from movierec.core.models.registry import create_engine

        engines = []
        for name in self._member_names():
            engine = create_engine(name, **dict((self.member_params or {}).get(name, {})))
            if not engine.predicts_ratings:
                raise DataError(f"blend member {name!r} ranks movies but does not predict ratings")
            engines.append(engine)
        return engines

    @property
    def supports_fold_in(self) -> bool:  # type: ignore[override]
        """A new user can be folded in when every member can."""
        engines = getattr(self, "members_", None) or self._new_members()
        return all(engine.supports_fold_in for engine in engines)

    @property
    def uses_dates(self) -> bool:  # type: ignore[override]
        """The blend reads rating dates for its day support or when a member does (it gets them in `predict`)."""
        engines = getattr(self, "members_", None) or self._new_members()
        return "day" in self._support_names() or any(engine.uses_dates for engine in engines)

    @property
    def uses_overviews(self) -> bool:  # type: ignore[override]
        """The blend reads movie text when one of its members does (pass `movies` to fit)."""
        engines = getattr(self, "members_", None) or self._new_members()
        return any(engine.uses_overviews for engine in engines)

    def _support_names(self) -> list[str]:
        """The support features, checked: distinct names among SUPPORTS."""
        names = [self.support] if isinstance(self.support, str) else list(self.support or ())
        unknown = [n for n in names if n not in SUPPORTS]
        if unknown:
            raise DataError(f"blend support must be among {', '.join(SUPPORTS)}, got {', '.join(map(repr, unknown))}")
        if len(set(names)) != len(names):
            raise DataError(f"blend support names must be distinct, got {names}")
        return names

    def _degree(self) -> int:
        """support_degree, checked: 1 (each feature) or more (its powers too)."""
        degree = self.support_degree
        if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1:
            raise DataError(f"support_degree must be a positive integer, got {degree!r}")
        return int(degree)

    # ----------------------------------------------------------------- fitting
    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        supports, degree = self._support_names(), self._degree()
        slices = self._holdout_slices(len(ratings))
        user_idx = self.users_.index_of(ratings["user"].to_numpy())
        movie_idx = self.movies_.index_of(ratings["movie"].to_numpy())
        days = training_days(ratings)
        columns, raw, targets = [], [], []
        holdout_seconds = np.zeros(len(self._member_names()))
        for held in slices:
            rest = np.ones(len(ratings), dtype=bool)
            rest[held] = False
            holdout, train = ratings.iloc[held], ratings.iloc[np.flatnonzero(rest)]
            dates = holdout["date"].to_numpy() if "date" in holdout.columns else None
            predictions = []
            for m, engine in enumerate(self._new_members()):
                start = time.perf_counter()
                predictions.append(engine.fit(train, movies).predict(holdout["user"].to_numpy(),
                                                                     holdout["movie"].to_numpy(), dates))
                holdout_seconds[m] += time.perf_counter() - start
            columns.append(np.column_stack(predictions).astype(np.float64))
            # support counts as the members saw them: the ratings they were fitted on, not the held-out ones
            seen = SupportCounts.of(user_idx[rest], movie_idx[rest], days[rest], len(self.users_), len(self.movies_))
            held_support = seen.features(supports, degree, user_idx[held], movie_idx[held], days[held])
            raw.append(np.column_stack(held_support) if held_support else np.zeros((len(held), 0)))
            targets.append(holdout["rating"].to_numpy(dtype=np.float64))
        predictions, support, target = np.vstack(columns), np.vstack(raw), np.concatenate(targets)
        self.support_center_ = support.mean(axis=0)
        self.support_scale_ = np.maximum(support.std(axis=0), 1e-9)
        features = _design(predictions, (support - self.support_center_) / self.support_scale_)
        # the intercept is free: only the member weights (and their support terms) are shrunk
        coef, intercept = ridge(features, target, float(self.reg), intercept_penalty=0.0)
        self._split_coef(coef)
        self.intercept_ = intercept
        self.counts_ = SupportCounts.of(user_idx, movie_idx, days, len(self.users_), len(self.movies_))
        self.holdout_rmse_ = {
            **{name: root_mean_squared_error(target, predictions[:, m]) for m, name in enumerate(self._member_names())},
            "blend": root_mean_squared_error(target, np.clip(features @ coef + intercept, *self.rating_range_)),
        }
        self.members_ = []
        fit_seconds = {}
        for name, engine in zip(self._member_names(), self._new_members()):
            start = time.perf_counter()
            self.members_.append(engine.fit(ratings, movies))
            fit_seconds[name] = time.perf_counter() - start
        # member fit seconds: summed over the held-out slices' fits, then on all the ratings
        self.member_fit_seconds_ = {name: (float(held), full) for name, held, full
                                    in zip(self._member_names(), holdout_seconds, fit_seconds.values())}
        self._check_member_indexes()

    def _holdout_slices(self, n_ratings: int) -> list[np.ndarray]:
        """The seeded, disjoint held-out slices (sorted rating positions), each `holdout_fraction` of the ratings."""
        if not 0 < float(self.holdout_fraction) < 1:
            raise DataError(f"holdout_fraction must be between 0 and 1, got {self.holdout_fraction!r}")
        if float(self.reg) < 0:
            raise DataError(f"reg must be >= 0, got {self.reg!r}")
        count = self.holdout_slices
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise DataError(f"holdout_slices must be a positive integer, got {count!r}")
        order = np.random.default_rng(self.random_state).permutation(n_ratings)
        n_holdout = int(round(n_ratings * float(self.holdout_fraction)))
        if n_holdout < 2 or n_holdout >= n_ratings:
            raise DataError(
                f"holdout_fraction={self.holdout_fraction} of {n_ratings} ratings leaves "
                f"{n_holdout} to learn the weights from; use more ratings or another fraction"
            )
        if count * float(self.holdout_fraction) > 1 + 1e-9:
            raise DataError(f"holdout_slices={count} slices of holdout_fraction={self.holdout_fraction} are more "
                            f"than all the ratings; at most {int(1 / float(self.holdout_fraction) + 1e-9)} fit")
        # slices of the rounded size; the last one may be a few ratings short where they add up to all
        return [np.sort(order[k * n_holdout:min((k + 1) * n_holdout, n_ratings)]) for k in range(int(count))]

    def _split_coef(self, coef: np.ndarray) -> None:
        """coef_: one weight per member; support_coef_: per support column, its term per member then its own."""
        n = len(self._member_names())
        self.coef_ = np.asarray(coef[:n], dtype=np.float64)
        self.support_coef_ = np.asarray(coef[n:], dtype=np.float64).reshape(-1, n + 1)

    def _check_member_indexes(self) -> None:
        """Members fitted on the same ratings share the blend's user and movie positions."""
        for name, engine in zip(self._member_names(), self.members_):
            if not (np.array_equal(engine.users_.ids, self.users_.ids)
                    and np.array_equal(engine.movies_.ids, self.movies_.ids)):
                raise ModelFileError(f"blend member {name!r} knows other users or movies than the blend")

    # ----------------------------------------------------------------- questions
    def _support(self, user_idx: np.ndarray | None, movie_idx: np.ndarray | None, days: np.ndarray | None = None,
                 user_count: float | None = None) -> list[np.ndarray]:
        """The standardized support columns; arrays broadcast against the member scores.

        `user_idx`/`movie_idx` index the training users and movies (-1: unseen, no ratings);
        `days` are the pairs' days (None or NaN: the user's latest training day); `user_count`
        stands for a user outside the training data (a folded-in one, whose ratings are one sitting).
        """
        raw = self.counts_.features(self._support_names(), self._degree(), user_idx, movie_idx, days, user_count)
        return [(column - center) / scale
                for column, center, scale in zip(raw, self.support_center_, self.support_scale_)]

    def _blend(self, member_scores: list[np.ndarray], support: list[np.ndarray] | None = None) -> np.ndarray:
        """intercept + sum_m (w_m + sum_k s_k v_km) score_m + sum_k s_k v_k: weights that vary with support."""
        total = np.full(np.shape(member_scores[0]), self.intercept_, dtype=np.float64)
        for m, scores in enumerate(member_scores):
            weight = self.coef_[m]
            for s, terms in zip(support or [], self.support_coef_):
                weight = weight + terms[m] * s
            total += weight * np.asarray(scores, dtype=np.float64)
        for s, terms in zip(support or [], self.support_coef_):
            total += terms[-1] * s
        return total

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        """The blend of the members' unclipped predictions (`predict` clips to the scale)."""
        return self._predict_dated(user_idx, movie_idx, None)

    def _predict_dated(self, user_idx: np.ndarray, movie_idx: np.ndarray, days: np.ndarray | None) -> np.ndarray:
        """The same on given days: members with `uses_dates` and the day support read them, the others ignore them."""
        return self._blend([engine._predict_dated(user_idx, movie_idx, days) for engine in self.members_],
                           self._support(user_idx, movie_idx, days))

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        """Blended scores of every movie for a batch of users, unclipped so that ranking sees the true order."""
        every_movie = np.arange(len(self.movies_))
        support = self._support(np.asarray(user_idx)[:, None], every_movie[None, :])  # at each user's latest day
        return self._blend([engine._score_users(user_idx) for engine in self.members_], support)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        support = self._support(None, np.arange(len(self.movies_)), user_count=len(np.unique(movie_idx)))
        return self._blend([engine._score_new_user(movie_idx, ratings) for engine in self.members_], support)

    def member_weights(self) -> dict[str, float]:
        """The learned weight of each member at average support, plus 'intercept'."""
        self._check_fitted()
        return {**dict(zip(self._member_names(), map(float, self.coef_))), "intercept": float(self.intercept_)}

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """Per movie: the blended prediction, the intercept, each member's weight, prediction and term.

        `text` says which members agree with the blend ('item_knn and user_knn agree: about 4.3
        stars; baseline says 3.9'); weights, which may be negative, stay in the structured form.
        """
        self._known_user(user)
        movies = np.atleast_1d(np.asarray(movies))
        users = np.full(len(movies), int(user))
        # as `recommend` scores: every member and the day support at the user's latest training day
        predictions = [engine.predict(users, movies).astype(np.float64) for engine in self.members_]
        support = [np.broadcast_to(s, len(movies)) for s in
                   self._support(self.users_.index_of(users), self.movies_.index_of(movies))]
        blended = np.clip(self._blend(predictions, support), *self.rating_range_)
        # each member's weight at this (user, movie)'s support; the support's own terms join the intercept
        weights = [self.coef_[m] + sum(t[m] * s for t, s in zip(self.support_coef_, support))
                   for m in range(len(self.members_))]
        offset = self.intercept_ + sum(t[-1] * s for t, s in zip(self.support_coef_, support)) + np.zeros(len(movies))
        names = self._member_names()
        out: list[dict[str, Any] | None] = []
        for i in range(len(movies)):
            members = [
                {"engine": name, "weight": float(w[i]), "prediction": float(p[i]), "contribution": float(w[i] * p[i])}
                for name, w, p in zip(names, weights, predictions)
            ]
            out.append({"prediction": float(blended[i]), "intercept": float(offset[i]),
                        "members": members, "text": agreement_text(members, float(blended[i]))})
        return out

    # ----------------------------------------------------------------- persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef_, "intercept": np.asarray(self.intercept_), "support_coef": self.support_coef_,
                "support_center": self.support_center_, "support_scale": self.support_scale_,
                "day_keys": self.counts_.day_keys, "day_counts": self.counts_.day,
                "user_last_day": self.counts_.user_last_day}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.coef_ = np.asarray(state["coef"], dtype=np.float64)
        self.intercept_ = float(state["intercept"])
        user_count, movie_count = counts_of(self.seen_)  # seen_ is restored before the state
        if "day_keys" in state:
            self.counts_ = SupportCounts(user_count, movie_count, np.asarray(state["day_keys"], dtype=np.int64),
                                         np.asarray(state["day_counts"], dtype=np.float64),
                                         np.asarray(state["user_last_day"], dtype=np.float64))
        else:  # saved before the day support: no (user, day) counts, and the support's powers were not used
            self.counts_ = SupportCounts(user_count, movie_count, np.zeros(0, dtype=np.int64), np.zeros(0),
                                         np.full(len(user_count), np.nan))
            self.support_degree = 1
        if "support_coef" not in state:  # saved before support features: its weights are the plain blend's
            self.support = ()
        self.support_coef_ = np.asarray(state.get("support_coef", np.zeros((0, len(self.coef_) + 1))), dtype=np.float64)
        self.support_center_ = np.asarray(state.get("support_center", np.zeros(0)), dtype=np.float64)
        self.support_scale_ = np.asarray(state.get("support_scale", np.zeros(0)), dtype=np.float64)

    def _save_extra(self, folder: Path) -> None:
        from movierec.core.models.persistence import META_FILE, _json_default

        record = []
        for index, (name, engine) in enumerate(zip(self._member_names(), self.members_)):
            relative = f"members/{index}_{name}"
            engine.save(folder / relative)
            record.append({"name": name, "folder": relative, "params": _plain(engine.get_params(), _json_default),
                           "engine_json_sha256": _sha256(folder / relative / META_FILE)})
        (folder / MEMBERS_FILE).write_text(json.dumps({"members": record}, indent=2, default=_json_default))

    def _load_extra(self, folder: Path) -> None:
        from movierec.core.models.registry import ENGINES, create_engine, load_engine

        recorded = self._recorded_members(folder)
        root = folder.resolve()
        self.members_ = []
        for index, name in enumerate(self._member_names()):
            if name not in ENGINES:  # a registry name is a plain word: no '/' or '..' to leave the folder
                raise ModelFileError(f"{folder / 'engine.json'}: blend member {name!r} is not a registered engine")
            path = folder / "members" / f"{index}_{name}"
            for part in (folder / "members", path):
                if part.is_symlink():
                    raise ModelFileError(f"{part}: is a symbolic link; a blend's members must be inside its folder")
            if not path.resolve().is_relative_to(root):
                raise ModelFileError(f"{path}: lies outside the blend's folder {folder}")
            if not (path / "engine.json").exists():
                raise ModelFileError(f"{path}: the saved blend is missing its member {name!r}")
            entry = recorded[index] if recorded is not None else None
            if entry is not None:
                if entry.get("name") != name or entry.get("folder") != f"members/{index}_{name}":
                    raise ModelFileError(f"{folder / MEMBERS_FILE}: member {index} is not {name!r} in members/{index}_{name}")
                if _sha256(path / "engine.json") != entry.get("engine_json_sha256"):
                    raise ModelFileError(f"{path}: not the member this blend saved (its engine.json checksum differs "
                                         f"from {MEMBERS_FILE})")
            member = load_engine(path)
            if member.name != name:
                raise ModelFileError(f"{path}: holds a {member.name} engine, the blend expects {name}")
            from movierec.core.models.persistence import _json_default

            found = _plain(member.get_params(), _json_default)
            wanted = _plain(create_engine(name, **dict((self.member_params or {}).get(name, {}))).get_params(), _json_default)
            if entry is not None:
                wanted = entry.get("params")
            if found != wanted:
                changed = sorted(k for k in set(found) | set(wanted or {}) if found.get(k) != (wanted or {}).get(k))
                raise ModelFileError(f"{path}: member {name!r} was saved with other parameters than the blend's "
                                     f"({', '.join(changed[:5])} differ)")
            self.members_.append(member)
        if len(self.coef_) != len(self.members_):
            raise ModelFileError(f"{folder / 'arrays.npz'}: {len(self.coef_)} weights for {len(self.members_)} members")
        n_support = len(self._support_names()) * self._degree()
        if self.support_coef_.shape != (n_support, len(self.coef_) + 1) or \
                self.support_center_.shape != (n_support,) or self.support_scale_.shape != (n_support,):
            raise ModelFileError(f"{folder / 'arrays.npz'}: support weights of shape {self.support_coef_.shape} do not "
                                 f"fit {n_support} support columns and {len(self.coef_)} members")
        counts = self.counts_
        if counts.day_keys.shape != counts.day.shape or counts.user_last_day.shape != (len(self.users_),):
            raise ModelFileError(f"{folder / 'arrays.npz'}: day counts of shapes {counts.day_keys.shape}, "
                                 f"{counts.day.shape} and {counts.user_last_day.shape} do not fit "
                                 f"{len(self.users_)} users")
        self._check_member_indexes()

    def _recorded_members(self, folder: Path) -> list[dict[str, Any]] | None:
        """The members.json entries, one per member in order; None for a folder saved before the file existed."""
        path = folder / MEMBERS_FILE
        if not path.exists() and not path.is_symlink():
            return None
        if path.is_symlink() or not path.is_file():
            raise ModelFileError(f"{path}: not a regular file")
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))["members"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ModelFileError(f"{path}: not a blend's member list") from None
        if not isinstance(entries, list) or len(entries) != len(self._member_names()) or \
                not all(isinstance(entry, dict) for entry in entries):
            raise ModelFileError(f"{path}: lists other members than the blend's {self._member_names()}")
        return entries


def _design(predictions: np.ndarray, support: np.ndarray) -> np.ndarray:
    """[predictions, then per support feature s: predictions * s and s]: the ridge's columns."""
    parts = [predictions]
    for k in range(support.shape[1]):
        parts += [predictions * support[:, k:k + 1], support[:, k:k + 1]]
    return np.hstack(parts)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plain(params: Mapping[str, Any], default: Any) -> Any:
    """Parameters as their JSON round trip (tuples become lists), so a saved and a live set compare equal."""
    return json.loads(json.dumps(dict(params), default=default, sort_keys=True))


#: a member within this many stars of the blended prediction agrees with it
AGREEMENT_STARS = 0.5


def agreement_text(members: list[dict[str, Any]], blended: float) -> str:
    """Which members predict about what the blend does, and what the others say."""
    agree = sorted((m for m in members if abs(m["prediction"] - blended) <= AGREEMENT_STARS), key=lambda m: m["engine"])
    others = sorted((m for m in members if m not in agree), key=lambda m: -m["prediction"])
    said = ", ".join(f"{m['engine']} says {m['prediction']:.1f}" for m in others)
    if len(agree) >= 2:
        names = ", ".join(m["engine"] for m in agree[:-1]) + " and " + agree[-1]["engine"]
        return f"{names} agree: about {blended:.1f} stars" + (f"; {said}" if said else "")
    if len(agree) == 1:
        return f"only {agree[0]['engine']} predicts about {blended:.1f} stars" + (f"; {said}" if said else "")
    return f"the engines differ: {said}; blended {blended:.1f} stars"
