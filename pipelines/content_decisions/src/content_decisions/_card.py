"""Metaflow cards of the forecast and the slate: the figures people look at."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metaflow.cards import MetaflowCardComponent

__all__ = ["forecast_card", "slate_card"]


def _bar_chart(rows: Sequence[Mapping[str, Any]], x: str, series: Sequence[str], title: str):
    from metaflow.cards import VegaChart

    values = [{"region": r["region"], "series": s, "value": r[s]} for r in rows for s in series]
    return VegaChart(
        {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "title": title,
            "data": {"values": values},
            "mark": "bar",
            "encoding": {
                "x": {"field": x, "type": "nominal"},
                "xOffset": {"field": "series"},
                "y": {"field": "value", "type": "quantitative"},
                "color": {"field": "series", "type": "nominal"},
            },
        }
    )


def forecast_card(
    as_of: str, backtests: Sequence[Mapping[str, Any]]
) -> list[MetaflowCardComponent]:
    """The forecast run's card: each region's backtest against seasonal naive."""
    from metaflow.cards import Markdown, Table

    headers = ["region", "held-out days", "series", "WAPE model", "WAPE seasonal naive",
               "improvement", "interval coverage (nominal / backtest)"]  # fmt: skip
    rows = [
        [
            b["region"],
            b["horizon_days"],
            b["series"],
            f"{b['wape_model']:.4f}",
            f"{b['wape_seasonal_naive']:.4f}",
            f"{b['improvement']:+.1%}",
            f"{b['interval_coverage']:.0%} / {b['interval_observed_coverage']:.0%}",
        ]
        for b in backtests
    ]
    return [
        Markdown(f"# Demand forecast as of {as_of}"),
        Markdown("Backtest on the held-out weeks; the model must beat seasonal naive by 10%."),
        Table(rows, headers=headers),
        _bar_chart(backtests, "region", ["wape_model", "wape_seasonal_naive"], "WAPE by region"),
    ]


def slate_card(as_of: str, results: Sequence[Mapping[str, Any]]) -> list[MetaflowCardComponent]:
    """The slate run's card: each region's optimal slate against the greedy baseline."""
    from metaflow.cards import Markdown, Table

    headers = ["region", "titles", "net value k$", "cost k$ / budget k$", "MILP gap",
               "solve s", "greedy net value k$", "value vs greedy"]  # fmt: skip
    rows = [
        [
            r["region"],
            r["titles"],
            f"{r['objective_k']:,.1f}",
            f"{r['cost_k']:,.1f} / {r['budget_k']:,.1f}",
            f"{r['mip_gap']:.2g}",
            f"{r['solve_seconds']:.2f}",
            f"{r['greedy_objective_k']:,.1f}" + ("" if r["greedy_feasible"] else " (infeasible)"),
            "-" if r["value_vs_greedy"] is None else f"{r['value_vs_greedy']:.4f}",
        ]
        for r in results
    ]
    return [
        Markdown(f"# Content slate as of {as_of}"),
        Table(rows, headers=headers),
        _bar_chart(results, "region", ["objective_k", "greedy_objective_k"], "Net value (k$)"),
    ]
