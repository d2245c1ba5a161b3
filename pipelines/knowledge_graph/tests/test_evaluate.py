import knowledge_graph as kg
import numpy as np
import pytest
from knowledge_graph._evaluate import true_pairs


def test_pairwise_scores_known_values():
    truth = np.array(["a", "a", "a", "b", "b", "c"])
    predicted = np.array([1, 1, 2, 2, 2, 3])
    scores = kg.pairwise_scores(predicted, truth)
    # true pairs: 3 (a) + 1 (b) = 4; predicted: 1 + 3 = 4; correct: (0,1) and (3,4) = 2
    assert scores["true_pairs"] == 4 and scores["predicted_pairs"] == 4
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(0.5)


def test_perfect_and_all_singletons():
    truth = np.array([0, 0, 1, 1, 2])
    assert kg.pairwise_scores(truth, truth)["f1"] == 1.0
    assert kg.bcubed_scores(truth, truth)["f1"] == 1.0
    singletons = kg.pairwise_scores(np.arange(5), truth)
    assert singletons["precision"] == 1.0 and singletons["recall"] == 0.0


def test_bcubed_known_values():
    truth = np.array([0, 0, 1])
    predicted = np.array([0, 0, 0])
    scores = kg.bcubed_scores(predicted, truth)
    assert scores["precision"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3) / 3)
    assert scores["recall"] == pytest.approx(1.0)


def test_true_pairs_and_length_mismatch():
    left, right = true_pairs(np.array(["x", "y", "x", "x"]))
    assert sorted(zip(left.tolist(), right.tolist(), strict=False)) == [(0, 2), (0, 3), (2, 3)]
    with pytest.raises(kg.InputDataError, match="differ in length"):
        kg.pairwise_scores(np.array([0, 1]), np.array([0]))
