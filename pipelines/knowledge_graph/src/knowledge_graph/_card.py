"""The evaluate step's Metaflow card: metrics, the trained match weights, largest entities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from knowledge_graph._config import FieldComparison
from knowledge_graph._model import FellegiSunterModel

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from metaflow.cards import MetaflowCardComponent

__all__ = ["evaluation_card", "largest_entities", "match_weights_figure"]

_POSITIVE, _NEGATIVE = "#2a9d5c", "#c8553d"


def largest_entities(entities: pa.Table, count: int = 5) -> list[dict[str, Any]]:
    """The ``count`` largest entities as rows, largest first (what the card lists).

    Args:
        entities: The entities table (`entities_schema`).
        count: How many to keep.
    """
    return entities.sort_by([("size", "descending")]).slice(0, count).to_pylist()


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def match_weights_figure(
    model: FellegiSunterModel, fields: Sequence[FieldComparison], title: str | None = None
) -> Figure:
    """A chart of the trained match weights, one panel per comparison (like Splink's).

    Each bar is one level's weight, ``log2(m / u)``: what agreeing at that level adds to a
    pair's match weight (nulls add nothing). The best level is at the top of its panel; the
    first panel is the prior, the weight every pair starts from. With ``em.monotone`` no bar
    reaches further right than the bar above it: a level never weighs more than a better one.

    Args:
        model: A trained model.
        fields: The configuration's comparisons, in the model's order (for level labels).
        title: The figure's title (default: "Match weights").
    """
    from matplotlib.figure import Figure  # not pyplot: no display, no global state

    panels = [("prior", ["prior: log2(p / (1 - p))"], np.array([model.prior_weight]))]
    for column, field in enumerate(fields):
        weights = model.level_weights(column)
        panels.append((field.name, field.level_names, weights))
    heights = [len(labels) + 1.2 for _, labels, _ in panels]
    figure = Figure(figsize=(8.5, 0.24 * sum(heights) + 1.0), layout="constrained")
    axes = figure.subplots(len(panels), 1, sharex=True, height_ratios=heights)
    limit = max(1.0, *(float(np.max(np.abs(weights))) for _, _, weights in panels))
    for axis, (name, labels, weights) in zip(np.atleast_1d(axes), panels, strict=True):
        rows = np.arange(len(weights))  # y = level: the best (last) level on top
        colours = [_POSITIVE if w >= 0 else _NEGATIVE for w in weights]
        axis.barh(rows, weights, color=colours, height=0.7)
        axis.set_yticks(rows, labels, fontsize=8)
        axis.axvline(0, color="#444444", linewidth=0.8)
        axis.set_title(name, loc="left", fontsize=9, pad=3)
        axis.set_xlim(-limit * 1.15, limit * 1.15)
        axis.grid(axis="x", color="#dddddd", linewidth=0.6)
        axis.set_axisbelow(True)
        for row, weight in zip(rows, weights, strict=True):
            axis.annotate(
                f"{weight:+.2f}",
                (weight, row),
                xytext=(3 if weight >= 0 else -3, 0),
                textcoords="offset points",
                ha="left" if weight >= 0 else "right",
                va="center",
                fontsize=7,
            )
    np.atleast_1d(axes)[-1].set_xlabel("match weight (log2 of m / u): added to the pair's score")
    figure.suptitle(title or "Match weights", fontsize=11)
    return figure


def evaluation_card(
    metrics: Mapping[str, Any],
    *,
    has_truth: bool,
    pairs_by_rule: Mapping[str, int],
    entities: Sequence[Mapping[str, Any]],
    canonical_columns: Sequence[str],
    model: FellegiSunterModel | None = None,
    fields: Sequence[FieldComparison] = (),
) -> list[MetaflowCardComponent]:
    """The components of the evaluate step's card, in order; append them to ``current.card``.

    Args:
        metrics: The run's metrics (the flow's ``metrics`` artifact), one table row each.
        has_truth: Whether quality metrics were computed (there was a truth table).
        pairs_by_rule: Candidate pairs found first by each blocking rule.
        entities: Entities to list (`largest_entities`): id, size, members, canonical values.
        canonical_columns: The canonical columns the entities carry, one table column each.
        model: The trained model: its match weights are charted (`match_weights_figure`).
        fields: The configuration's comparisons (the chart's level labels).
    """
    # Imported here, not at the top: metaflow.cards takes about a second to import, and only
    # the evaluate step needs it.
    from metaflow.cards import Image, Markdown, Table

    components: list[MetaflowCardComponent] = [Markdown("# Entity resolution")]
    if not has_truth:
        components.append(Markdown("No truth table: quality metrics are not computed."))
    rows = [[name, _cell(value)] for name, value in metrics.items()]
    components.append(Table(rows, headers=["metric", "value"]))
    components.append(Markdown(f"Candidate pairs by blocking rule: `{dict(pairs_by_rule)}`"))
    if model is not None:
        components.append(Markdown("## Match weights"))
        figure = match_weights_figure(model, fields)
        components.append(Image.from_matplotlib(figure, label="match weight of each level"))
    components.append(Markdown("## Largest entities"))
    entity_rows = [
        [
            entity["entity_id"],
            entity["size"],
            "; ".join(" / ".join(str(v) for v in m.values()) for m in entity["members"]),
            *(str(entity[c]) for c in canonical_columns),
        ]
        for entity in entities
    ]
    components.append(Table(entity_rows, headers=["entity", "size", "members", *canonical_columns]))
    return components
