"""Viewing sessions -> one row per title x country x day (the map side of the flow)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from perf_viz._schemas import DAILY_SCHEMA, RETENTION_POSITIONS, reached_column

__all__ = ["KEY_COLUMNS", "aggregate_sessions"]

KEY_COLUMNS = ("title_id", "country", "view_date")


def aggregate_sessions(sessions: pa.Table, *, completion_threshold: float) -> pa.Table:
    """Aggregate viewing sessions per title, country and day.

    A session is a view; it is complete when it reached ``completion_threshold`` of the
    runtime, and it counts towards ``reached_<p>`` when it reached ``p`` % of it.

    Args:
        sessions: Rows of `VIEWING_SCHEMA` (any order, any days).
        completion_threshold: Share of the runtime (0-1] that makes a view complete.

    Returns:
        A table of `DAILY_SCHEMA`, one row per title, country and day present, sorted by them.
    """
    if sessions.num_rows == 0:
        return DAILY_SCHEMA.empty_table()
    fraction = pc.divide(
        pc.cast(sessions["minutes_viewed"], pa.float64()),
        pc.cast(sessions["runtime_minutes"], pa.float64()),
    )
    # A small tolerance: 0.9 * runtime stored as float32 must still count as 90%.
    tolerance = 1e-6
    columns = {name: sessions[name] for name in KEY_COLUMNS}
    columns["views"] = pa.array([1] * sessions.num_rows, pa.int64())
    columns["completions"] = pc.cast(
        pc.greater_equal(fraction, completion_threshold - tolerance), pa.int64()
    )
    columns["minutes_viewed"] = pc.cast(sessions["minutes_viewed"], pa.float64())
    for position in RETENTION_POSITIONS:
        reached = pc.greater_equal(fraction, position / 100 - tolerance)
        columns[reached_column(position)] = pc.cast(reached, pa.int64())
    measures = [name for name in DAILY_SCHEMA.names if name not in KEY_COLUMNS]
    grouped = (
        pa.table(columns)
        .group_by(list(KEY_COLUMNS), use_threads=False)
        .aggregate([(name, "sum") for name in measures])
    )
    renamed = {f"{name}_sum": name for name in measures}
    grouped = grouped.rename_columns([renamed.get(name, name) for name in grouped.column_names])
    daily = grouped.select(DAILY_SCHEMA.names).cast(DAILY_SCHEMA)
    return daily.sort_by([(name, "ascending") for name in KEY_COLUMNS])
