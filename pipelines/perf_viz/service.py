"""The title performance service: parameterised queries answered from the cache alone.

    uv run mlp serve pipelines/perf_viz/service.py --port 8000

Every answer is read from the current generation that TitlePerformanceFlow published (one
``get_many`` per query; no table is read per request) and names that generation. Unknown
titles, countries and regions answer 404 naming them; a date range outside the data 422; an
empty cache namespace 503. OpenAPI at ``/docs``.
"""

import functools
from pathlib import Path

import perf_viz as pv

from mlplatform.hosting import Service

CONFIG = pv.load_config(Path(__file__).resolve().with_name("perf_viz_config.json"))

svc = Service("perf-viz")


@functools.cache
def store() -> pv.PerformanceStore:
    """One store per worker process, opened on its first request."""
    return pv.PerformanceStore.open(CONFIG)


@svc.endpoint("/meta", methods=("GET",))
def meta() -> pv.MetaResponse:
    """The current generation: id, publish time, dates, countries, regions, genres, titles."""
    return pv.answer(lambda: store().meta())


@svc.endpoint("/timeseries")
def timeseries(query: pv.TimeseriesQuery) -> pv.TimeseriesResponse:
    """A metric per day for titles in a country or region and date range."""
    return pv.answer(lambda: store().timeseries(query))


@svc.endpoint("/breakdown")
def breakdown(query: pv.BreakdownQuery) -> pv.BreakdownResponse:
    """A metric over a date range by country, region or genre."""
    return pv.answer(lambda: store().breakdown(query))


@svc.endpoint("/retention")
def retention(query: pv.RetentionQuery) -> pv.RetentionResponse:
    """The share of views that reached each tenth of the runtime."""
    return pv.answer(lambda: store().retention(query))


@svc.endpoint("/peers")
def peers(query: pv.PeersQuery) -> pv.PeersResponse:
    """The first 7 or 28 days after release against comparable titles."""
    return pv.answer(lambda: store().peers(query))
