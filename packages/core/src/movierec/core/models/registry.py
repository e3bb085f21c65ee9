"""The engine registry: one list of names for the CLI, the benchmark and the app.

An engine registers itself where its class is defined, with the `register` class decorator.
`movierec.core.models` imports the family subpackages (`classic`, `ensemble`, `deep`, `library`),
so every engine is listed once the package is imported; their modules import TensorFlow, Surprise
and LightFM only inside functions, so listing engines imports nothing heavy. This module imports no
family: a family module (the blend) may create engines by name without an import circle.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from movierec.core.errors import MovierecError
from movierec.core.models.base import Recommender
from movierec.core.models.params import current_names, renamed_in
from movierec.core.models.persistence import class_path, read_manifest, saved_class_path

_C = TypeVar("_C", bound=type)

#: what `register(family=...)` accepts
FAMILIES = ("classic", "ensemble", "deep", "surprise", "lightfm")


@dataclass(frozen=True)
class EngineInfo:
    """What the registry knows about an engine: its class, family and one-line summary."""

    name: str
    engine: type
    family: str  # classic | ensemble | deep | surprise | lightfm
    summary: str
    requires: str | None = None  # top-level module that must be importable

    @property
    def target(self) -> str:
        """The class as 'module:Class', as saved manifests name it."""
        return class_path(self.engine)

    @property
    def available(self) -> bool:
        return self.requires is None or importlib.util.find_spec(self.requires) is not None


ENGINES: dict[str, EngineInfo] = {}


def register(family: str, summary: str, requires: str | None = None) -> Callable[[_C], _C]:
    """Class decorator that lists an engine under its class' `name`.

    `requires` names the top-level module the engine needs (e.g. "tensorflow"); without it the
    engine is listed but not available. The class must say how it saves what it learns
    (`_state` and `_set_state`), so a forgotten one fails here and not when a saved folder loads.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown engine family {family!r}; expected one of {', '.join(FAMILIES)}")

    def decorate(cls: _C) -> _C:
        where = class_path(cls)
        if not (isinstance(cls, type) and issubclass(cls, Recommender)):
            raise TypeError(f"{where}: only Recommender subclasses can be registered")
        name = vars(cls).get("name")
        if not name:  # an inherited name would register a second class under the first one's name
            raise TypeError(f"{where}: set `name` in the class body before registering it")
        for hook in ("_state", "_set_state"):
            if getattr(cls, hook) is getattr(Recommender, hook):
                raise TypeError(f"{where}: implement {hook}() (what the engine learns, to save and restore)")
        if name in ENGINES and ENGINES[name].engine is not cls:
            raise TypeError(f"{where}: engine name {name!r} is already registered by {ENGINES[name].target}")
        ENGINES[name] = EngineInfo(name, cls, family, summary, requires)
        return cls

    return decorate


def engine_names(family: str | None = None, available_only: bool = False) -> list[str]:
    """Registered engine names, optionally of one family and/or importable here."""
    return [
        name
        for name, info in ENGINES.items()
        if (family is None or info.family == family) and (not available_only or info.available)
    ]


def engine_class(name: str) -> type:
    """The class registered under `name`; a clear error when its library is not installed."""
    info = ENGINES.get(name)
    if info is None:
        raise MovierecError(f"unknown engine {name!r}; known engines: {', '.join(ENGINES)}")
    if not info.available:
        raise MovierecError(
            f"engine {name!r} needs the Python package {info.requires!r}, which is not installed "
            f"(pip install 'movierec-core[all]')"
        )
    return info.engine


def create_engine(name: str, **params: Any) -> Any:
    """A new, unfitted engine; unknown parameters are a clear error, old names a DeprecationWarning."""
    cls = engine_class(name)
    params = current_names(f"engine {name!r}", renamed_in(cls), params)
    allowed = cls._get_param_names()
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise MovierecError(
            f"engine {name!r} has no parameter(s) {', '.join(unknown)}; it takes {', '.join(allowed) or 'none'}"
        )
    return cls(**params)


def load_engine(path: str | Path) -> Any:
    """Load any engine written by `save`, wherever it was created; the saved manifest names its class."""
    folder = Path(path)
    saved = saved_class_path(read_manifest(folder))
    for info in ENGINES.values():
        if info.target == saved:
            return engine_class(info.name).load(folder)  # a missing library is named, not a failed restore
    return Recommender.load(folder)


def __getattr__(name: str) -> tuple[str, ...]:
    # computed on use: the families register their engines after this module is imported
    if name == "SURPRISE_SUITE":  # the engines the notebook compared with cross-validation
        return tuple(engine_names("surprise"))
    if name == "CLASSIC_ENGINES":
        return tuple(engine_names("classic"))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
