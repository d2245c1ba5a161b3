"""Quality metrics against ground truth: pairwise, B-cubed, blocking recall."""

from __future__ import annotations

import numpy as np
import pandas as pd

from knowledge_graph._blocking import pairs_within_groups
from knowledge_graph._errors import InputDataError

__all__ = ["bcubed_scores", "pairwise_scores", "true_pairs"]


def _check(predicted: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predicted = pd.factorize(np.asarray(predicted))[0]
    truth = pd.factorize(np.asarray(truth))[0]
    if len(predicted) != len(truth):
        raise InputDataError(
            f"predicted and true labels differ in length: {len(predicted)} != {len(truth)}"
        )
    return predicted, truth


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _pairs(sizes: np.ndarray) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 over record pairs placed in the same cluster.

    Args:
        predicted: Per record, its predicted cluster label.
        truth: Per record, its true entity label.

    Returns:
        ``{"precision", "recall", "f1", "true_pairs", "predicted_pairs"}``; precision
        (recall) is 1.0 when nothing is predicted (nothing is true).
    """
    predicted, truth = _check(predicted, truth)
    both = np.unique(
        predicted.astype(np.int64) * (truth.max(initial=0) + 1) + truth, return_counts=True
    )[1]
    correct = _pairs(both)
    predicted_pairs = _pairs(np.bincount(predicted)) if len(predicted) else 0
    true_pair_count = _pairs(np.bincount(truth)) if len(truth) else 0
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pair_count if true_pair_count else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "true_pairs": true_pair_count,
        "predicted_pairs": predicted_pairs,
    }


def bcubed_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """B-cubed precision, recall and F1 (per-record averages of cluster overlap).

    For each record: precision is the share of its predicted cluster that truly belongs with
    it, recall the share of its true entity that the predicted cluster holds.
    """
    predicted, truth = _check(predicted, truth)
    if len(predicted) == 0:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    cell = predicted.astype(np.int64) * (truth.max() + 1) + truth
    _, cell_index, cell_count = np.unique(cell, return_inverse=True, return_counts=True)
    overlap = cell_count[cell_index]
    precision = float(np.mean(overlap / np.bincount(predicted)[predicted]))
    recall = float(np.mean(overlap / np.bincount(truth)[truth]))
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall)}


def true_pairs(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All record pairs ``(i < j)`` that share a true entity label."""
    labels = pd.factorize(np.asarray(truth))[0]
    order = np.argsort(labels, kind="stable")
    return pairs_within_groups(order, labels[order])
