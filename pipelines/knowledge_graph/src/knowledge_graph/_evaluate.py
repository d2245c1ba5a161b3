"""Quality metrics against ground truth: pairwise, B-cubed, blocking recall."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa

from knowledge_graph._blocking import (
    build_blocking_index,
    pairs_pass_blocking,
    pairs_within_groups,
)
from knowledge_graph._config import MatchConfig
from knowledge_graph._errors import InputDataError

__all__ = ["bcubed_scores", "evaluate_resolution", "pairwise_scores", "true_pairs"]

logger = logging.getLogger(__name__)


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


def evaluate_resolution(
    records: pa.Table,
    labels: np.ndarray,
    truth: pa.Table | None,
    config: MatchConfig,
) -> dict[str, float]:
    """Quality metrics against a truth table; empty when there is no truth.

    Args:
        records: Ordered records.
        labels: Per record, its cluster label (`resolve_entities`).
        truth: Id columns plus ``entity_id``, or None.
        config: The matching configuration (id columns, blocking rules).

    Returns:
        ``precision``, ``recall``, ``f1`` (pairwise), ``cluster_precision``,
        ``cluster_recall``, ``cluster_f1`` (B-cubed), ``blocking_recall`` and ``true_pairs``;
        ``{}`` without truth.

    Raises:
        InputDataError: The truth table lacks the id columns or ``entity_id``.
    """
    if truth is None:
        return {}
    needed = [*config.id_columns, "entity_id"]
    missing = [c for c in needed if c not in truth.column_names]
    if missing:
        raise InputDataError(
            f"truth table lacks columns {missing}; it needs {needed}, it has {truth.column_names}"
        )
    ids = pd.DataFrame(
        {c: records.column(c).to_numpy(zero_copy_only=False) for c in config.id_columns}
    )
    truth_frame = truth.select(needed).to_pandas().drop_duplicates(config.id_columns)
    joined = ids.merge(truth_frame, on=config.id_columns, how="left")
    unknown = joined["entity_id"].isna().to_numpy()
    if unknown.any():
        logger.warning("%d records have no truth row; each counts as its own entity", unknown.sum())
        joined.loc[unknown, "entity_id"] = [f"__unknown_{i}" for i in np.flatnonzero(unknown)]
    true_labels = joined["entity_id"].to_numpy()
    pairwise = pairwise_scores(labels, true_labels)
    bcubed = bcubed_scores(labels, true_labels)
    index = build_blocking_index(records, config)
    true_left, true_right = true_pairs(true_labels)
    survived = pairs_pass_blocking(index, true_left, true_right)
    return {
        "precision": pairwise["precision"],
        "recall": pairwise["recall"],
        "f1": pairwise["f1"],
        "cluster_precision": bcubed["precision"],
        "cluster_recall": bcubed["recall"],
        "cluster_f1": bcubed["f1"],
        "blocking_recall": float(survived.mean()) if len(survived) else 1.0,
        "true_pairs": len(true_left),
    }
