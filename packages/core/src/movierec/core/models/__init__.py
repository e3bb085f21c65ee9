"""Recommender engines behind one interface, and the registry that names them."""

from movierec.core.models.base import Recommender, top_k
from movierec.core.models.registry import (
    CLASSIC_ENGINES,
    ENGINES,
    SURPRISE_SUITE,
    create_engine,
    engine_class,
    engine_names,
    load_engine,
)

__all__ = [
    "CLASSIC_ENGINES",
    "ENGINES",
    "SURPRISE_SUITE",
    "Recommender",
    "create_engine",
    "engine_class",
    "engine_names",
    "load_engine",
    "top_k",
]
