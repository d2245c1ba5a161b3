"""Daily viewing to aggregates per title x region: dates, country shards, fingerprints.

Plain functions on Arrow tables; `_tables.py` does the reading and writing.

**When is a day processed again?** Each processed day's raw partition has a *content
fingerprint* (`fingerprint_rows`: SHA-256 over its rows in a canonical order — by country,
then title — and a fixed column order), kept in the branch's ledger table with the run that
made it. An ETL event for a day whose current fingerprint equals the ledger's latest one for
that day changes nothing: the chain runs but skips (no snapshot anywhere). A different
fingerprint (the partner restated the day) or ``--force`` processes it again, and its
outputs are replaced by exactly one new snapshot. The fingerprint ignores how the partner
wrote the day (files, row order, snapshots): only what the rows say.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from content_decisions._errors import ETLPayloadError
from content_decisions._schemas import AGGREGATE_SCHEMA

__all__ = [
    "aggregate_viewing",
    "combine_aggregates",
    "country_shards",
    "date_filter",
    "fingerprint_rows",
]


def country_shards(countries: pa.Table, n_shards: int) -> list[list[str]]:
    """Split the countries into at most ``n_shards`` groups of similar audience.

    Deterministic: countries by audience (largest first) go each to the group with the
    smallest audience so far; each group is sorted by code.
    """
    if n_shards < 1:
        raise ETLPayloadError(f"country_shards must be >= 1, got {n_shards}")
    codes = countries.column("country").to_pylist()
    audience = countries.column("subscribers_k").to_numpy()
    n_shards = min(n_shards, len(codes))
    groups: list[list[str]] = [[] for _ in range(n_shards)]
    load = np.zeros(n_shards)
    for index in sorted(range(len(codes)), key=lambda i: (-audience[i], codes[i])):
        target = int(np.argmin(load))
        groups[target].append(codes[index])
        load[target] += audience[index]
    return [sorted(group) for group in groups if group]


def fingerprint_rows(rows: pa.Table) -> str:
    """SHA-256 of a day's viewing rows, independent of row order and file layout.

    Args:
        rows: Rows of one day of ``etl.viewing_daily`` (country, title_id, starts, hours).
    """
    frame = pl.from_arrow(rows.select(["country", "title_id", "starts", "hours"]))
    frame = frame.sort(["country", "title_id"])
    digest = hashlib.sha256()
    digest.update(f"rows={frame.height}".encode())
    for column in ("country", "title_id"):
        digest.update("\x1f".join(frame.get_column(column).to_list()).encode())
        digest.update(b"\x1e")
    digest.update(frame.get_column("starts").cast(pl.Int64).to_numpy().tobytes())
    digest.update(frame.get_column("hours").cast(pl.Float64).to_numpy().tobytes())
    return digest.hexdigest()


def aggregate_viewing(rows: pa.Table, countries: pa.Table) -> pa.Table:
    """Sum one shard's daily viewing per date x region x title.

    Args:
        rows: Viewing rows (date, country, title_id, starts, hours).
        countries: ``etl.countries`` (country -> region).

    Returns:
        Rows of the aggregates schema (``countries``: countries with any viewing).
    """
    regions = pl.from_arrow(countries.select(["country", "region"]))
    frame = pl.from_arrow(rows).join(regions, on="country", how="inner")
    grouped = frame.group_by(["date", "region", "title_id"]).agg(
        pl.col("starts").sum(),
        pl.col("hours").sum(),
        pl.col("country").n_unique().cast(pl.Int32).alias("countries"),
    )
    return _as_aggregates(grouped)


def combine_aggregates(parts: Iterable[pa.Table]) -> pa.Table:
    """Add up shards' aggregates of the same date x region x title into one table."""
    frames = [pl.from_arrow(part) for part in parts if part.num_rows]
    if not frames:
        return AGGREGATE_SCHEMA.empty_table()
    combined = (
        pl.concat(frames)
        .group_by(["date", "region", "title_id"])
        .agg(pl.col("starts").sum(), pl.col("hours").sum(), pl.col("countries").sum())
    )
    return _as_aggregates(combined)


def _as_aggregates(frame: pl.DataFrame) -> pa.Table:
    ordered = frame.sort(["date", "region", "title_id"]).select(AGGREGATE_SCHEMA.names)
    return ordered.to_arrow().cast(AGGREGATE_SCHEMA)


def date_filter(column: str, dates: Sequence[dt.date]) -> str:
    """A row filter choosing ``dates`` in ``column`` (a partition column)."""
    listed = ", ".join(f"'{d.isoformat()}'" for d in sorted(set(dates)))
    return f"{column} in ({listed})"
