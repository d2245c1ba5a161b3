"""Altair charts of the service's answers (time series, breakdown bars, retention, peers).

Charts render as SVG (Vega's ``usermeta.embedOptions``), so every mark is in the page's DOM,
and each mark's ``aria-label`` is its exact value as the service gave it (the ``description``
channel, ``<series> | <x> | <value>``): what a person sees is what a browser test reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

__all__ = ["breakdown_chart", "peers_chart", "retention_chart", "timeseries_chart"]

_SVG = {"embedOptions": {"renderer": "svg", "actions": False}}
_HEIGHT = 300


def _axis_format(metric: str) -> str:
    return ".0%" if metric == "completion_rate" else ",.0f"


def _exact_format(metric: str) -> str:
    return ".4f" if metric == "completion_rate" else ",.2f"


def _described(frame: pd.DataFrame, series: str, x: str, value: str) -> pd.DataFrame:
    """``frame`` with a ``description`` column: each mark's aria-label."""
    frame = frame.copy()
    frame["description"] = [
        f"{s} | {x_value} | {v}"
        for s, x_value, v in zip(frame[series], frame[x], frame[value], strict=True)
    ]
    return frame


def timeseries_chart(answer: Mapping[str, Any]) -> alt.Chart:
    """The metric per day, one line per title."""
    frame = pd.DataFrame(answer["points"], columns=["date", "title_id", "title", "value"])
    frame = _described(frame, "title", "date", "value")
    label = answer["metric_label"]
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("date:T", title="Date", axis=alt.Axis(format="%b %d", tickCount="day")),
            y=alt.Y("value:Q", title=label, axis=alt.Axis(format=_axis_format(answer["metric"]))),
            color=alt.Color("title:N", title="Title"),
            description="description:N",
            tooltip=[
                alt.Tooltip("date:T", title="Date"),
                alt.Tooltip("title:N", title="Title"),
                alt.Tooltip("value:Q", title=label, format=_exact_format(answer["metric"])),
            ],
        )
        .properties(height=_HEIGHT, usermeta=_SVG, title=f"{label} per day")
    )


def breakdown_chart(answer: Mapping[str, Any]) -> alt.Chart:
    """One bar per country, region or genre, largest first."""
    frame = pd.DataFrame(answer["bars"], columns=["label", "value"])
    frame = _described(frame, "label", "label", "value")
    label = answer["metric_label"]
    by = answer["by"].capitalize()
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("label:N", title=by, sort=None),
            y=alt.Y("value:Q", title=label, axis=alt.Axis(format=_axis_format(answer["metric"]))),
            description="description:N",
            tooltip=[
                alt.Tooltip("label:N", title=by),
                alt.Tooltip("value:Q", title=label, format=_exact_format(answer["metric"])),
            ],
        )
        .properties(height=_HEIGHT, usermeta=_SVG, title=f"{label} by {answer['by']}")
    )


def retention_chart(answer: Mapping[str, Any]) -> alt.Chart:
    """Share of views still watching at each tenth of the runtime, one line per title."""
    frame = pd.DataFrame(answer["points"], columns=["title_id", "title", "position", "share"])
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("position:Q", title="Share of the runtime reached (%)"),
            y=alt.Y("share:Q", title="Share of views", axis=alt.Axis(format=".0%")),
            color=alt.Color("title:N", title="Title"),
            tooltip=["title:N", "position:Q", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=_HEIGHT, usermeta=_SVG, title="Retention")
    )


def peers_chart(comparison: Mapping[str, Any], metric: str, metric_label: str) -> alt.Chart:
    """A title's cumulative first days against the median of its peers."""
    frame = pd.DataFrame(comparison["curve"], columns=["day", "series", "value"])
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("day:Q", title="Days since release", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y(
                "value:Q",
                title=f"{metric_label}, cumulative",
                axis=alt.Axis(format=_axis_format(metric)),
            ),
            color=alt.Color("series:N", title=None),
            tooltip=["series:N", "day:Q", alt.Tooltip("value:Q", title=metric_label)],
        )
        .properties(height=240, usermeta=_SVG)
    )
