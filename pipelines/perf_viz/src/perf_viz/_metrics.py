"""The metrics the service answers and the app shows, computed from additive counts."""

from __future__ import annotations

from typing import Literal

__all__ = ["METRICS", "Metric", "format_metric", "metric_value"]

Metric = Literal["views", "hours_viewed", "completion_rate"]
METRICS: dict[str, str] = {
    "views": "Views",
    "hours_viewed": "Hours viewed",
    "completion_rate": "Completion rate",
}
"""Metric name -> its label."""


def metric_value(metric: str, views: float, completions: float, hours: float) -> float | None:
    """A metric from summed counts; a completion rate without views is None (not zero)."""
    if metric == "views":
        return float(views)
    if metric == "hours_viewed":
        return round(float(hours), 3)
    if metric == "completion_rate":
        return round(completions / views, 6) if views else None
    raise ValueError(f"unknown metric {metric!r}; metrics are {sorted(METRICS)}")


def format_metric(metric: str, value: float | None) -> str:
    """How the app prints a metric's value: ``12,345``, ``1,234.5`` or ``45.6%``."""
    if value is None:
        return "n/a"
    if metric == "views":
        return f"{round(value):,}"
    if metric == "hours_viewed":
        return f"{value:,.1f}"
    return f"{value:.1%}"
