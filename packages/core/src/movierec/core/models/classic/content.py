"""`content_tfidf`: TF-IDF over movie text; similar movies by cosine, users by what they liked.

A movie's text is its overview, else its genres, user tags and title words (`models.text`), so
MovieLens data without overviews still has content neighbours.

Rows are L2-normalized, so a cosine is a dot product. `similar_movies` computes only the asked
row, through the term-major (inverted) matrix: the work is the number of other overviews that
share a term with this one, not the catalogue size. Movies without any text get an empty row:
they have no content neighbours, and they never break a query.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.data.matrix import IdIndex
from movierec.core.errors import DataError
from movierec.core.models.base import Recommender
from movierec.core.models.registry import register
from movierec.core.models.text import has_text, movie_texts, text_tfidf

# ties (movies sharing no term with the profile) are ordered by popularity, far below any cosine
_POPULARITY_TIE_BREAK = 1e-6


@register(family="classic",
          summary="TF-IDF over movie text (overview, else genres, tags and title words), cosine similarity")
class ContentTfidf(Recommender):
    """Content-based engine: TF-IDF vectors of movie text (English stop words removed)."""

    name = "content_tfidf"

    uses_overviews = True

    def __init__(
        self, min_df: int = 1, max_df: float = 0.5, max_features: int | None = None, sublinear_tf: bool = True
    ) -> None:
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    # ----------------------------------------------------------------- fitting
    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        if movies is None:
            raise DataError("content_tfidf reads movie text: pass the movies table to fit(ratings, movies)")
        self.content_ids_ = np.unique(movies["movie"].to_numpy(np.int64))
        self.similar_index_ = IdIndex(self.content_ids_)
        with_text = int(has_text(movie_texts(movies, self.content_ids_)).sum())
        if with_text < 2:
            raise DataError(
                f"content_tfidf needs movie text: only {with_text} of {len(self.content_ids_)} movies have an "
                "overview, genres or tags (for MovieLens or Netflix data, join overviews with --metadata)"
            )
        tfidf, _ = text_tfidf(
            # terms in over half the texts say little and make every query touch most movies
            movies, self.content_ids_, min_df=self.min_df, max_df=self.max_df, max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
        )
        self.tfidf_ = tfidf.astype(np.float32)
        self.popularity_ = np.diff(self.seen_.tocsc().indptr).astype(np.float64)

    # ----------------------------------------------------------------- lookups
    def _by_term(self) -> sp.csr_matrix:
        """terms x movies: the inverted index a one-row query walks."""
        return self._derived("by_term", lambda: self.tfidf_.T.tocsr())

    def _rated_rows(self) -> np.ndarray:
        """For each movie of the ratings index, its row in `tfidf_` (-1 when it has no entry)."""
        return self._derived("rated_rows", lambda: self.similar_index_.index_of(self.movies_.ids))

    # ----------------------------------------------------------------- questions
    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        scores = np.asarray((self.tfidf_[movie_idx] @ self._by_term()).todense()).ravel().astype(np.float64)
        scores[scores <= 1e-9] = np.nan
        return scores

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        rows = [self.seen_[int(i)] for i in user_idx]
        return np.vstack([self._score_profile(row.indices, row.data.astype(np.float64)) for row in rows])

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        return self._score_profile(movie_idx, np.asarray(ratings, dtype=np.float64))

    def _score_profile(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Cosine of every rated-index movie to the user's taste vector, ties by popularity."""
        weights = _like_weights(ratings)
        rows = self._rated_rows()[movie_idx]
        has_row = rows >= 0
        profile = sp.csr_matrix(
            (weights[has_row], (np.zeros(int(has_row.sum()), dtype=np.int64), rows[has_row])),
            shape=(1, self.tfidf_.shape[0]),
        ) @ self.tfidf_
        norm = np.sqrt(profile.multiply(profile).sum())
        content_scores = np.zeros(self.tfidf_.shape[0])
        if norm > 0:
            content_scores = np.asarray((profile @ self._by_term()).todense()).ravel() / norm
        rated_rows = self._rated_rows()
        scores = np.where(rated_rows >= 0, content_scores[np.maximum(rated_rows, 0)], 0.0)
        return scores + _POPULARITY_TIE_BREAK * self.popularity_ / max(self.popularity_.max(), 1.0)

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """Per movie, the liked movie whose overview is closest: {movie, rating, similarity}."""
        index = self._known_user(user)
        row = self.seen_[index]
        liked = _like_weights(row.data.astype(np.float64)) > 0
        liked_idx, liked_ratings = row.indices[liked], row.data[liked]
        liked_rows = self._rated_rows()[liked_idx]
        keep = liked_rows >= 0
        liked_idx, liked_ratings, liked_rows = liked_idx[keep], liked_ratings[keep], liked_rows[keep]
        content = self.similar_index_
        out: list[dict[str, Any] | None] = []
        for movie in np.atleast_1d(np.asarray(movies)).tolist():
            target = content.position(int(movie))
            if target < 0 or not len(liked_rows):
                out.append(None)
                continue
            similarity = np.asarray((self.tfidf_[liked_rows] @ self.tfidf_[target].T).todense()).ravel()
            best = int(np.argmax(similarity))
            out.append(None if similarity[best] <= 0 else {
                "movie": int(self.movies_.ids[liked_idx[best]]),
                "rating": float(liked_ratings[best]),
                "similarity": float(similarity[best]),
            })
        return out

    # ----------------------------------------------------------------- persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {
            "content_ids": self.content_ids_,
            "tfidf_data": self.tfidf_.data,
            "tfidf_indices": self.tfidf_.indices,
            "tfidf_indptr": self.tfidf_.indptr,
            "tfidf_shape": np.array(self.tfidf_.shape),
            "popularity": self.popularity_,
        }

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.content_ids_ = state["content_ids"]
        self.similar_index_ = IdIndex(self.content_ids_)
        self.tfidf_ = sp.csr_matrix(
            (state["tfidf_data"], state["tfidf_indices"], state["tfidf_indptr"]),
            shape=tuple(int(x) for x in state["tfidf_shape"]),
        )
        self.popularity_ = state["popularity"]


def _like_weights(ratings: np.ndarray) -> np.ndarray:
    """How much each rated movie shapes the taste vector: how far it sits above the user's mean."""
    weights = ratings - ratings.mean()
    if (weights > 0).any():
        return np.maximum(weights, 0.0)
    # all ratings equal: every rated movie counts the same
    return np.ones_like(ratings)

