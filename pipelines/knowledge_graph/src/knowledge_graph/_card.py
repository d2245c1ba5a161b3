"""The evaluate step's Metaflow card: the run's metrics and its largest entities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from metaflow.cards import MetaflowCardComponent

__all__ = ["evaluation_card", "largest_entities"]


def largest_entities(entities: pa.Table, count: int = 5) -> list[dict[str, Any]]:
    """The ``count`` largest entities as rows, largest first (what the card lists).

    Args:
        entities: The entities table (`entities_schema`).
        count: How many to keep.
    """
    return entities.sort_by([("size", "descending")]).slice(0, count).to_pylist()


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def evaluation_card(
    metrics: Mapping[str, Any],
    *,
    has_truth: bool,
    pairs_by_rule: Mapping[str, int],
    entities: Sequence[Mapping[str, Any]],
    canonical_columns: Sequence[str],
) -> list[MetaflowCardComponent]:
    """The components of the evaluate step's card, in order; append them to ``current.card``.

    Args:
        metrics: The run's metrics (the flow's ``metrics`` artifact), one table row each.
        has_truth: Whether quality metrics were computed (there was a truth table).
        pairs_by_rule: Candidate pairs found first by each blocking rule.
        entities: Entities to list (`largest_entities`): id, size, members, canonical values.
        canonical_columns: The canonical columns the entities carry, one table column each.
    """
    # Imported here, not at the top: metaflow.cards takes about a second to import, and only
    # the evaluate step needs it.
    from metaflow.cards import Markdown, Table

    components: list[MetaflowCardComponent] = [Markdown("# Title entity resolution")]
    if not has_truth:
        components.append(Markdown("No truth table: quality metrics are not computed."))
    rows = [[name, _cell(value)] for name, value in metrics.items()]
    components.append(Table(rows, headers=["metric", "value"]))
    components.append(Markdown(f"Candidate pairs by blocking rule: `{dict(pairs_by_rule)}`"))
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
