"""Parameter names: one vocabulary for movierec's own engines, and the old names that still work.

The vocabulary (docs/architecture.md has the table): `random_state`, `n_factors`, `n_epochs`,
`reg` for the L2 weight. A renamed parameter keeps its old name for one release: decorate the
engine's `__init__` with `renamed_params(old="new", ...)`; the old name then works in the
constructor, in `create_engine` and in a saved folder's engine.json, with a DeprecationWarning.
The decorated `__init__` keeps its real signature (`functools.wraps`), which is where
scikit-learn's `get_params` reads the parameters from.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

_Init = TypeVar("_Init", bound=Callable[..., None])

#: attribute of a decorated `__init__` holding {old name: new name} (inner decorators' included)
RENAMED_ATTRIBUTE = "__renamed_params__"


def renamed_params(**old_to_new: str) -> Callable[[_Init], _Init]:
    """Decorate an engine's `__init__` so that each old keyword still works, with a DeprecationWarning."""

    def decorate(init: _Init) -> _Init:
        @functools.wraps(init)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **current_names(type(self).__name__, mapping, kwargs))

        mapping = {**getattr(init, RENAMED_ATTRIBUTE, {}), **old_to_new}
        setattr(wrapper, RENAMED_ATTRIBUTE, mapping)
        return wrapper  # type: ignore[return-value]

    return decorate


def renamed_in(cls: type) -> dict[str, str]:
    """{old name: new name} of the parameters `cls` renamed (empty when none)."""
    return dict(getattr(cls.__init__, RENAMED_ATTRIBUTE, {}))


def current_names(
    owner: str, old_to_new: Mapping[str, str], params: Mapping[str, Any], stacklevel: int = 3
) -> dict[str, Any]:
    """`params` with every old name replaced by its new one (a DeprecationWarning for each).

    The warning points at the caller of this function's caller (`stacklevel` 3); giving both
    names of one parameter is an error (TypeError, as for a repeated keyword).
    """
    out = dict(params)
    for old in [name for name in params if name in old_to_new]:
        new = old_to_new[old]
        if new in out:
            raise TypeError(f"{owner} got both {old!r} and its new name {new!r}; pass only {new!r}")
        warnings.warn(
            f"{owner}: parameter {old!r} is now {new!r}; the old name stops working in the next release",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        out[new] = out.pop(old)
    return out


__all__ = ["current_names", "renamed_in", "renamed_params"]
