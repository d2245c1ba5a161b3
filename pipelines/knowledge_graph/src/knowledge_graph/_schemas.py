"""Arrow schemas of every table the pipeline reads or writes.

The input and truth schemas are fixed (they describe the sample data, and an input table
from elsewhere must have the configured columns); the output schemas follow the matching
configuration: its id columns, comparisons and canonical columns.
"""

from __future__ import annotations

import pyarrow as pa

from knowledge_graph._config import MatchConfig

__all__ = [
    "PAIRS_SCHEMA",
    "RECORD_SCHEMA",
    "TRUTH_SCHEMA",
    "entities_schema",
    "matches_schema",
]

RECORD_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("original_title", pa.string()),
        pa.field("year", pa.int32()),
        pa.field("kind", pa.string()),
        pa.field("runtime_min", pa.int32()),
        pa.field("directors", pa.list_(pa.string())),
        pa.field("cast", pa.list_(pa.string())),
        pa.field("country", pa.string()),
        pa.field("language", pa.string()),
    ]
)
"""Schema of ``kg.title_records``, the input (and of the sample data it is seeded with)."""

TRUTH_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("entity_id", pa.string(), nullable=False),
    ]
)
"""Schema of ``kg.title_truth``: which real title each record describes."""

PAIRS_SCHEMA = pa.schema(
    [
        pa.field("left", pa.int64(), nullable=False),
        pa.field("right", pa.int64(), nullable=False),
        pa.field("records_snapshot_id", pa.int64()),
    ]
)
"""Schema of the candidate pairs table: record indices into the ordered records snapshot."""


def matches_schema(config: MatchConfig, records_schema: pa.Schema) -> pa.Schema:
    """Schema of the matches table: both records' ids, weight, probability, levels.

    Args:
        config: The matching configuration (id columns and comparisons).
        records_schema: Schema of the input records (the id columns' types).
    """
    fields = [
        pa.field(f"{side}_{column}", records_schema.field(column).type)
        for side in ("left", "right")
        for column in config.id_columns
    ]
    fields += [pa.field("match_weight", pa.float64()), pa.field("match_probability", pa.float64())]
    # int32, not int8: Iceberg has no 8-bit integers, and a table must read back as written.
    fields += [pa.field(f"level_{field.name}", pa.int32()) for field in config.fields]
    return pa.schema(fields)


def entities_schema(config: MatchConfig, records_schema: pa.Schema) -> pa.Schema:
    """Schema of the entities table: id, size, members' ids and the canonical columns.

    Args:
        config: The matching configuration (id and canonical columns).
        records_schema: Schema of the input records (those columns' types).
    """
    member = pa.struct([records_schema.field(c) for c in config.id_columns])
    return pa.schema(
        [
            pa.field("entity_id", pa.string(), nullable=False),
            pa.field("size", pa.int32(), nullable=False),
            pa.field("members", pa.list_(member)),
            *(records_schema.field(c) for c in config.canonical_columns),
        ]
    )
