"""Saved engine folders: `engine.json` (parameters, array manifest) + `arrays.npz`, never pickle.

Writing fills a new scratch folder next to the target (`.<name>.saving-<random>`, locked while
in use) and then swaps it into place in one rename, so each save is whole: two processes saving
to one folder leave the last complete save, and a reader never sees a mix of the two. A scratch
folder left by a killed save is removed by the next save next to it. Reading trusts nothing: the
manifest's JSON and types, each array's header (shape and dtype) before its data is read (a
damaged header cannot ask for terabytes), members stored uncompressed only (a deflated member
could inflate to any size), each array's and extra file's SHA-256, the id arrays and the seen
matrix' structure. Whatever is wrong is a `ModelFileError` naming the folder, the file and the
problem.
"""

from __future__ import annotations

import copy
import ctypes
import errno
import hashlib
import json
import math
import os
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from movierec.core.errors import ModelFileError, MovierecError
from movierec.core.scratch import ScratchFolder, remove_stale

if TYPE_CHECKING:
    from movierec.core.models.base import Recommender

FORMAT_VERSION = 2
META_FILE = "engine.json"
ARRAYS_FILE = "arrays.npz"
#: a manifest is a few KB; anything far larger is not one
_META_LIMIT = 4 << 20
_EXCERPT = 80
#: the class every engine derives from (named, not imported: the base imports this module)
_BASE_CLASS = "movierec.core.models.base:Recommender"


def write_engine(engine: Recommender, folder: Path) -> Path:
    """Save a fitted engine to `folder` as one whole: written aside, then swapped into place.

    An existing `folder` is replaced when it is empty or a saved engine (or an unfinished one);
    a folder holding other files is refused rather than emptied.
    """
    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise ModelFileError(f"{folder}: is a file or a link, not a folder to save an engine in")
    if folder.is_dir() and not _replaceable(folder):
        raise ModelFileError(
            f"{folder}: holds other files and no saved engine; save into a new or empty folder "
            "(a save replaces the whole folder)"
        )
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale(parent, f".{folder.name}.saving-")  # left by a save that was killed
    remove_stale(parent, f".{folder.name}.old-", unlocked_age=60.0)  # an older save swapped out, then orphaned
    with ScratchFolder(parent, prefix=f".{folder.name}.saving-") as scratch:
        _write_into(engine, scratch.path)
        scratch.detach()  # the lock stays held until the swap is done; the saved folder carries no lock file
        _swap_into_place(scratch.path, folder)
    return folder


def _replaceable(folder: Path) -> bool:
    """An empty folder, or one holding a saved (or unfinished) engine: a save may replace it."""
    names = {path.name for path in folder.iterdir()}
    return not names or bool(names & {META_FILE, ARRAYS_FILE})


def _swap_into_place(written: Path, folder: Path) -> None:
    """Put the folder `written` at `folder`: atomically where the OS can exchange two names, else in two renames.

    A concurrent save may put its own folder there between our steps; we then move it aside and
    retry, so one complete save always ends up in place and the last one to rename wins.
    """
    asides: list[Path] = []
    try:
        for _ in range(50):
            try:
                os.rename(written, folder)  # succeeds when `folder` is absent (or an empty folder)
                return
            except OSError as error:
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
            if _exchange(written, folder):  # `written` now holds the replaced save
                asides.append(written)
                return
            aside = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:12]}")
            try:
                os.rename(folder, aside)
            except FileNotFoundError:  # another save just moved it aside itself
                continue
            asides.append(aside)
        raise ModelFileError(f"{folder}: other saves kept replacing the folder; this save was not put in place")
    finally:
        for old in asides:
            shutil.rmtree(old, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOENT, errno.EXDEV):
        return False  # no support on this file system, or `second` vanished: the two-step path handles it
    raise OSError(code, os.strerror(code), str(second))


def _write_into(engine: Recommender, folder: Path) -> None:
    """Write a fitted engine's arrays, extra files, then the manifest into a new, empty folder."""
    arrays = {
        "users": engine.users_.ids,
        "movies": engine.movies_.ids,
        "seen_indptr": engine.seen_.indptr,
        "seen_indices": engine.seen_.indices,
        "seen_data": engine.seen_.data,
    }
    for key, value in engine._state().items():
        arrays[f"state_{key}"] = np.asarray(value)
    for key, value in arrays.items():
        if value.dtype.hasobject:
            raise MovierecError(f"{type(engine).__name__}: state array {key!r} holds Python objects; cannot save it")
    np.savez(folder / ARRAYS_FILE, **arrays)
    before = _snapshot(folder)
    engine._save_extra(folder)
    after = _snapshot(folder)
    extra = sorted(name for name, stamp in after.items() if before.get(name) != stamp)
    meta = {
        "format": FORMAT_VERSION,
        "engine": engine.name,
        "class": f"{type(engine).__module__}:{type(engine).__qualname__}",
        "params": engine.get_params(),
        "global_mean": engine.global_mean_,
        "rating_range": list(engine.rating_range_),
        "arrays": {
            key: {"shape": list(value.shape), "dtype": value.dtype.str, "sha256": _array_digest(value)}
            for key, value in arrays.items()
        },
        "files": {name: _file_digest(folder / name) for name in extra if (folder / name).is_file()},
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, default=_json_default))


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Name -> (mtime, size) of the folder's files other than ours: what `_save_extra` adds or rewrites shows."""
    return {
        path.name: (path.stat().st_mtime_ns, path.stat().st_size)
        for path in folder.iterdir()
        if path.is_file() and path.name not in (META_FILE, ARRAYS_FILE) and not path.name.startswith(".")
    }


def read_engine(folder: Path, expected: type) -> Recommender:
    """The engine saved in `folder`, whose class must be `expected` or a subclass of it.

    Files are read by name, so a save swapped into place during the read can mix the manifest of
    one save with the arrays of another; the checksums catch that, and the read starts again
    when the folder is indeed a new one.
    """
    for _ in range(_READ_ATTEMPTS - 1):
        identity = _identity(folder)
        try:
            return _read_engine(folder, expected)
        except (ModelFileError, OSError):
            if identity is None or _identity(folder) == identity:
                raise
    return _read_engine(folder, expected)


_READ_ATTEMPTS = 5


def _identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of the folder now at `folder`, None when there is none."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _read_engine(folder: Path, expected: type) -> Recommender:
    meta = read_manifest(folder)
    cls = _saved_class(folder, meta, expected)
    try:
        engine = cls(**meta["params"])
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{folder / META_FILE}: parameters do not fit {cls.__name__}: {_short(error)}") from None
    arrays = _read_arrays(folder, meta["arrays"])
    _check_structure(folder, arrays)
    for name, digest in meta["files"].items():
        path = _regular_file(folder, name)
        if _file_digest(path) != digest:
            raise ModelFileError(f"{path}: damaged (its checksum differs from {META_FILE})")
    try:
        engine._restore(arrays, meta, folder)
    except MovierecError:
        raise
    except Exception as error:  # noqa: BLE001 - the engine's own reader; name the folder, keep the cause
        raise ModelFileError(f"{folder}: the saved state does not load: {type(error).__name__}: {_short(error)}") from error
    _probe(engine, folder)
    return engine


def _probe(engine: Recommender, folder: Path) -> None:
    """Ask the loaded engine each kind of question it answers, about its last user and last movie.

    Checksums catch damage, not a folder whose manifest was rewritten to match state arrays that
    do not fit the ids (e.g. cut to one row): such state fails here, as a ModelFileError, and not
    at the first recommendation. An engine's own answer that a question does not apply (an
    UnknownMovieError for a movie it holds no representation of) is no damage.
    """
    if not len(engine.users_) or not len(engine.movies_):
        return
    # asked of a shallow copy whose random generators are its own: the answers the caller gets next
    # are the ones a fresh load gives (NormalPredictor draws from a seeded generator)
    engine = copy.copy(engine)
    for key, value in vars(engine).items():
        if isinstance(value, np.random.Generator):
            setattr(engine, key, copy.deepcopy(value))
    user, movie = int(engine.users_.ids[-1]), int(engine.movies_.ids[-1])
    questions = [lambda: engine.recommend(user, k=1, exclude_seen=False)]
    if engine.predicts_ratings:
        questions.append(lambda: _finite(engine.predict(np.array([user]), np.array([movie]))))
    if engine.has_similar_movies:
        questions.append(lambda: engine.similar_movies(movie, k=1))
    if engine.supports_fold_in:
        questions.append(lambda: engine.recommend_for_ratings({movie: engine.rating_range_[1]}, k=1))
    for question in questions:
        try:
            question()
        except MovierecError:
            continue
        except Exception as error:  # noqa: BLE001 - any other failure means the state does not fit
            raise ModelFileError(
                f"{folder / ARRAYS_FILE}: the saved state does not fit its {len(engine.users_):,} users and "
                f"{len(engine.movies_):,} movies ({type(error).__name__}: {_short(error)})"
            ) from error


def _finite(values: np.ndarray) -> None:
    if not np.all(np.isfinite(values)):
        raise ValueError("a prediction is not a finite number")


def read_manifest(folder: Path) -> dict[str, Any]:
    """`engine.json` of a saved engine, checked for every key and type that loading relies on."""
    if not folder.exists():
        raise ModelFileError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: not a folder (a saved engine is a folder with {META_FILE} and {ARRAYS_FILE})")
    path = folder / META_FILE
    if not path.exists() and not path.is_symlink():
        raise ModelFileError(f"{folder}: not a saved movierec engine, or an unfinished save (no {META_FILE})")
    path = _regular_file(folder, META_FILE)
    if path.stat().st_size > _META_LIMIT:
        raise ModelFileError(f"{path}: {path.stat().st_size:,} bytes is far too large for an engine manifest")
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ModelFileError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    if meta.get("format") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format {_short(meta.get('format'))}, expected {FORMAT_VERSION} (refit and save the engine again)"
        )
    expected_types = {"class": str, "params": dict, "rating_range": list, "arrays": dict, "files": dict}
    for key, kind in expected_types.items():
        if not isinstance(meta.get(key), kind):
            raise ModelFileError(f"{path}: '{key}' missing or not a {kind.__name__}")
    numbers = [meta.get("global_mean"), *meta["rating_range"]]
    if len(meta["rating_range"]) != 2 or not all(_is_number(v) for v in numbers) or numbers[1] > numbers[2]:
        raise ModelFileError(f"{path}: 'global_mean' and 'rating_range' must be finite numbers, low <= high")
    for key, entry in meta["arrays"].items():
        ok = (
            isinstance(entry, dict)
            and isinstance(entry.get("shape"), list)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in entry["shape"])
            and isinstance(entry.get("dtype"), str)
            and isinstance(entry.get("sha256"), str)
        )
        if not ok:
            raise ModelFileError(f"{path}: array entry {_short(key)} needs shape, dtype and sha256")
    for name, digest in meta["files"].items():
        if not isinstance(digest, str) or Path(name).name != name or name in (META_FILE, ARRAYS_FILE):
            raise ModelFileError(f"{path}: bad extra file entry {_short(name)}")
    return meta


#: modules that held engines before the families got their own packages; manifests saved then name them
MOVED_MODULES = {
    **{f"movierec.core.models.{module}": f"movierec.core.models.classic.{module}"
       for module in ("popularity", "baseline", "knn", "content", "ease")},
    **{f"movierec.core.models.{module}": f"movierec.core.models.library.{module}"
       for module in ("surprise_engines", "lightfm_engines")},
    **{f"movierec.core.models.{module}": f"movierec.core.models.deep.{module}"
       for module in ("keras_common", "keras_mf", "keras_deep", "keras_hybrid")},
    "movierec.core.models.blend": "movierec.core.models.ensemble.blend",
}


def class_path(cls: type) -> str:
    """'module:Class', as a manifest names an engine's class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def saved_class_path(meta: dict[str, Any]) -> str:
    """The manifest's class as 'module:Class' today (a module moved since the save is translated)."""
    module_name, _, class_name = meta["class"].partition(":")
    return f"{MOVED_MODULES.get(module_name, module_name)}:{class_name}"


def _saved_class(folder: Path, meta: dict[str, Any], expected: type) -> type:
    """The class named in the manifest, which must be `expected` or a subclass of it."""
    path = saved_class_path(meta)
    if path == class_path(expected):
        return expected
    module_name, _, class_name = path.partition(":")
    if not module_name.startswith("movierec.") and not _importable_outside(module_name):
        raise ModelFileError(f"{folder / META_FILE}: unknown engine class {_short(meta['class'])}")
    try:
        import importlib

        cls = importlib.import_module(module_name)
        for part in class_name.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError, ValueError):
        raise ModelFileError(f"{folder / META_FILE}: engine class {_short(meta['class'])} cannot be imported") from None
    if not (isinstance(cls, type) and issubclass(cls, expected)):
        kind = "a movierec engine" if class_path(expected) == _BASE_CLASS else f"a {expected.__name__}"
        raise ModelFileError(f"{folder / META_FILE}: {_short(meta['class'])} is not {kind}")
    return cls


def _importable_outside(module_name: str) -> bool:
    """A user's own engine module, already imported by the user (never imported on a file's word)."""
    import sys

    return module_name in sys.modules


def _regular_file(folder: Path, name: str) -> Path:
    path = folder / name
    if path.is_symlink():
        raise ModelFileError(f"{path}: is a symbolic link; a saved engine's files must be regular files")
    if not path.exists():
        raise ModelFileError(f"{path}: missing")
    if not path.is_file():
        raise ModelFileError(f"{path}: not a regular file")
    return path


def _read_arrays(folder: Path, manifest: dict[str, dict[str, Any]]) -> dict[str, np.ndarray]:
    path = _regular_file(folder, ARRAYS_FILE)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ModelFileError(f"{path}: not a readable .npz archive ({_short(error)})") from None
    arrays: dict[str, np.ndarray] = {}
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        names = {name[:-4] for name in members if name.endswith(".npy")}
        if names != set(manifest) or len(members) != len(manifest):
            missing = sorted(set(manifest) - names)
            extra = sorted(set(members) - {f"{key}.npy" for key in manifest})
            raise ModelFileError(f"{path}: arrays differ from {META_FILE} (missing {missing[:5]}, unexpected {extra[:5]})")
        for key, entry in manifest.items():
            arrays[key] = _read_member(path, archive, members[f"{key}.npy"], key, entry)
    return arrays


def _read_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, entry: dict[str, Any]) -> np.ndarray:
    where = f"{path}: array '{key}'"
    try:
        dtype = np.dtype(entry["dtype"])
    except TypeError:
        raise ModelFileError(f"{where}: unknown dtype {_short(entry['dtype'])} in {META_FILE}") from None
    if dtype.hasobject:
        raise ModelFileError(f"{where}: object arrays are never loaded")
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        # movierec writes members stored as they are; a deflated one could inflate to any size
        raise ModelFileError(f"{where}: stored compressed or encrypted (zip method {info.compress_type}); "
                             f"{ARRAYS_FILE} members must be stored uncompressed, as movierec writes them")
    expected_bytes = math.prod(entry["shape"]) * dtype.itemsize
    if info.compress_size > path.stat().st_size:  # a stored member is never larger than its archive
        raise ModelFileError(f"{where}: claims {info.compress_size:,} bytes, more than the whole {ARRAYS_FILE}")
    if info.file_size < expected_bytes:  # checked before reading: a damaged size never allocates
        raise ModelFileError(f"{where}: {info.file_size:,} bytes stored, {META_FILE} promises {expected_bytes:,}")
    try:
        with archive.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, header_dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, fortran, header_dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ModelFileError(f"{where}: .npy format version {version} is not one movierec writes")
            if list(shape) != entry["shape"] or header_dtype != dtype:
                raise ModelFileError(
                    f"{where}: holds {header_dtype} {list(shape)}, {META_FILE} says {dtype} {entry['shape']}"
                )
            data = stream.read(expected_bytes + 1)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise ModelFileError(f"{where}: damaged ({_short(error)})") from None
    if len(data) != expected_bytes:
        raise ModelFileError(f"{where}: {len(data):,} bytes of data, expected {expected_bytes:,}")
    order = "F" if fortran else "C"
    array = np.frombuffer(data, dtype=dtype).reshape(entry["shape"], order=order).copy(order="C")
    if _array_digest(array) != entry["sha256"]:
        raise ModelFileError(f"{where}: damaged (its checksum differs from {META_FILE})")
    return array


def _check_structure(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Ids sorted and unique, and a seen matrix whose pointers and columns fit them."""
    where = folder / ARRAYS_FILE
    for key in ("users", "movies", "seen_indptr", "seen_indices", "seen_data"):
        if key not in arrays or arrays[key].ndim != 1:
            raise ModelFileError(f"{where}: '{key}' missing or not one-dimensional")
    for key in ("users", "movies", "seen_indptr", "seen_indices"):
        if arrays[key].dtype.kind not in "iu":
            raise ModelFileError(f"{where}: '{key}' must hold integers, holds {arrays[key].dtype}")
    for key in ("users", "movies"):
        ids = arrays[key]
        if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
            raise ModelFileError(f"{where}: '{key}' ids are not sorted and unique")
    indptr, indices = arrays["seen_indptr"], arrays["seen_indices"]
    n_users, n_movies = len(arrays["users"]), len(arrays["movies"])
    if len(indptr) != n_users + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != len(indices):
        raise ModelFileError(f"{where}: the seen matrix' row pointers do not fit {n_users} users")
    if len(arrays["seen_data"]) != len(indices) or (len(indices) and (indices.min() < 0 or indices.max() >= n_movies)):
        raise ModelFileError(f"{where}: the seen matrix' columns do not fit {n_movies} movies")


def _array_digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, BaseException) else str(value)
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 3] + "..."


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"parameter value {value!r} cannot be saved as JSON")
