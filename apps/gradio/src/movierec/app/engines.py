"""Fitted engines, trained once per dataset and parameters and kept on disk between starts.

A cache entry is a folder written by `Recommender.save`, under
`$MOVIEREC_CACHE_DIR/<dataset>-<fingerprint>/<engine>-<params hash>/`; the next start loads it
instead of training. `Recommender.save` writes each entry into a locked scratch folder and swaps
it into place, so two servers sharing a cache leave one whole entry; a scratch folder whose
writer died (its lock released) is removed by the next save, and one named with a PID by an
older version is removed once that process is gone or the folder is an hour old (after a
restart the same PID may belong to another process). Training times are kept in `<dataset folder>/trained.json`, so the page can say how
long a first use took on this dataset.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import movierec.core
from movierec.core.data.tables import Dataset
from movierec.core.errors import DataError, ModelFileError, MovierecError
from movierec.core.models import ENGINES, create_engine, engine_class, engine_names, load_engine
from movierec.core.scratch import glob_escape

log = logging.getLogger(__name__)

#: called with (fraction done 0..1, what is happening)
ProgressFn = Callable[[float, str], None]


def default_cache_dir() -> Path:
    """$MOVIEREC_CACHE_DIR, else ~/.cache/movierec/engines."""
    configured = os.environ.get("MOVIEREC_CACHE_DIR")
    if configured:
        from movierec.core.data.files import expand_user

        return expand_user(configured)
    return Path.home() / ".cache" / "movierec" / "engines"


def dataset_fingerprint(dataset: Dataset) -> str:
    """A short hash that changes when the ratings, the titles or the overviews change."""
    digest = hashlib.sha256()
    digest.update(f"{dataset.spec}|{movierec.core.__version__}|{len(dataset.ratings)}".encode())
    ratings = dataset.ratings
    # the full columns for small data; evenly spaced rows keep it fast at Netflix scale
    step = max(1, len(ratings) // 200_000)
    for column in ("user", "movie", "rating"):
        digest.update(np.ascontiguousarray(ratings[column].to_numpy()[::step]).tobytes())
    digest.update(str(len(dataset.movies)).encode())
    every = max(1, len(dataset.movies) // 5000)
    for column in ("title", "overview", "genres", "tags"):  # the movie text content engines read
        if column in dataset.movies.columns:
            digest.update("|".join(str(value) for value in dataset.movies[column].tolist()[::every]).encode())
    return digest.hexdigest()[:12]


def params_key(params: dict[str, Any]) -> str:
    """A short stable hash of an engine's parameters."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Capabilities:
    """What an engine can answer, asked of an engine with its default parameters."""

    predicts_ratings: bool
    has_similar_movies: bool
    supports_fold_in: bool
    uses_overviews: bool


def capabilities(name: str, params: dict[str, Any] | None = None) -> Capabilities:
    """The capabilities of a registered engine with the app's parameters, asked of an instance (imports its module)."""
    engine = create_engine(name, **(params or {}))
    return Capabilities(
        predicts_ratings=bool(engine.predicts_ratings),
        has_similar_movies=bool(engine.has_similar_movies),
        supports_fold_in=bool(engine.supports_fold_in),
        uses_overviews=bool(engine.uses_overviews),
    )


def usable_engines(params: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Registered engines whose module imports here, in registry order."""
    names = []
    for name in engine_names(available_only=True):
        try:
            capabilities(name, (params or {}).get(name))
        except (ImportError, AttributeError, MovierecError) as error:
            log.info("engine %s is not offered: %s", name, error)
            continue
        names.append(name)
    return names


def needs_tensorflow(name: str, params: dict[str, Any] | None = None) -> bool:
    """True for the Keras engines and for an ensemble with a Keras member: first use imports TensorFlow."""
    if ENGINES[name].family == "deep":
        return True
    if ENGINES[name].family != "ensemble":
        return False
    members = engine_class(name)(**(params or {})).get_params().get("members", ())
    members = [members] if isinstance(members, str) else list(members)
    return any(member in ENGINES and ENGINES[member].family == "deep" for member in members)


class EngineCache:
    """Fitted engines for one dataset: in memory, then on disk, else trained (once, under a lock)."""

    def __init__(self, dataset: Dataset, cache_dir: Path | None = None,
                 params: dict[str, dict[str, Any]] | None = None) -> None:
        self.dataset = dataset
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.params = params or {}
        self._fingerprint = dataset_fingerprint(dataset)
        self._engines: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        #: seconds spent per engine and where it came from ("trained" | "loaded")
        self.timings: dict[str, tuple[str, float]] = {}
        #: engines whose training failed on this dataset (e.g. no movie text), asked again never
        self._failures: dict[str, MovierecError] = {}
        self._capabilities: dict[str, Capabilities] = {}

    def capabilities(self, name: str) -> Capabilities:
        """What engine `name` answers with the parameters this cache trains it with (asked once)."""
        known = self._capabilities.get(name)
        if known is None:
            known = self._capabilities[name] = capabilities(name, self.params.get(name))
        return known

    def trained_seconds(self) -> dict[str, float]:
        """Training seconds measured on this dataset per engine (this process or an earlier one)."""
        try:
            saved = json.loads((self.cache_dir / self._dataset_slug() / TIMINGS_FILE).read_text())
        except (OSError, ValueError):
            saved = {}
        measured = {str(k): float(v) for k, v in saved.items() if isinstance(v, (int, float))} if isinstance(saved, dict) else {}
        measured.update({name: seconds for name, (how, seconds) in self.timings.items() if how == "trained"})
        return measured

    def failure(self, name: str) -> MovierecError | None:
        """Why engine `name` could not be trained on this dataset, when it could not."""
        return self._failures.get(name)

    def _dataset_slug(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(self.dataset.spec).name or self.dataset.spec)[:40]
        return f"{slug}-{self._fingerprint}"

    def folder(self, name: str) -> Path:
        """The cache folder of engine `name` with its configured parameters."""
        return self.cache_dir / self._dataset_slug() / f"{name}-{params_key(self.params.get(name, {}))}"

    def loaded(self, name: str) -> bool:
        """True when engine `name` is in memory (answers without training or loading)."""
        return name in self._engines

    def get(self, name: str, progress: ProgressFn | None = None) -> Any:
        """The fitted engine `name`; trains and saves it the first time."""
        engine = self._engines.get(name)
        if engine is not None:
            return engine
        if name not in ENGINES:
            raise MovierecError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
        if name in self._failures:  # e.g. content_tfidf on titles without text: no retry per click
            raise self._failures[name]
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:  # a second caller waits for the first one's training instead of repeating it
            engine = self._engines.get(name)
            if engine is None:
                try:
                    engine = self._load_or_train(name, progress)
                except DataError as error:  # the data cannot train it; the next click gets the same answer
                    self._failures[name] = error
                    raise
                self._engines[name] = engine
        return engine

    def _load_or_train(self, name: str, progress: ProgressFn | None) -> Any:
        folder = self.folder(name)
        started = time.perf_counter()
        if needs_tensorflow(name, self.params.get(name)):
            _import_tensorflow(progress)
        if folder.exists():
            _report(progress, 0.1, f"loading {name} from the cache")
            try:
                engine = load_engine(folder)
            except MovierecError as error:  # ModelFileError: a damaged or stale entry is retrained
                log.warning("cached %s could not be loaded (%s); training again", name, error)
            except Exception:  # not a known damage: retrain, but keep the traceback for the log
                log.exception("cached %s at %s failed to load; training again", name, folder)
            else:
                self.timings[name] = ("loaded", time.perf_counter() - started)
                _report(progress, 1.0, f"{name} loaded")
                return engine
        _remove_stale_partials(folder)
        started = time.perf_counter()
        label = Path(self.dataset.spec.partition(":")[2]).name or self.dataset.spec
        _report(progress, 0.2, f"training {name} on {label} (first use; cached afterwards)")
        params = dict(self.params.get(name, {}))  # the cache key stays the configured parameters only
        hooked = progress is not None and "progress" not in params and "progress" in engine_class(name)._get_param_names()
        if hooked:
            # engines that report their own training (the Keras ones) move the bar from 0.2 to 0.9
            def training(fraction: float, text: str) -> None:
                _report(progress, 0.2 + 0.7 * min(max(float(fraction), 0.0), 1.0), f"training {name}: {text}")

            params["progress"] = training
        engine = create_engine(name, **params)
        engine.fit(self.dataset.ratings, self.dataset.movies)
        if hooked:
            engine.progress = None  # this request's progress bar must not hear later requests' work
        self.timings[name] = ("trained", time.perf_counter() - started)
        _report(progress, 0.9, f"saving {name} to the cache")
        self._save(engine, folder)
        self._record_training(name, self.timings[name][1])
        _report(progress, 1.0, f"{name} ready")
        return engine

    def _save(self, engine: Any, folder: Path) -> None:
        try:
            try:
                engine.save(folder)  # whole or not at all: written aside, then swapped into place
            except ModelFileError:  # the entry's folder holds something else; it is ours to clear
                shutil.rmtree(folder, ignore_errors=True)
                engine.save(folder)
        except (OSError, MovierecError) as error:  # a read-only disk costs a retrain next start, nothing more
            log.warning("could not cache %s at %s: %s", engine.name, folder, error)


    def _record_training(self, name: str, seconds: float) -> None:
        """Add a training time to the dataset's trained.json (best effort: a read-only disk skips it)."""
        path = self.cache_dir / self._dataset_slug() / TIMINGS_FILE
        measured = self.trained_seconds()
        measured[name] = round(seconds, 1)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = path.with_name(f".{TIMINGS_FILE}.{os.getpid()}.{threading.get_ident()}")
            scratch.write_text(json.dumps(measured, sort_keys=True))
            scratch.replace(path)
        except OSError as error:
            log.info("could not record the training time of %s: %s", name, error)


TIMINGS_FILE = "trained.json"
_tensorflow_imported = threading.Event()


def _import_tensorflow(progress: ProgressFn | None) -> None:
    """Import TensorFlow once, saying so: it takes seconds to tens of seconds before any training starts."""
    if _tensorflow_imported.is_set():
        return
    _report(progress, 0.05, "importing TensorFlow (once per server start)")
    started = time.perf_counter()
    import tensorflow  # noqa: F401  (the Keras engines import it again, for free)

    log.info("TensorFlow imported in %.1f s", time.perf_counter() - started)
    _tensorflow_imported.set()


#: a temporary folder named with a PID (written by older versions) this old is no save in progress
STALE_SECONDS = 3600.0


def _remove_stale_partials(folder: Path) -> None:
    """Remove `.<entry>.<pid>.<thread>` folders of older versions: their process is gone, or they are an hour old.

    The PID alone cannot tell: after a container restart it may belong to a new process. Saves of
    this version use locked scratch folders, which `Recommender.save` cleans itself.
    """
    now = time.time()
    for partial in folder.parent.glob(f".{glob_escape(folder.name)}.*"):
        pid = partial.name[len(folder.name) + 2 :].split(".")[0]
        if not pid.isdigit() or partial.is_symlink():
            continue
        try:
            age = now - partial.lstat().st_mtime
        except OSError:
            continue
        if age > STALE_SECONDS or not _alive(int(pid)):
            log.info("removing %s, left by process %s while saving", partial, pid)
            shutil.rmtree(partial, ignore_errors=True)


def _alive(pid: int) -> bool:
    """True when process `pid` exists (this process included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _report(progress: ProgressFn | None, fraction: float, text: str) -> None:
    if progress is not None:
        progress(fraction, text)
