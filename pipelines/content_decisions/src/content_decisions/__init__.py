"""content_decisions: an event-driven chain from a daily ETL to a content slate per region.

ETL event -> ViewingAggregatesFlow -> DemandForecastFlow -> ValuationFlow -> SlateSelectionFlow,
each started by the previous one's finish event. The logic is plain functions on Arrow
tables and numpy arrays (aggregation, the lifecycle forecast and its backtest, valuation, the
MILP); the flow files only wire them into steps. This façade exports what the flows, the ETL
command, the benchmark and the tests use; the rest stays in the private modules.

Names load on first use (PEP 562): every Metaflow task imports this package, and a task that
only needs the flow's base class should not pay for Arrow, PyIceberg, Polars and HiGHS.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "content_decisions._aggregate": [
        "aggregate_viewing",
        "combine_aggregates",
        "country_shards",
        "fingerprint_rows",
    ],
    "content_decisions._card": ["forecast_card", "slate_card"],
    "content_decisions._cli": ["PIPELINE_DIR", "etl_command"],
    "content_decisions._config": [
        "REQUIRED_IMPROVEMENT",
        "RegionConfig",
        "load_region_config",
        "parse_region_config",
    ],
    "content_decisions._dates": ["parse_date"],
    "content_decisions._errors": [
        "ETLPayloadError",
        "ForecastQualityError",
        "InputDataError",
        "NoDataForDateError",
        "RegionConfigError",
        "SlateInfeasibleError",
    ],
    "content_decisions._etl": ["run_etl"],
    "content_decisions._flowspec": ["ContentDecisionsFlowSpec"],
    "content_decisions._forecast": [
        "DemandPanel",
        "backtest",
        "forecast_demand",
        "forecast_lifecycle",
        "seasonal_naive",
        "wape",
    ],
    "content_decisions._outputs": ["Outputs"],
    "content_decisions._slate": [
        "SlateProblem",
        "find_conflicts",
        "greedy_slate",
        "select_slates",
        "slate_payloads",
        "solve_slate",
    ],
    "content_decisions._tables": [
        "AggregationPlan",
        "commit_aggregates",
        "ensure_world",
        "load_countries",
        "load_demand_panel",
        "load_offers",
        "load_partition",
        "load_titles",
        "load_viewing",
        "plan_aggregation",
        "publish_slates",
        "record_processed",
        "replace_partition",
        "stage_aggregates",
    ],
    "content_decisions._valuation": ["value_titles"],
    "content_decisions._vocabulary": [
        "ETL_EVENT",
        "GENRES",
        "PROJECT",
        "REGIONS",
    ],
    "content_decisions._world": ["World", "WorldSpec"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
