"""Arrow schemas of every table the chain reads or writes."""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "AGGREGATE_SCHEMA",
    "COUNTRY_SCHEMA",
    "FORECAST_SCHEMA",
    "LEDGER_SCHEMA",
    "OFFER_SCHEMA",
    "SLATE_SCHEMA",
    "TITLE_SCHEMA",
    "VALUE_SCHEMA",
    "VIEWING_SCHEMA",
    "WORLD_SCHEMA",
]


def _required(name: str, kind: pa.DataType) -> pa.Field:
    return pa.field(name, kind, nullable=False)


# -- upstream (the partner team's ETL) -------------------------------------------------------
TITLE_SCHEMA = pa.schema(
    [
        _required("title_id", pa.string()),
        _required("name", pa.string()),
        _required("genre", pa.string()),
        _required("language", pa.string()),
        _required("kind", pa.string()),
        _required("release_date", pa.date32()),
        _required("runtime_min", pa.int32()),
    ]
)
COUNTRY_SCHEMA = pa.schema(
    [
        _required("country", pa.string()),
        _required("region", pa.string()),
        _required("language", pa.string()),
        _required("subscribers_k", pa.int64()),
    ]
)
OFFER_SCHEMA = pa.schema(
    [
        _required("title_id", pa.string()),
        _required("region", pa.string()),
        _required("cost_per_week_k", pa.float64()),
    ]
)
VIEWING_SCHEMA = pa.schema(
    [
        _required("date", pa.date32()),
        _required("country", pa.string()),
        _required("title_id", pa.string()),
        _required("starts", pa.int64()),
        _required("hours", pa.float64()),
    ]
)
WORLD_SCHEMA = pa.schema([_required("spec", pa.string())])

# -- the chain's outputs (one namespace per @project branch) -----------------------------------
AGGREGATE_SCHEMA = pa.schema(
    [
        _required("date", pa.date32()),
        _required("region", pa.string()),
        _required("title_id", pa.string()),
        _required("starts", pa.int64()),
        _required("hours", pa.float64()),
        _required("countries", pa.int32()),
    ]
)
LEDGER_SCHEMA = pa.schema(
    [
        _required("date", pa.date32()),
        _required("fingerprint", pa.string()),
        _required("rows", pa.int64()),
        _required("source_snapshot_id", pa.int64()),
        _required("run", pa.string()),
        _required("processed_at", pa.timestamp("us", tz="UTC")),
    ]
)
FORECAST_SCHEMA = pa.schema(
    [
        _required("as_of_date", pa.date32()),
        _required("region", pa.string()),
        _required("title_id", pa.string()),
        _required("horizon_weeks", pa.int32()),
        _required("weekly_hours", pa.list_(pa.float64())),
        _required("total_hours", pa.float64()),
        _required("total_low", pa.float64()),
        _required("total_high", pa.float64()),
    ]
)
VALUE_SCHEMA = pa.schema(
    [
        _required("as_of_date", pa.date32()),
        _required("region", pa.string()),
        _required("title_id", pa.string()),
        _required("horizon_weeks", pa.int32()),
        _required("value_k", pa.float64()),
        _required("value_low_k", pa.float64()),
        _required("value_high_k", pa.float64()),
        _required("cost_k", pa.float64()),
    ]
)
SLATE_SCHEMA = pa.schema(
    [
        _required("as_of_date", pa.date32()),
        _required("region", pa.string()),
        _required("title_id", pa.string()),
        _required("genre", pa.string()),
        _required("language", pa.string()),
        _required("value_k", pa.float64()),
        _required("value_low_k", pa.float64()),
        _required("value_high_k", pa.float64()),
        _required("cost_k", pa.float64()),
        _required("must_keep", pa.bool_()),
    ]
)
