"""Drift of an explainer against the previous explainer of the same model flow.

Two views of the same question — has what drives the model changed? — on global importances
(mean |SHAP value| per feature): Spearman's rank correlation of the importances (1: same
order), and the features whose share of the total importance moved most.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.stats import spearmanr

__all__ = ["importance_drift", "importance_ranks", "importance_shares"]


def importance_shares(importance: Mapping[str, float]) -> dict[str, float]:
    """Each feature's share of the total importance (all zero when the total is zero)."""
    total = float(sum(importance.values()))
    return {name: (value / total if total > 0 else 0.0) for name, value in importance.items()}


def importance_ranks(importance: Mapping[str, float]) -> dict[str, int]:
    """1 for the most important feature, 2 for the next (ties in name order)."""
    ordered = sorted(importance, key=lambda name: (-importance[name], name))
    return {name: rank for rank, name in enumerate(ordered, start=1)}


def importance_drift(
    current: Mapping[str, float],
    previous: Mapping[str, float] | None,
    *,
    previous_run: str | None = None,
    top: int = 3,
) -> dict[str, Any] | None:
    """How the global importance moved since the previous explainer.

    Args:
        current: Feature -> mean |SHAP value| of this explainer.
        previous: The same of the previous explainer of the model flow (None: there is none).
        previous_run: The previous explainer's run, reported as is.
        top: How many of the most-moved features to report.

    Returns:
        None without a previous explainer, else ``previous_run``, ``rank_correlation``
        (Spearman over the shared features; None with fewer than two, or when either side
        is constant), ``changes`` (every shared feature by |share change|, largest first:
        feature, share, previous_share, change, rank, previous_rank), ``moved`` (the first
        ``top`` of them), ``added`` and ``removed`` features.
    """
    if previous is None:
        return None
    shared = sorted(set(current) & set(previous))
    correlation = None
    if len(shared) >= 2:
        now = np.array([current[name] for name in shared])
        before = np.array([previous[name] for name in shared])
        if np.ptp(now) > 0 and np.ptp(before) > 0:
            value = float(spearmanr(now, before).statistic)
            correlation = value if math.isfinite(value) else None
    shares, previous_shares = importance_shares(current), importance_shares(previous)
    ranks, previous_ranks = importance_ranks(current), importance_ranks(previous)
    moves = [
        {
            "feature": name,
            "share": shares[name],
            "previous_share": previous_shares[name],
            "change": shares[name] - previous_shares[name],
            "rank": ranks[name],
            "previous_rank": previous_ranks[name],
        }
        for name in shared
    ]
    moves.sort(key=lambda move: (-abs(move["change"]), move["feature"]))
    return {
        "previous_run": previous_run,
        "rank_correlation": correlation,
        "moved": moves[:top],
        "changes": moves,
        "added": sorted(set(current) - set(previous)),
        "removed": sorted(set(previous) - set(current)),
    }
