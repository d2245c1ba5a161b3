"""The explainer's Metaflow card: what drives the model, pictured, and how that moved.

Plots are drawn with matplotlib (headless, Agg) from the SHAP values the explainer computed,
so the card needs nothing of SHAP's own plotting in the workspace environment:

- global importance: mean |SHAP value| per feature, bars, with the previous explainer's
  values as markers when there is one;
- beeswarm: every explained row's SHAP value per feature, coloured by the feature's value
  (low blue, high red), the most important feature on top;
- drift: each feature's share of the importance, previous explainer against this one.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from explainers._arrays import unpack_arrays
from explainers._drift import importance_ranks, importance_shares

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from metaflow.cards import MetaflowCardComponent

__all__ = [
    "beeswarm_figure",
    "card_images",
    "drift_figure",
    "explainer_card",
    "importance_figure",
]


def _figure(height: float) -> Figure:
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    return Figure(figsize=(7.5, height), dpi=100, layout="constrained")


def _ordered(importance: Mapping[str, float]) -> list[str]:
    ranks = importance_ranks(importance)
    return sorted(importance, key=lambda name: ranks[name])


def importance_figure(
    importance: Mapping[str, float], previous: Mapping[str, float] | None = None
) -> Figure:
    """Horizontal bars of mean |SHAP value|, most important on top."""
    features = _ordered(importance)
    figure = _figure(0.45 * len(features) + 1.2)
    axes = figure.subplots()
    positions = np.arange(len(features))[::-1]
    axes.barh(positions, [importance[f] for f in features], color="#1f77b4", label="this run")
    if previous:
        known = [
            (p, previous[f]) for p, f in zip(positions, features, strict=True) if f in previous
        ]
        if known:
            axes.scatter(
                [v for _, v in known], [p for p, _ in known], color="black", marker="|", s=300,
                label="previous explainer", zorder=3,
            )  # fmt: skip
            axes.legend(loc="lower right")
    axes.set_yticks(positions, features)
    axes.set_xlabel("mean |SHAP value| (impact on engagement)")
    axes.set_title("Global feature importance")
    return figure


def beeswarm_figure(
    values: np.ndarray, x: np.ndarray, features: Sequence[str], importance: Mapping[str, float]
) -> Figure:
    """SHAP values of every explained row per feature, coloured by the feature's value."""
    order = _ordered(importance)
    figure = _figure(0.45 * len(order) + 1.4)
    axes = figure.subplots()
    rng = np.random.default_rng(0)
    index = {name: i for i, name in enumerate(features)}
    scatter = None
    for position, name in zip(np.arange(len(order))[::-1], order, strict=True):
        column = index[name]
        shap_values, feature_values = values[:, column], x[:, column]
        low, high = np.nanpercentile(feature_values, [5, 95]) if len(feature_values) else (0, 1)
        colour = np.clip((feature_values - low) / (high - low), 0, 1) if high > low else 0.5
        jitter = rng.normal(0, 0.12, len(shap_values)).clip(-0.35, 0.35)
        scatter = axes.scatter(
            shap_values, position + jitter, c=np.broadcast_to(colour, shap_values.shape),
            cmap="coolwarm", vmin=0, vmax=1, s=9, alpha=0.8, linewidths=0,
        )  # fmt: skip
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.set_yticks(np.arange(len(order))[::-1], order)
    axes.set_xlabel("SHAP value (impact on the model's output)")
    axes.set_title(f"Beeswarm of {len(values)} holdout titles")
    if scatter is not None:
        bar = figure.colorbar(scatter, ax=axes, ticks=[0, 1], aspect=30)
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value")
    return figure


def drift_figure(importance: Mapping[str, float], previous: Mapping[str, float]) -> Figure:
    """Share of the total importance per feature: previous explainer against this run."""
    features = _ordered(importance)
    now, before = importance_shares(importance), importance_shares(previous)
    figure = _figure(0.45 * len(features) + 1.2)
    axes = figure.subplots()
    positions = np.arange(len(features))[::-1]
    axes.barh(positions + 0.2, [before.get(f, 0.0) for f in features], 0.4, label="previous",
              color="#bbbbbb")  # fmt: skip
    axes.barh(positions - 0.2, [now[f] for f in features], 0.4, label="this run", color="#d62728")
    axes.set_yticks(positions, features)
    axes.set_xlabel("share of total importance")
    axes.set_title("Importance drift against the previous explainer")
    axes.legend(loc="lower right")
    return figure


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {_cell(item)}" for key, item in value.items())
    return str(value)


def explainer_card(
    *,
    summary: Mapping[str, Any],
    importance: Mapping[str, float],
    explain_data: bytes,
    explanation_arrays: bytes,
    drift: Mapping[str, Any] | None,
    previous: Mapping[str, float] | None,
) -> list[MetaflowCardComponent]:
    """The components of the explainer's card, in order; append them to ``current.card``.

    Args:
        summary: Name -> value rows of the header table (model run, environments, versions,
            additivity error, ...).
        importance: Feature -> mean |SHAP value|.
        explain_data: The explained rows (`load_explain_data`: ``x``, ``features``).
        explanation_arrays: Their SHAP values (`ExplainerResult.arrays`: ``values``).
        drift: `importance_drift` result, or None for the first explainer of a model flow.
        previous: The previous explainer's importance, or None.
    """
    # metaflow.cards and matplotlib are imported here: only the card's step needs them.
    from metaflow.cards import Image, Markdown, Table

    data, explained = unpack_arrays(explain_data), unpack_arrays(explanation_arrays)
    features = [str(name) for name in data["features"]]
    components: list[MetaflowCardComponent] = [
        Markdown(f"# Explainer of {summary.get('model run', 'a model run')}"),
        Table([[name, _cell(value)] for name, value in summary.items()], headers=["", "value"]),
        Image.from_matplotlib(importance_figure(importance, previous)),
        Image.from_matplotlib(
            beeswarm_figure(explained["values"], data["x"], features, importance)
        ),
    ]
    ranks, shares = importance_ranks(importance), importance_shares(importance)
    rows = [
        [name, _cell(importance[name]), f"{shares[name]:.1%}"]
        for name in sorted(importance, key=lambda n: ranks[n])
    ]
    components.append(Table(rows, headers=["feature", "mean |SHAP|", "share"]))
    if drift is None:
        components.append(
            Markdown("## Drift\nFirst explainer of this model flow: nothing to compare with.")
        )
        return components
    correlation = drift["rank_correlation"]
    components.append(
        Markdown(
            f"## Drift against {drift['previous_run']}\nSpearman rank correlation of the global "
            f"importances: **{'n/a' if correlation is None else f'{correlation:.3f}'}**"
        )
    )
    if previous:
        components.append(Image.from_matplotlib(drift_figure(importance, previous)))
    moved = [
        [m["feature"], f"{m['previous_share']:.1%}", f"{m['share']:.1%}", f"{m['change']:+.1%}",
         f"{m['previous_rank']} → {m['rank']}"]
        for m in drift["moved"]
    ]  # fmt: skip
    components.append(
        Table(moved, headers=["moved most", "previous share", "share", "change", "rank"])
    )
    return components


_CARD_DATA = re.compile(r'__MF_DATA__\["[^"]+"\] = "([A-Za-z0-9+/=]+)"')


def card_images(html: str) -> int:
    """The PNG images in a rendered Metaflow card (its components are base64 JSON in the HTML).

    An explainer's card has two (importance bars, beeswarm), three with a drift chart.
    """
    encoded = _CARD_DATA.search(html)
    if encoded is None:
        return 0
    return base64.b64decode(encoded.group(1)).decode().count('"src": "data:image/png;base64,')
