"""`ridge`: the one ridge solver behind the blend's weights and every closed-form fold-in."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from movierec.core.models.vectors import ridge


@pytest.fixture(scope="module")
def problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    features = rng.normal(0.0, 1.0, (40, 5))
    target = features @ np.array([0.5, -1.0, 0.2, 0.0, 2.0]) + 0.7 + rng.normal(0.0, 0.3, 40)
    return features, target


def _scikit_learn(features: np.ndarray, target: np.ndarray, penalties: np.ndarray) -> np.ndarray:
    """Scikit-learn's Ridge on columns scaled by 1/sqrt(penalty): the same minimum, found another way."""
    scale = np.sqrt(penalties)
    model = Ridge(alpha=1.0, fit_intercept=False, solver="svd").fit(features / scale, target)
    return model.coef_ / scale


def test_a_free_intercept_matches_scikit_learn_and_the_centred_solution(problem):
    features, target = problem
    coef, intercept = ridge(features, target, 3.0, intercept_penalty=0.0)
    reference = Ridge(alpha=3.0).fit(features, target)
    np.testing.assert_allclose(coef, reference.coef_, rtol=1e-10)
    assert intercept == pytest.approx(reference.intercept_, rel=1e-10)
    # the blend's former solver: centre, solve, intercept from the means
    centred = features - features.mean(axis=0)
    former = np.linalg.solve(centred.T @ centred + 3.0 * np.eye(5), centred.T @ (target - target.mean()))
    np.testing.assert_allclose(coef, former, rtol=1e-10)


def test_a_penalized_bias_with_one_weight_per_factor(problem):
    features, target = problem
    penalty = np.array([1.0, 2.0, 3.0, 4.0, 5.0]) * len(target)
    vector, bias = ridge(features, target, penalty, intercept_penalty=0.5 * len(target))
    expected = _scikit_learn(np.hstack([features, np.ones((len(target), 1))]), target, np.r_[penalty, 0.5 * len(target)])
    np.testing.assert_allclose(np.r_[vector, bias], expected, rtol=1e-8)


def test_no_intercept_leaves_the_bias_at_zero(problem):
    features, target = problem
    vector, bias = ridge(features, target, 4.0, intercept_penalty=None)
    assert bias == 0.0
    np.testing.assert_allclose(vector, _scikit_learn(features, target, np.full(5, 4.0)), rtol=1e-8)


def test_a_heavier_penalty_shrinks_the_weights(problem):
    features, target = problem
    light, _ = ridge(features, target, 0.1)
    heavy, _ = ridge(features, target, 1000.0)
    assert np.linalg.norm(heavy) < 0.2 * np.linalg.norm(light)
