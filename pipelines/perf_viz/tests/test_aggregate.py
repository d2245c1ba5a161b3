"""Sessions -> one row per title x country x day with exact counts."""

import datetime as dt

import pyarrow as pa
from perf_viz._aggregate import aggregate_sessions
from perf_viz._schemas import DAILY_SCHEMA, VIEWING_SCHEMA

DAY = dt.date(2026, 3, 1)


def _sessions(rows):
    columns = list(zip(*rows, strict=True))
    return pa.table(
        {
            "view_date": list(columns[0]),
            "title_id": list(columns[1]),
            "country": list(columns[2]),
            "profile_id": list(range(len(rows))),
            "minutes_viewed": list(columns[3]),
            "runtime_minutes": list(columns[4]),
        },
        schema=VIEWING_SCHEMA,
    )


def test_counts_views_completions_minutes_and_retention_per_cell():
    minutes = [100.0, 95.0, 89.99, 90.0, 50.0, 5.0]  # runtime 100: 90% exactly is complete
    sessions = _sessions([(DAY, "t1", "FR", m, 100.0) for m in minutes])
    daily = aggregate_sessions(sessions, completion_threshold=0.9)
    assert daily.schema.equals(DAILY_SCHEMA)
    assert daily.num_rows == 1
    row = daily.to_pylist()[0]
    assert (row["views"], row["completions"]) == (6, 3)
    assert abs(row["minutes_viewed"] - sum(minutes)) < 1e-3
    assert [row[f"reached_{p}"] for p in (10, 50, 60, 90, 100)] == [5, 5, 4, 3, 1]


def test_cells_are_keyed_by_title_country_and_day_and_sorted():
    sessions = _sessions(
        [
            (DAY + dt.timedelta(days=1), "t2", "US", 10.0, 20.0),
            (DAY, "t2", "US", 20.0, 20.0),
            (DAY, "t1", "US", 5.0, 20.0),
            (DAY, "t1", "FR", 5.0, 20.0),
            (DAY, "t1", "FR", 20.0, 20.0),
        ]
    )
    daily = aggregate_sessions(sessions, completion_threshold=0.5)
    keys = [(r["title_id"], r["country"], r["view_date"], r["views"]) for r in daily.to_pylist()]
    assert keys == [
        ("t1", "FR", DAY, 2),
        ("t1", "US", DAY, 1),
        ("t2", "US", DAY, 1),
        ("t2", "US", DAY + dt.timedelta(days=1), 1),
    ]
    assert daily["completions"].to_pylist() == [1, 0, 1, 1]


def test_no_sessions_give_an_empty_table_of_the_schema():
    daily = aggregate_sessions(VIEWING_SCHEMA.empty_table(), completion_threshold=0.9)
    assert daily.num_rows == 0 and daily.schema.equals(DAILY_SCHEMA)
