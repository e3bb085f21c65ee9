"""The eleven scikit-surprise algorithms as movierec engines (`surprise_svd` ... `surprise_coclustering`).

Surprise fits; movierec predicts. Each engine builds a Surprise `Trainset` whose inner ids are
movierec's user and movie positions, runs the algorithm's own `fit`, then copies the learned
arrays (pu, qi, bu, bi, yj, the similarity matrix, ...) and answers every question with numpy:
`predict` reproduces Surprise's `estimate` for a whole batch (clipped to the rating range, as
Surprise's `predict` does), `recommend` scores all movies of a user in one step (unclipped, so
ties at the top of the scale keep their order). `save` stores those arrays in the npz file and
`load` needs no Surprise at all; nothing is pickled.

Parameters are the algorithm's own keyword arguments with Surprise's defaults (`verbose` is always
off); `random_state` defaults to 42 rather than None so that benchmarks repeat.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.models.base import Recommender
from movierec.core.models.classic.baseline import fold_in_user_bias
from movierec.core.models.library.surprise_knn import NeighbourSums, neighbour_sums, rated_neighbour_reason
from movierec.core.models.registry import register
from movierec.core.models.vectors import cached_unit_rows, evidence_weight, factor_reasons, ridge


def build_trainset(
    seen: sp.csr_matrix, user_ids: np.ndarray, movie_ids: np.ndarray, rating_scale: tuple[float, float]
) -> Any:
    """A Surprise Trainset straight from a user x movie CSR matrix: inner ids are its positions,
    raw ids are `user_ids` / `movie_ids` (so `algo.predict(user, movie)` takes movierec ids)."""
    from surprise import Trainset

    by_movie = seen.tocsc()
    ur: defaultdict[int, list[tuple[int, float]]] = defaultdict(list)
    ir: defaultdict[int, list[tuple[int, float]]] = defaultdict(list)
    for rows, matrix in ((ur, seen), (ir, by_movie)):
        indices, data = matrix.indices.tolist(), matrix.data.astype(np.float64).tolist()
        bounds = matrix.indptr.tolist()
        for row in range(matrix.shape[0] if matrix is seen else matrix.shape[1]):
            rows[row] = list(zip(indices[bounds[row]: bounds[row + 1]], data[bounds[row]: bounds[row + 1]]))
    n_users, n_movies = seen.shape
    return Trainset(ur, ir, n_users, n_movies, int(seen.nnz), tuple(rating_scale),
                    dict(zip(np.asarray(user_ids).tolist(), range(n_users))),
                    dict(zip(np.asarray(movie_ids).tolist(), range(n_movies))))


class SurpriseEngine(Recommender):
    """Fits a Surprise algorithm, keeps its learned arrays, predicts with numpy."""

    #: the Surprise class this engine wraps
    algorithm: ClassVar[str] = ""
    #: Surprise attribute names copied after fit (saved as arrays, restored by load)
    learned: ClassVar[tuple[str, ...]] = ()

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        import surprise

        algo_class = getattr(surprise, self.algorithm)
        accepted = inspect.signature(algo_class.__init__).parameters
        kwargs = {key: _copy(key, value) for key, value in self.get_params().items() if key in accepted}
        if "verbose" in accepted:
            kwargs["verbose"] = False
        trainset = build_trainset(self.seen_, self.users_.ids, self.movies_.ids, self.rating_range_)
        algo = algo_class(**kwargs).fit(trainset)
        self.algo_ = algo  # the fitted Surprise object, kept for comparison; not saved
        self._set_state({name: np.asarray(getattr(algo, name)) for name in self.learned})

    def _state(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, f"{name}_") for name in self.learned}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        for name in self.learned:
            setattr(self, f"{name}_", np.asarray(state[name]))

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return self._estimate(np.asarray(user_idx), np.asarray(movie_idx))  # `predict` clips, as Surprise's does

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        n = len(self.movies_)
        users = np.repeat(np.asarray(user_idx, dtype=np.int64), n)
        return self._estimate(users, np.tile(np.arange(n), len(user_idx))).reshape(len(user_idx), n)

    def _estimate(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        """Surprise's `estimate` for index pairs (-1 = unknown), unclipped."""
        raise NotImplementedError

    def _known(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return user_idx >= 0, movie_idx >= 0

    def _biases(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        """mu + bu + bi, each bias only where its id is known."""
        known_user, known_movie = self._known(user_idx, movie_idx)
        return (
            self.global_mean_
            + np.where(known_user, self.bu_[np.maximum(user_idx, 0)], 0.0)
            + np.where(known_movie, self.bi_[np.maximum(movie_idx, 0)], 0.0)
        )

    def _rated_by_user(self, user_idx: int) -> np.ndarray:
        """Positions of the movies a user rated in training (Surprise's `ur[u]`)."""
        return self.seen_.indices[self.seen_.indptr[user_idx]: self.seen_.indptr[user_idx + 1]]


def _copy(name: str, value: Any) -> Any:
    # Surprise writes into the option dicts it is given (sim_options['user_based']); None means {}
    return _options(value) if name.endswith("_options") else value


def _options(value: dict[str, Any] | None) -> dict[str, Any]:
    return dict(value) if value else {}


# --------------------------------------------------------------------------- matrix factorization
class _Factors(SurpriseEngine):
    """Shared by SVD, SVD++ and NMF: item factors qi give similar movies and fold-in."""

    learned = ("pu", "qi", "bu", "bi")
    biased: bool = True

    def _user_factors(self, user_idx: np.ndarray) -> np.ndarray:
        """The factors a user's dot product uses (SVD++ adds its implicit-feedback term)."""
        return self.pu_[user_idx]

    def _estimate(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        known_user, known_movie = self._known(user_idx, movie_idx)
        both = known_user & known_movie
        factors = self._user_factors(np.maximum(user_idx, 0))
        dot = np.where(both, np.einsum("ij,ij->i", self.qi_[np.maximum(movie_idx, 0)], factors), 0.0)
        if self.biased:
            return self._biases(user_idx, movie_idx) + dot
        return np.where(both, dot, self.global_mean_)  # Surprise: PredictionImpossible -> mean

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        scores = self._user_factors(user_idx) @ self.qi_.T
        if self.biased:
            scores += self.global_mean_ + self.bu_[user_idx, None] + self.bi_[None, :]
        return scores

    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        # a rarely rated movie's factors are mostly their random start: its cosine counts less
        unit = cached_unit_rows(self, self.qi_)
        return (unit @ unit[movie_idx]) * evidence_weight(self.ratings_per_movie())

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """Per movie, the liked rated movies that pull it up most in the learned space (`factor_reasons`).

        The expected rating of each rated movie is the engine's baseline (mu + bu + bi), or the
        global mean for an unbiased model.
        """
        index = self._known_user(user)
        rated = self._rated_by_user(index)
        expected = self._biases(np.full(len(rated), index), rated) if self.biased else np.full(len(rated), self.global_mean_)
        return factor_reasons(self, index, movies, cached_unit_rows(self, self.qi_), expected)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Regularized least squares for a new user's factors (and bias) against frozen qi, bi."""
        implicit = self._new_user_implicit(movie_idx)
        target = ratings - self.qi_[movie_idx] @ implicit
        if self.biased:
            target = target - self.global_mean_ - self.bi_[movie_idx]
        pu, bu = self._solve_user(self.qi_[movie_idx], target)
        scores = self.qi_ @ (pu + implicit)
        if self.biased:
            scores = scores + self.global_mean_ + bu + self.bi_
        return scores

    def _new_user_implicit(self, movie_idx: np.ndarray) -> np.ndarray:
        return np.zeros(self.qi_.shape[1])

    def _solve_user(self, qi: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
        # Surprise regularizes once per rating in SGD, so the penalty grows with the ratings
        reg_pu, reg_bu = self._fold_in_regularization()
        return ridge(qi, target, reg_pu * len(qi), intercept_penalty=reg_bu * len(qi) if self.biased else None)

    def _fold_in_regularization(self) -> tuple[float, float]:
        reg_all = getattr(self, "reg_all", 0.02)
        reg_pu = self.reg_pu if self.reg_pu is not None else reg_all
        reg_bu = self.reg_bu if self.reg_bu is not None else reg_all
        return float(reg_pu), float(reg_bu)


@register(family="surprise", requires="surprise",
          summary="scikit-surprise SVD: matrix factorization, Funk SVD with biases")
class SurpriseSVD(_Factors):
    """Surprise `SVD`: Funk matrix factorization with biases, fitted by SGD."""

    name = "surprise_svd"

    algorithm = "SVD"

    def __init__(self, n_factors: int = 100, n_epochs: int = 20, biased: bool = True, init_mean: float = 0,
                 init_std_dev: float = 0.1, lr_all: float = 0.005, reg_all: float = 0.02,
                 lr_bu: float | None = None, lr_bi: float | None = None, lr_pu: float | None = None,
                 lr_qi: float | None = None, reg_bu: float | None = None, reg_bi: float | None = None,
                 reg_pu: float | None = None, reg_qi: float | None = None, random_state: int | None = 42) -> None:
        self.n_factors, self.n_epochs, self.biased = n_factors, n_epochs, biased
        self.init_mean, self.init_std_dev = init_mean, init_std_dev
        self.lr_all, self.reg_all = lr_all, reg_all
        self.lr_bu, self.lr_bi, self.lr_pu, self.lr_qi = lr_bu, lr_bi, lr_pu, lr_qi
        self.reg_bu, self.reg_bi, self.reg_pu, self.reg_qi = reg_bu, reg_bi, reg_pu, reg_qi
        self.random_state = random_state


@register(family="surprise", summary="scikit-surprise SVDpp: SVD++ with implicit feedback", requires="surprise")
class SurpriseSVDpp(_Factors):
    """Surprise `SVDpp`: SVD plus implicit feedback yj from which movies a user rated."""

    name = "surprise_svdpp"

    algorithm = "SVDpp"
    learned = ("pu", "qi", "bu", "bi", "yj")

    def __init__(self, n_factors: int = 20, n_epochs: int = 20, init_mean: float = 0, init_std_dev: float = 0.1,
                 lr_all: float = 0.007, reg_all: float = 0.02, lr_bu: float | None = None,
                 lr_bi: float | None = None, lr_pu: float | None = None, lr_qi: float | None = None,
                 lr_yj: float | None = None, reg_bu: float | None = None, reg_bi: float | None = None,
                 reg_pu: float | None = None, reg_qi: float | None = None, reg_yj: float | None = None,
                 cache_ratings: bool = False, random_state: int | None = 42) -> None:
        self.n_factors, self.n_epochs = n_factors, n_epochs
        self.init_mean, self.init_std_dev = init_mean, init_std_dev
        self.lr_all, self.reg_all = lr_all, reg_all
        self.lr_bu, self.lr_bi, self.lr_pu, self.lr_qi, self.lr_yj = lr_bu, lr_bi, lr_pu, lr_qi, lr_yj
        self.reg_bu, self.reg_bi, self.reg_pu, self.reg_qi, self.reg_yj = reg_bu, reg_bi, reg_pu, reg_qi, reg_yj
        self.cache_ratings = cache_ratings
        self.random_state = random_state

    def _user_factors(self, user_idx: np.ndarray) -> np.ndarray:
        # pu + |N(u)|^-1/2 * sum of yj over the movies u rated, each distinct user once
        unique, inverse = np.unique(user_idx, return_inverse=True)
        rated = self.seen_[unique]
        counts = np.diff(rated.indptr).astype(np.float64)
        rated = sp.csr_matrix((np.ones(rated.nnz), rated.indices, rated.indptr), shape=rated.shape)
        implicit = (rated @ self.yj_) / np.sqrt(np.maximum(counts, 1.0))[:, None]
        return self.pu_[unique][inverse] + implicit[inverse]

    def _new_user_implicit(self, movie_idx: np.ndarray) -> np.ndarray:
        return self.yj_[movie_idx].sum(axis=0) / np.sqrt(len(movie_idx))


@register(family="surprise", summary="scikit-surprise NMF: non-negative matrix factorization", requires="surprise")
class SurpriseNMF(_Factors):
    """Surprise `NMF`: non-negative factors by multiplicative updates (biases optional)."""

    name = "surprise_nmf"

    algorithm = "NMF"

    def __init__(self, n_factors: int = 15, n_epochs: int = 50, biased: bool = False, reg_pu: float = 0.06,
                 reg_qi: float = 0.06, reg_bu: float = 0.02, reg_bi: float = 0.02, lr_bu: float = 0.005,
                 lr_bi: float = 0.005, init_low: float = 0, init_high: float = 1,
                 random_state: int | None = 42) -> None:
        self.n_factors, self.n_epochs, self.biased = n_factors, n_epochs, biased
        self.reg_pu, self.reg_qi, self.reg_bu, self.reg_bi = reg_pu, reg_qi, reg_bu, reg_bi
        self.lr_bu, self.lr_bi = lr_bu, lr_bi
        self.init_low, self.init_high = init_low, init_high
        self.random_state = random_state

    def _solve_user(self, qi: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
        # the user factors must stay non-negative: ridge as an augmented non-negative LS
        from scipy.optimize import nnls

        reg_pu, _ = self._fold_in_regularization()
        n_factors = qi.shape[1]
        design = np.vstack([qi, np.sqrt(reg_pu * len(qi)) * np.eye(n_factors)])
        pu, _ = nnls(design, np.r_[target, np.zeros(n_factors)])
        return pu, 0.0  # a new user's bias is unknown to NMF, as in Surprise's estimate


# --------------------------------------------------------------------------- baselines and others
@register(family="surprise", requires="surprise",
          summary="scikit-surprise BaselineOnly: global mean plus user and item baselines (ALS)")
class SurpriseBaselineOnly(SurpriseEngine):
    """Surprise `BaselineOnly`: mu + bu + bi, by ALS (default) or SGD (`bsl_options`)."""

    name = "surprise_baselineonly"

    algorithm = "BaselineOnly"
    learned = ("bu", "bi")

    def __init__(self, bsl_options: dict[str, Any] | None = None) -> None:
        self.bsl_options = bsl_options

    def _estimate(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return self._biases(user_idx, movie_idx)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        # one ALS step for the new user's bias; ranking then follows the movie biases
        reg_u = float(_options(self.bsl_options).get("reg_u", 15))
        return self.global_mean_ + fold_in_user_bias(self.global_mean_, self.bi_, movie_idx, ratings, reg_u) + self.bi_


@register(family="surprise", requires="surprise",
          summary="scikit-surprise NormalPredictor: random ratings from the training distribution")
class SurpriseNormalPredictor(SurpriseEngine):
    """Surprise `NormalPredictor`: random ratings from N(mu, sigma) of the training ratings."""

    name = "surprise_normalpredictor"

    algorithm = "NormalPredictor"
    learned = ("sigma",)

    def __init__(self, random_state: int | None = 42) -> None:
        self.random_state = random_state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        super()._set_state(state)
        # Surprise draws from numpy's global generator; a seeded one makes runs repeat
        self.rng_ = np.random.default_rng(self.random_state)

    def _estimate(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return self.rng_.normal(self.global_mean_, float(self.sigma_), size=len(user_idx))


@register(family="surprise", summary="scikit-surprise SlopeOne: Slope One item deviations", requires="surprise")
class SurpriseSlopeOne(SurpriseEngine):
    """Surprise `SlopeOne`: user mean plus the mean deviation to the movies the user rated.

    Memory: two dense movies x movies arrays while fitting (Surprise's), one (`dev`) kept.
    Surprise's fit reads ratings as C ints, so half stars are truncated in the deviations.
    """

    name = "surprise_slopeone"

    algorithm = "SlopeOne"
    learned = ("dev", "user_mean")

    def __init__(self) -> None:
        pass

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        super()._fit(ratings, movies)
        # deviations between movies nobody rated together are NaN: Surprise skips them (freq == 0)
        self.dev_[np.asarray(self.algo_.freq) == 0] = np.nan  # in place: dev_ is Surprise's array
        self.algo_ = None  # drop Surprise's second movies x movies array

    def _estimate(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        known_user, known_movie = self._known(user_idx, movie_idx)
        estimate = np.full(len(user_idx), self.global_mean_)
        both = np.flatnonzero(known_user & known_movie)
        for user in np.unique(user_idx[both]):
            pairs = both[user_idx[both] == user]
            rated = self._rated_by_user(int(user))
            estimate[pairs] = self._from_rated(movie_idx[pairs], rated, float(self.user_mean_[user]))
        return estimate

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        every = np.arange(len(self.movies_))
        return np.vstack(
            [self._from_rated(every, self._rated_by_user(int(i)), float(self.user_mean_[i])) for i in user_idx]
        )

    def _from_rated(self, movie_idx: np.ndarray, rated: np.ndarray, user_mean: float) -> np.ndarray:
        deviations = self.dev_[np.ix_(movie_idx, rated)]
        present = ~np.isnan(deviations)
        total = np.where(present, deviations, 0.0).sum(axis=1)
        counts = present.sum(axis=1)
        return user_mean + np.where(counts > 0, total / np.maximum(counts, 1), 0.0)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        return self._from_rated(np.arange(len(self.movies_)), movie_idx, float(np.mean(ratings)))


@register(family="surprise", requires="surprise",
          summary="scikit-surprise CoClustering: co-clustering of users and items")
class SurpriseCoClustering(SurpriseEngine):
    """Surprise `CoClustering`: user and movie clusters, their averages plus individual offsets."""

    name = "surprise_coclustering"

    algorithm = "CoClustering"
    learned = ("cltr_u", "cltr_i", "user_mean", "item_mean", "avg_cltr_u", "avg_cltr_i", "avg_cocltr")

    def __init__(self, n_cltr_u: int = 3, n_cltr_i: int = 3, n_epochs: int = 20,
                 random_state: int | None = 42) -> None:
        self.n_cltr_u, self.n_cltr_i, self.n_epochs = n_cltr_u, n_cltr_i, n_epochs
        self.random_state = random_state

    def _estimate(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        known_user, known_movie = self._known(user_idx, movie_idx)
        users, movies = np.maximum(user_idx, 0), np.maximum(movie_idx, 0)
        user_cluster, movie_cluster = self.cltr_u_[users], self.cltr_i_[movies]
        estimate = (
            self.avg_cocltr_[user_cluster, movie_cluster]
            + self.user_mean_[users] - self.avg_cltr_u_[user_cluster]
            + self.item_mean_[movies] - self.avg_cltr_i_[movie_cluster]
        )
        return np.where(known_user & known_movie, estimate, self.global_mean_)


# --------------------------------------------------------------------------- k nearest neighbours
class _KNN(SurpriseEngine):
    """Shared by the four Surprise k-NN algorithms (user-based unless sim_options says otherwise).

    Similar movies come from the similarity matrix when it is item-based (`user_based: False`);
    the default user-based matrix has no movie similarities.
    """

    learned = ("sim",)

    def __init__(self, k: int = 40, min_k: int = 1, sim_options: dict[str, Any] | None = None) -> None:
        self.k, self.min_k, self.sim_options = k, min_k, sim_options

    @property
    def user_based(self) -> bool:
        return bool(_options(self.sim_options).get("user_based", True))

    @property
    def has_similar_movies(self) -> bool:
        """Only an item-based similarity matrix relates movies to movies."""
        return not self.user_based

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        super()._set_state(state)
        # Surprise's yr: for user-based the raters of each movie, for item-based each user's movies
        self.neighbours_ = self.seen_.T.tocsr() if self.user_based else self.seen_

    def _estimate(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        known_user, known_movie = self._known(user_idx, movie_idx)
        both = np.flatnonzero(known_user & known_movie)
        estimate = self._fallback(user_idx, movie_idx)
        users, movies = user_idx[both], movie_idx[both]
        x, y = (users, movies) if self.user_based else (movies, users)
        sums = neighbour_sums(self.neighbours_, self.sim_, x, y, int(self.k), **self._terms())
        estimate[both] = self._combine(x, users, movies, sums)
        return estimate

    def _fallback(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return np.full(len(user_idx), self.global_mean_)

    def _terms(self) -> dict[str, np.ndarray]:
        return {"offset": self.means_}

    def _combine(self, x: np.ndarray, users: np.ndarray, movies: np.ndarray, sums: NeighbourSums) -> np.ndarray:
        """KNNWithMeans: mean of x plus the weighted mean offset; fewer than min_k neighbours: mean."""
        return self.means_[x] + self._neighbour_mean(sums)

    def _neighbour_mean(self, sums: NeighbourSums) -> np.ndarray:
        enough = (sums.count >= self.min_k) & (sums.weights > 0)
        return np.where(enough, sums.weighted / np.where(enough, sums.weights, 1.0), 0.0)

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """Item-based: per movie, the liked rated movies among its k nearest that raise the estimate most."""
        if self.user_based:
            return super().reasons(user, movies)
        index = self._known_user(user)
        rated = self._rated_by_user(index)
        ratings = self.seen_.data[self.seen_.indptr[index]: self.seen_.indptr[index + 1]].astype(np.float64)
        terms = self._terms()
        # the term each rated movie j adds, as in neighbour_sums: (r - offset[j] - target_offset[u]) / scale[j]
        residual = ratings - terms["offset"][rated] if "offset" in terms else ratings.copy()
        if "target_offset" in terms:
            residual -= terms["target_offset"][index]
        if "scale" in terms:
            residual /= terms["scale"][rated]
        liked_from = max(float(ratings.mean()), sum(self.rating_range_) / 2)
        return [
            None if m < 0 else rated_neighbour_reason(self.sim_[m, rated], residual, ratings, self.movies_.ids[rated],
                                                      int(self.k), liked_from)
            for m in self.movies_.index_of(np.atleast_1d(np.asarray(movies))).tolist()
        ]

    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        # Surprise's similarities are not shrunk by default (msd, cosine): weigh rare movies' down
        return self.sim_[movie_idx] * evidence_weight(self.ratings_per_movie())


@register(family="surprise", summary="scikit-surprise KNNBasic: basic kNN", requires="surprise")
class SurpriseKNNBasic(_KNN):
    """Surprise `KNNBasic`: similarity-weighted mean rating of the k nearest neighbours."""

    name = "surprise_knnbasic"

    algorithm = "KNNBasic"

    def _terms(self) -> dict[str, np.ndarray]:
        return {}

    def _combine(self, x: np.ndarray, users: np.ndarray, movies: np.ndarray, sums: NeighbourSums) -> np.ndarray:
        possible = (sums.count >= self.min_k) & (sums.weights > 0)
        return np.where(possible, sums.weighted / np.where(possible, sums.weights, 1.0), self.global_mean_)


@register(family="surprise", summary="scikit-surprise KNNWithMeans: kNN over mean-centred ratings", requires="surprise")
class SurpriseKNNWithMeans(_KNN):
    """Surprise `KNNWithMeans`: kNN over mean-centred ratings."""

    name = "surprise_knnwithmeans"

    algorithm = "KNNWithMeans"
    learned = ("sim", "means")


@register(family="surprise", summary="scikit-surprise KNNWithZScore: kNN over z-scored ratings", requires="surprise")
class SurpriseKNNWithZScore(_KNN):
    """Surprise `KNNWithZScore`: kNN over z-scored ratings."""

    name = "surprise_knnwithzscore"

    algorithm = "KNNWithZScore"
    learned = ("sim", "means", "sigmas")

    def _terms(self) -> dict[str, np.ndarray]:
        return {"offset": self.means_, "scale": self.sigmas_}

    def _combine(self, x: np.ndarray, users: np.ndarray, movies: np.ndarray, sums: NeighbourSums) -> np.ndarray:
        return self.means_[x] + self._neighbour_mean(sums) * self.sigmas_[x]


@register(family="surprise", requires="surprise",
          summary="scikit-surprise KNNBaseline: kNN over baseline-corrected ratings "
                  "(user-based unless sim_options says otherwise)")
class SurpriseKNNBaseline(_KNN):
    """Surprise `KNNBaseline`: kNN over baseline-corrected ratings, the baseline as fallback."""

    name = "surprise_knnbaseline"

    algorithm = "KNNBaseline"
    learned = ("sim", "bu", "bi")

    def __init__(self, k: int = 40, min_k: int = 1, sim_options: dict[str, Any] | None = None,
                 bsl_options: dict[str, Any] | None = None) -> None:
        super().__init__(k, min_k, sim_options)
        self.bsl_options = bsl_options

    def _fallback(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return self._biases(user_idx, movie_idx)

    def _terms(self) -> dict[str, np.ndarray]:
        bx, by = (self.bu_, self.bi_) if self.user_based else (self.bi_, self.bu_)
        return {"offset": self.global_mean_ + bx, "target_offset": by}

    def _combine(self, x: np.ndarray, users: np.ndarray, movies: np.ndarray, sums: NeighbourSums) -> np.ndarray:
        return self._biases(users, movies) + self._neighbour_mean(sums)
