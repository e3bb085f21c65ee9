"""LightFM as movierec engines: `lightfm_warp` and `lightfm_bpr` (ranking only).

LightFM learns from the interaction matrix (every rating is a positive interaction unless
`min_rating` keeps only the higher ones) and ranks; it does not predict ratings. With
`item_features` ("genres", "overview" or "genres+overview") each movie is the sum of its own
embedding and those of its genres / text TF-IDF terms, which makes it a hybrid model ("overview"
reads each movie's text: its overview, else its genres, user tags and title words).
After fit only the final user and movie representations are kept: `recommend` is one
matrix-vector product, `similar_movies` the cosine of movie representations, and `save` writes
those arrays to the npz file (no pickle). The build is `lightfm-next` (imports as `lightfm`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.data.movielens import NO_GENRES
from movierec.core.errors import DataError
from movierec.core.models.base import Recommender
from movierec.core.models.registry import register
from movierec.core.models.text import text_source, text_tfidf
from movierec.core.models.vectors import cached_unit_rows

FEATURE_SETS = (None, "genres", "overview", "genres+overview")


class LightFMEngine(Recommender):
    """LightFM with one loss; subclasses name it."""

    loss: ClassVar[str] = "warp"

    def __init__(
        self,
        no_components: int = 20,
        epochs: int = 20,
        learning_rate: float = 0.05,
        item_alpha: float = 0.0,
        user_alpha: float = 0.0,
        max_sampled: int = 10,
        min_rating: float | None = None,
        item_features: str | None = None,
        overview_terms: int = 2000,
        random_state: int | None = 42,
        num_threads: int = 1,
    ) -> None:
        self.no_components = no_components
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.item_alpha = item_alpha
        self.user_alpha = user_alpha
        self.max_sampled = max_sampled
        self.min_rating = min_rating
        self.item_features = item_features
        self.overview_terms = overview_terms
        self.random_state = random_state
        self.num_threads = num_threads  # more than one thread trains faster but not repeatably

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        from lightfm import LightFM

        if self.item_features not in FEATURE_SETS:
            raise DataError(f"item_features must be one of {FEATURE_SETS}, got {self.item_features!r}")
        positives = self.seen_ if self.min_rating is None else self.seen_.multiply(self.seen_ >= self.min_rating)
        interactions = sp.coo_matrix(positives, dtype=np.float32)
        interactions.data = np.ones_like(interactions.data)
        features = self._feature_matrix(movies) if self.item_features else None
        model = LightFM(
            no_components=self.no_components,
            loss=self.loss,
            learning_rate=self.learning_rate,
            item_alpha=self.item_alpha,
            user_alpha=self.user_alpha,
            max_sampled=self.max_sampled,
            random_state=self.random_state,
        )
        model.fit(interactions, item_features=features, epochs=self.epochs, num_threads=self.num_threads)
        user_biases, user_embeddings = model.get_user_representations()
        item_biases, item_embeddings = model.get_item_representations(features)
        self._set_state({"user_embeddings": user_embeddings, "user_biases": user_biases,
                         "item_embeddings": item_embeddings, "item_biases": item_biases})

    def _feature_matrix(self, movies: pd.DataFrame | None) -> sp.csr_matrix:
        """Identity plus genre and/or overview TF-IDF columns, rows summing to one (LightFM's advice)."""
        wanted = self.item_features.split("+")
        if movies is None:
            raise DataError(f"{self.name or type(self).__name__}: item_features={self.item_features!r} needs the movies table")
        missing = ["genres"] if "genres" in wanted and ("genres" not in movies.columns or movies["genres"].isna().all()) else []
        # "overview" reads each movie's text: its overview, else genres, user tags and title words
        if "overview" in wanted and text_source(movies) is None:
            missing.append("movie text (overview, genres or tags)")
        if missing:
            raise DataError(f"item_features={self.item_features!r}: the movies table has no {', '.join(missing)}")
        table = movies.drop_duplicates("movie").set_index("movie").reindex(self.movies_.ids)
        blocks = [sp.identity(len(self.movies_), dtype=np.float32, format="csr")]
        if "genres" in wanted:
            from sklearn.feature_extraction.text import CountVectorizer

            genres = table["genres"].fillna("").astype(str).str.replace(NO_GENRES, "", regex=False)
            vectorizer = CountVectorizer(tokenizer=lambda text: [g for g in text.split("|") if g],
                                         token_pattern=None, lowercase=False, binary=True)
            blocks.append(vectorizer.fit_transform(genres.tolist()))
        if "overview" in wanted:
            tfidf, _ = text_tfidf(movies, self.movies_.ids, empty_in_idf=True, max_features=self.overview_terms, min_df=2)
            blocks.append(tfidf)
        matrix = sp.hstack(blocks, format="csr", dtype=np.float32)
        row_sums = np.asarray(matrix.sum(axis=1)).ravel()
        return sp.csr_matrix(sp.diags(1.0 / row_sums) @ matrix, dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_embeddings": self.user_embeddings_, "user_biases": self.user_biases_,
                "item_embeddings": self.item_embeddings_, "item_biases": self.item_biases_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.user_embeddings_ = np.asarray(state["user_embeddings"], dtype=np.float32)
        self.user_biases_ = np.asarray(state["user_biases"], dtype=np.float32)
        self.item_embeddings_ = np.asarray(state["item_embeddings"], dtype=np.float32)
        self.item_biases_ = np.asarray(state["item_biases"], dtype=np.float32)

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        scores = self.user_embeddings_[user_idx] @ self.item_embeddings_.T
        return scores + self.item_biases_[None, :] + self.user_biases_[user_idx, None]

    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        unit = cached_unit_rows(self, self.item_embeddings_)
        return unit @ unit[movie_idx]


@register(family="lightfm", summary="LightFM, WARP loss (ranking)", requires="lightfm")
class LightFMWarp(LightFMEngine):
    """LightFM with the WARP loss (the notebook's model: 20 components, 20 epochs)."""

    name = "lightfm_warp"

    loss = "warp"


@register(family="lightfm", summary="LightFM, BPR loss (ranking)", requires="lightfm")
class LightFMBpr(LightFMEngine):
    """LightFM with the BPR loss."""

    name = "lightfm_bpr"

    loss = "bpr"

