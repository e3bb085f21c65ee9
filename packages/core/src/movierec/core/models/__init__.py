"""Recommender engines behind one interface, and the registry that names them.

The contract sits here (`base`, `persistence`, `registry`, and the helpers several families
share: `vectors`, `text`, `similarity`); the engines live in one subpackage per family.
"""

from movierec.core.models.base import Recommender, top_k
from movierec.core.models.registry import create_engine, engine_class, engine_names, load_engine, register

# the families register their engines on import, in the order the registry lists them
from movierec.core.models import classic, ensemble, deep, library  # noqa: E402, F401, I001 - listing order
from movierec.core.models.registry import CLASSIC_ENGINES, ENGINES, SURPRISE_SUITE  # noqa: E402 - after the families

__all__ = [
    "CLASSIC_ENGINES",
    "ENGINES",
    "SURPRISE_SUITE",
    "Recommender",
    "create_engine",
    "engine_class",
    "engine_names",
    "load_engine",
    "register",
    "top_k",
]
