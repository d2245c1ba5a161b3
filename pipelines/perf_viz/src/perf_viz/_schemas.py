"""Arrow schemas of the pipeline's tables."""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "DAILY_SCHEMA",
    "RETENTION_POSITIONS",
    "TITLES_SCHEMA",
    "VIEWING_SCHEMA",
    "reached_column",
]

# Retention is measured at every tenth of a title's runtime: the share of views that reached
# 10%, 20%, ... 100% of it.
RETENTION_POSITIONS = tuple(range(10, 101, 10))


def reached_column(position: int) -> str:
    """The daily table's column counting views that reached ``position`` % of the runtime."""
    return f"reached_{position}"


TITLES_SCHEMA = pa.schema(
    [
        pa.field("title_id", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("genre", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("release_date", pa.date32(), nullable=False),
        pa.field("runtime_minutes", pa.int32(), nullable=False),
    ]
)
"""The catalogue: one row per title."""

VIEWING_SCHEMA = pa.schema(
    [
        pa.field("view_date", pa.date32(), nullable=False),
        pa.field("title_id", pa.string(), nullable=False),
        pa.field("country", pa.string(), nullable=False),
        pa.field("profile_id", pa.int64(), nullable=False),
        pa.field("minutes_viewed", pa.float32(), nullable=False),
        pa.field("runtime_minutes", pa.float32(), nullable=False),
    ]
)
"""Daily viewing: one row per viewing session (a view), partitioned by ``view_date``."""

DAILY_SCHEMA = pa.schema(
    [
        pa.field("title_id", pa.string(), nullable=False),
        pa.field("country", pa.string(), nullable=False),
        pa.field("view_date", pa.date32(), nullable=False),
        pa.field("views", pa.int64(), nullable=False),
        pa.field("completions", pa.int64(), nullable=False),
        pa.field("minutes_viewed", pa.float64(), nullable=False),
        *(pa.field(reached_column(p), pa.int64(), nullable=False) for p in RETENTION_POSITIONS),
    ]
)
"""The aggregate: one row per title x country x day (views, completions, minutes, retention)."""
