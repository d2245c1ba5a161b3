"""A tiny data set with hand-checkable numbers, shared by the rollup and the query tests.

Four titles (a, b, d: Drama; c: Comedy; c and d released before the data), three countries in
two regions, five days from 2026-03-01. Per daily row: completions = views // 2, 30 minutes
per view, and reached_<p> = views - p // 50 (at least 0).
"""

import datetime as dt

import perf_viz as pv
import pyarrow as pa
from perf_viz._rollups import DateAxis
from perf_viz._schemas import DAILY_SCHEMA, RETENTION_POSITIONS, TITLES_SCHEMA

CONFIG = pv.load_config(
    {
        "viewing_table": "t.viewing",
        "titles_table": "t.titles",
        "daily_table": "t.daily",
        "cache_namespace": "perf_viz_test",
        "regions": {"EU": ["FR", "DE"], "NA": ["US"]},
        "launch_windows": [2, 3],
        "peer_release_window_days": 5,
    }
)
FIRST = dt.date(2026, 3, 1)
AXIS = DateAxis(FIRST, FIRST + dt.timedelta(days=4))
TITLES = [("a", "Drama", 1), ("b", "Drama", 3), ("c", "Comedy", -30), ("d", "Drama", -2)]
ROWS = [
    ("a", "FR", 1, 2), ("a", "FR", 2, 4), ("a", "FR", 4, 6), ("a", "DE", 2, 3), ("a", "US", 3, 1),
    ("b", "FR", 3, 5), ("b", "FR", 4, 1),
    ("c", "DE", 0, 7), ("c", "US", 4, 2),
    ("d", "US", 0, 1),
]  # fmt: skip
"""(title, country, day offset, views)."""


def day(offset: int) -> dt.date:
    return FIRST + dt.timedelta(days=offset)


def daily(rows=ROWS, scale: int = 1) -> pa.Table:
    """Daily rows (title, country, day offset, views), views times ``scale``."""
    table = {name: [] for name in DAILY_SCHEMA.names}
    for title_id, country, offset, views in rows:
        views *= scale
        table["title_id"].append(title_id)
        table["country"].append(country)
        table["view_date"].append(day(offset))
        table["views"].append(views)
        table["completions"].append(views // 2)
        table["minutes_viewed"].append(views * 30.0)
        for position in RETENTION_POSITIONS:
            table[f"reached_{position}"].append(max(0, views - position // 50))
    return pa.table(table, schema=DAILY_SCHEMA)


def titles(rows=TITLES) -> pa.Table:
    """Titles (title_id, genre, release day offset), named ``Title <ID>``."""
    return pa.table(
        {
            "title_id": [t for t, _, _ in rows],
            "title": [f"Title {t.upper()}" for t, _, _ in rows],
            "genre": [g for _, g, _ in rows],
            "kind": ["movie"] * len(rows),
            "release_date": [day(r) for _, _, r in rows],
            "runtime_minutes": [100] * len(rows),
        },
        schema=TITLES_SCHEMA,
    )
