"""Title performance: sample data, daily aggregation, cache generations, queries, the app.

``flow.py`` wires the steps (`plan_run`, `aggregate_partition`, `commit_partitions`,
`write_title_bucket`, `publish_run`) into a daily Metaflow flow that publishes one cache
generation; ``service.py`` answers queries from it (`PerformanceStore`); ``app.py`` charts
the answers. This façade exports what those files, the benchmark and the tests use. It
imports a module on first use, so a step that only writes to the cache never loads the data
layer (PyIceberg, pandas, Polars: seconds per Metaflow task).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "perf_viz._charts": ["breakdown_chart", "peers_chart", "retention_chart", "timeseries_chart"],
    "perf_viz._client": ["DEFAULT_SERVICE_URL", "PerformanceClient"],
    "perf_viz._config": ["PerfVizConfig", "flow_config", "load_config"],
    "perf_viz._dates": ["parse_date", "resolve_as_of"],
    "perf_viz._errors": [
        "DateRangeError",
        "InputDataError",
        "NothingPublishedError",
        "PerfVizConfigError",
        "PerfVizError",
        "QueryError",
        "ServiceError",
        "ServiceSlowError",
        "ServiceUnreachableError",
        "UnknownNameError",
    ],
    "perf_viz._http": ["answer"],
    "perf_viz._metrics": ["format_metric"],
    "perf_viz._models": [
        "MAX_TITLES",
        "BreakdownQuery",
        "BreakdownResponse",
        "MetaResponse",
        "PeersQuery",
        "PeersResponse",
        "RetentionQuery",
        "RetentionResponse",
        "TimeseriesQuery",
        "TimeseriesResponse",
    ],
    "perf_viz._queries": ["PerformanceStore"],
    "perf_viz._steps": [
        "aggregate_partition",
        "commit_partitions",
        "plan_run",
        "publish_run",
        "run_locally",
        "write_title_bucket",
    ],
    "perf_viz._view": [
        "ALL_COUNTRIES",
        "ALL_REGIONS",
        "BREAKDOWNS",
        "Selection",
        "freshness_text",
        "problem_message",
        "selection_from_link",
        "title_label",
    ],
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
