"""Rating and ranking metrics on small hand-made cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from movierec.core.evaluation.metrics import mae, ranking_metrics, relevant_items, rmse


def test_rmse_and_mae_on_a_hand_made_case():
    assert rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))
    assert mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)


def test_rating_metrics_refuse_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="length"):
        rmse([1, 2], [1])
    with pytest.raises(ValueError, match="no ratings"):
        mae([], [])


def test_a_perfect_list_scores_one_everywhere():
    result = ranking_metrics({1: [5, 6]}, {1: [5, 6]}, k=2, catalogue_size=4)
    for name in ("precision", "recall", "ndcg", "map", "hit_rate"):
        assert result[f"{name}@2"] == pytest.approx(1.0), name
    assert result["coverage@2"] == pytest.approx(0.5)


def test_ranking_metrics_on_a_hand_made_case():
    # user 1: hits at ranks 1 and 3 of 3, relevant {10, 30, 40}; user 2: no hit
    result = ranking_metrics({1: [10, 20, 30], 2: [50, 60, 70]}, {1: [10, 30, 40], 2: [99]}, k=3, catalogue_size=10)
    assert result["precision@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert result["recall@3"] == pytest.approx((2 / 3 + 0) / 2)
    dcg = 1 + 1 / math.log2(4)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert result["ndcg@3"] == pytest.approx(dcg / ideal / 2)
    assert result["map@3"] == pytest.approx((1 + 2 / 3) / 3 / 2)
    assert result["hit_rate@3"] == pytest.approx(0.5)
    assert result["coverage@3"] == pytest.approx(6 / 10)
    assert result["users"] == 2


def test_a_hit_lower_in_the_list_is_worth_less():
    top = ranking_metrics({1: [7, 1, 2]}, {1: [7]}, k=3, catalogue_size=10)
    low = ranking_metrics({1: [1, 2, 7]}, {1: [7]}, k=3, catalogue_size=10)
    assert top["precision@3"] == low["precision@3"]
    assert top["ndcg@3"] > low["ndcg@3"] and top["map@3"] > low["map@3"]


def test_training_movies_never_count_even_if_a_list_contains_them():
    # movie 10 was rated in training: listing it earns nothing and it is not relevant
    cheating = ranking_metrics({1: [10, 20]}, {1: [10, 20]}, k=2, catalogue_size=5, seen={1: [10]})
    assert cheating["precision@2"] == pytest.approx(0.5)
    assert cheating["recall@2"] == pytest.approx(1.0)  # the one unseen relevant movie was found
    only_seen = ranking_metrics({1: [10]}, {1: [10]}, k=1, catalogue_size=5, seen={1: [10]})
    assert only_seen["users"] == 0


def test_lists_are_cut_at_k():
    result = ranking_metrics({1: [1, 2, 3, 4]}, {1: [4]}, k=3, catalogue_size=10)
    assert result["hit_rate@3"] == 0.0 and result["coverage@3"] == pytest.approx(0.3)


def test_relevance_threshold_keeps_only_well_rated_test_movies():
    test = pd.DataFrame({"user": [1, 1, 2], "movie": [10, 11, 12], "rating": [5.0, 2.0, 3.0]})
    assert {u: m.tolist() for u, m in relevant_items(test).items()} == {1: [10, 11], 2: [12]}
    assert {u: m.tolist() for u, m in relevant_items(test, threshold=4).items()} == {1: [10]}


def test_k_must_be_positive():
    with pytest.raises(ValueError, match="k must be"):
        ranking_metrics({}, {}, k=0, catalogue_size=1)
