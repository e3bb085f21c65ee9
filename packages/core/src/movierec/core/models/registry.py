"""The engine registry: one list of names for the CLI, the benchmark and the app.

Entries name their class as 'module:Class' so that listing engines imports nothing heavy;
TensorFlow, Surprise and LightFM load only when such an engine is created.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from movierec.core.errors import DataError, MovierecError


@dataclass(frozen=True)
class EngineInfo:
    """What the registry knows about an engine without importing it."""

    name: str
    target: str  # "module:Class"
    family: str  # classic | deep | surprise | lightfm | ensemble
    summary: str
    requires: str | None = None  # top-level module that must be importable

    @property
    def available(self) -> bool:
        return self.requires is None or importlib.util.find_spec(self.requires) is not None


_CLASSIC = "movierec.core.models"
_SURPRISE = {
    "svd": ("SVD", "matrix factorization, Funk SVD with biases"),
    "svdpp": ("SVDpp", "SVD++ with implicit feedback"),
    "nmf": ("NMF", "non-negative matrix factorization"),
    "slopeone": ("SlopeOne", "Slope One item deviations"),
    "normalpredictor": ("NormalPredictor", "random ratings from the training distribution"),
    "knnbaseline": ("KNNBaseline", "kNN over baseline-corrected ratings (user-based unless sim_options says otherwise)"),
    "knnbasic": ("KNNBasic", "basic kNN"),
    "knnwithmeans": ("KNNWithMeans", "kNN over mean-centred ratings"),
    "knnwithzscore": ("KNNWithZScore", "kNN over z-scored ratings"),
    "baselineonly": ("BaselineOnly", "global mean plus user and item baselines (ALS)"),
    "coclustering": ("CoClustering", "co-clustering of users and items"),
}

ENGINES: dict[str, EngineInfo] = {
    info.name: info
    for info in [
        EngineInfo("mean", f"{_CLASSIC}.popularity:MeanRating", "classic", "per-movie mean rating"),
        EngineInfo("weighted", f"{_CLASSIC}.popularity:WeightedRating", "classic",
                   "IMDb weighted rating v/(v+m)*R + m/(v+m)*C, C the mean of all ratings"),
        EngineInfo("baseline", f"{_CLASSIC}.baseline:Baseline", "classic",
                   "global mean plus regularized user and movie biases"),
        EngineInfo("user_knn", f"{_CLASSIC}.knn:UserKNN", "classic",
                   "user-user kNN (KNNBaseline): shrunk correlation of baseline residuals, "
                   "the most similar users who rated the movie"),
        EngineInfo("item_knn", f"{_CLASSIC}.knn:ItemKNN", "classic",
                   "item-item kNN (KNNBaseline): shrunk correlation of baseline residuals, "
                   "the user's most similar rated movies"),
        EngineInfo("content_tfidf", f"{_CLASSIC}.content:ContentTfidf", "classic",
                   "TF-IDF over movie text (overview, else genres, tags and title words), cosine similarity"),
        EngineInfo("ease", f"{_CLASSIC}.ease:EASE", "classic",
                   "EASE closed-form item-item weights (Steck 2019), ranking only"),
        EngineInfo("blend", f"{_CLASSIC}.blend:Blend", "ensemble",
                   "ridge blend of member engines' predictions, learned on held-out ratings"),
        EngineInfo("keras_mf", f"{_CLASSIC}.keras_mf:KerasMF", "deep",
                   "Keras matrix factorization with biases and L2", "tensorflow"),
        EngineInfo("keras_deep", f"{_CLASSIC}.keras_deep:KerasDeep", "deep",
                   "Keras concatenated embeddings and dense layers", "tensorflow"),
        EngineInfo("keras_hybrid", f"{_CLASSIC}.keras_hybrid:KerasHybrid", "deep",
                   "Keras embeddings plus TF-IDF overview vectors", "tensorflow"),
        EngineInfo("keras_sasrec", f"{_CLASSIC}.keras_sasrec:KerasSASRec", "deep",
                   "Keras causal self-attention over each user's ratings in date order (SASRec): "
                   "what to watch next", "tensorflow"),
        *[
            EngineInfo(f"surprise_{key}", f"{_CLASSIC}.surprise_engines:Surprise{cls}", "surprise",
                       f"scikit-surprise {cls}: {summary}", "surprise")
            for key, (cls, summary) in _SURPRISE.items()
        ],
        EngineInfo("lightfm_warp", f"{_CLASSIC}.lightfm_engines:LightFMWarp", "lightfm",
                   "LightFM, WARP loss (ranking)", "lightfm"),
        EngineInfo("lightfm_bpr", f"{_CLASSIC}.lightfm_engines:LightFMBpr", "lightfm",
                   "LightFM, BPR loss (ranking)", "lightfm"),
    ]
}

#: the engines the notebook compared with cross-validation
SURPRISE_SUITE = tuple(name for name in ENGINES if name.startswith("surprise_"))
CLASSIC_ENGINES = tuple(name for name, info in ENGINES.items() if info.family == "classic")


def engine_names(family: str | None = None, available_only: bool = False) -> list[str]:
    """Registered engine names, optionally of one family and/or importable here."""
    return [
        name
        for name, info in ENGINES.items()
        if (family is None or info.family == family) and (not available_only or info.available)
    ]


def engine_class(name: str) -> type:
    """Import and return the class registered under `name`."""
    info = ENGINES.get(name)
    if info is None:
        raise MovierecError(f"unknown engine {name!r}; known engines: {', '.join(ENGINES)}")
    if not info.available:
        raise MovierecError(
            f"engine {name!r} needs the Python package {info.requires!r}, which is not installed "
            f"(pip install 'movierec-core[all]')"
        )
    module_name, _, class_name = info.target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if cls.name != name:  # identity belongs to the class; the registry only points at it
        raise MovierecError(f"registry entry {name!r} points at {info.target}, whose name is {cls.name!r}")
    return cls


def create_engine(name: str, **params: Any) -> Any:
    """A new, unfitted engine; unknown parameters are a clear error."""
    cls = engine_class(name)
    allowed = cls._param_names()
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise MovierecError(
            f"engine {name!r} has no parameter(s) {', '.join(unknown)}; it takes {', '.join(allowed) or 'none'}"
        )
    return cls(**params)


def load_engine(path: str | Path) -> Any:
    """Load any engine written by `save`, wherever it was created; the saved manifest names its class."""
    from movierec.core.models.persistence import read_engine

    return read_engine(Path(path))
