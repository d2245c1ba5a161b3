"""Value per title x region over the forecast horizon, with an uncertainty interval.

A title's value in a region is the demand the forecast expects over the region's horizon
times what an hour viewed is worth there (``value_per_hour`` of its config); its interval
comes from the forecast's interval of the horizon total (backtest quantiles, see
`IntervalModel`). The cost is the region's licence offer for the same weeks. Titles offered
but without any demand in the history are worth 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl
import pyarrow as pa

from content_decisions._config import RegionConfig
from content_decisions._errors import InputDataError
from content_decisions._schemas import VALUE_SCHEMA

__all__ = ["value_titles"]


def value_titles(
    forecast: pa.Table,
    offers: pa.Table,
    configs: Mapping[str, RegionConfig],
    as_of: dt.date,
) -> pa.Table:
    """Value and cost of every offered title in every configured region.

    Args:
        forecast: Rows of the forecast table for one ``as_of`` date.
        offers: ``etl.license_offers`` (title_id, region, cost_per_week_k).
        configs: Region -> its configuration (value per hour, horizon).
        as_of: The forecast's date.

    Returns:
        Rows of the value table (k$), one per offer of a configured region.

    Raises:
        InputDataError: A forecast's horizon differs from its region's config.
    """
    rates = pl.DataFrame(
        {
            "region": list(configs),
            "value_per_hour": [c.value_per_hour for c in configs.values()],
            "config_weeks": [c.forecast_horizon_weeks for c in configs.values()],
        }
    )
    columns = ["region", "title_id", "horizon_weeks", "total_hours", "total_low", "total_high"]
    demand = pl.from_arrow(forecast.select(columns))
    mismatched = demand.join(rates, on="region").filter(
        pl.col("horizon_weeks") != pl.col("config_weeks")
    )
    if mismatched.height:
        row = mismatched.row(0, named=True)
        raise InputDataError(
            f"the forecast as of {as_of} for region {row['region']} covers "
            f"{row['horizon_weeks']} weeks, but its config says {row['config_weeks']}; "
            "re-run DemandForecastFlow with the current configs"
        )
    valued = (
        pl.from_arrow(offers)
        .join(rates, on="region", how="inner")
        .join(demand.drop("horizon_weeks"), on=["region", "title_id"], how="left")
        .with_columns(pl.col("total_hours", "total_low", "total_high").fill_null(0.0))
        .with_columns(
            pl.lit(as_of).alias("as_of_date"),
            pl.col("config_weeks").cast(pl.Int32).alias("horizon_weeks"),
            (pl.col("total_hours") * pl.col("value_per_hour") / 1000).alias("value_k"),
            (pl.col("total_low") * pl.col("value_per_hour") / 1000).alias("value_low_k"),
            (pl.col("total_high") * pl.col("value_per_hour") / 1000).alias("value_high_k"),
            (pl.col("cost_per_week_k") * pl.col("config_weeks")).alias("cost_k"),
        )
        .sort(["region", "title_id"])
        .select(VALUE_SCHEMA.names)
    )
    return valued.to_arrow().cast(VALUE_SCHEMA)
