"""Arrow schemas of every table the pipeline reads or writes.

The record and truth schemas describe the two sample data sets (titles and people); an input
table from elsewhere has its own schema, which only needs the configured columns. The output
schemas follow the matching configuration: its id columns, comparisons and canonical columns.
"""

from __future__ import annotations

import pyarrow as pa

from knowledge_graph._config import MatchConfig

__all__ = [
    "PAIRS_SCHEMA",
    "PERSON_RECORD_SCHEMA",
    "PERSON_TRUTH_SCHEMA",
    "TITLE_RECORD_SCHEMA",
    "TITLE_TRUTH_SCHEMA",
    "entities_schema",
    "matches_schema",
]

TITLE_RECORD_SCHEMA = pa.schema(
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
"""Schema of the title sample (``kg.title_records`` in ``match_config.json``)."""

TITLE_TRUTH_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("entity_id", pa.string(), nullable=False),
    ]
)
"""Schema of the title sample's truth (``kg.title_truth``): which real title each record is."""

PERSON_RECORD_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("given_name", pa.string()),
        pa.field("surname", pa.string()),
        pa.field("street_number", pa.string()),
        pa.field("address_1", pa.string()),
        pa.field("address_2", pa.string()),
        pa.field("suburb", pa.string()),
        pa.field("postcode", pa.string()),
        pa.field("state", pa.string()),
        pa.field("date_of_birth", pa.date32()),
    ]
)
"""Schema of the person sample (``kg.person_records`` in ``person_match_config.json``)."""

PERSON_TRUTH_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("entity_id", pa.string(), nullable=False),
    ]
)
"""Schema of the person sample's truth: which real person each record describes."""

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
