"""Request and response models of the service (pydantic): what the app sends and charts.

Responses are "ready to chart": long-format points (one per date and title, or per position
and title), bars with a label and a value, and every answer names the cache generation it
was read from.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from perf_viz._metrics import Metric

__all__ = [
    "MAX_TITLES",
    "Answer",
    "Bar",
    "BreakdownQuery",
    "BreakdownResponse",
    "CatalogueTitle",
    "CurvePoint",
    "MetaResponse",
    "PeerComparison",
    "PeerValue",
    "PeersQuery",
    "PeersResponse",
    "RetentionPoint",
    "RetentionQuery",
    "RetentionResponse",
    "Scope",
    "SeriesPoint",
    "TimeseriesQuery",
    "TimeseriesResponse",
    "TitleTotal",
]

MAX_TITLES = 20
TitleNames = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=MAX_TITLES,
        description="Title ids (t0001) or exact titles (case-insensitive).",
    ),
]


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScopedQuery(_Query):
    """A country, or a region, or neither (all countries)."""

    country: str | None = Field(default=None, description="ISO country code, e.g. FR.")
    region: str | None = Field(default=None, description="A region of the configuration.")

    @model_validator(mode="after")
    def _one_scope(self) -> ScopedQuery:
        if self.country and self.region:
            raise ValueError(
                f"give a country or a region, not both (got country={self.country!r}, "
                f"region={self.region!r})"
            )
        return self


class RangedQuery(ScopedQuery):
    """A scope and an inclusive date range (default: all the published days)."""

    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RangedQuery:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class TimeseriesQuery(RangedQuery):
    """A metric per day for titles in a scope and date range."""

    titles: TitleNames
    metric: Metric = "views"


class BreakdownQuery(RangedQuery):
    """A metric over a date range, by country (within the region), region, or genre (within
    the scope); of the given titles, or of every title when none is given."""

    by: Literal["country", "region", "genre"] = "country"
    metric: Metric = "views"
    titles: list[str] = Field(default_factory=list, max_length=MAX_TITLES)


class RetentionQuery(RangedQuery):
    """Share of views that reached each tenth of the runtime, per title."""

    titles: TitleNames


class PeersQuery(ScopedQuery):
    """A title's first days after release against comparable titles' same first days."""

    titles: TitleNames
    window: int = Field(default=28, description="Days since release: one of the launch windows.")
    metric: Metric = "views"


class Scope(BaseModel):
    """What a query covered: ``all`` countries, a ``region`` or a ``country``."""

    kind: Literal["all", "region", "country"]
    name: str
    label: str


class Answer(BaseModel):
    """Fields every answer has."""

    generation: str
    as_of: str
    scope: Scope


class SeriesPoint(BaseModel):
    date: str
    title_id: str
    title: str
    value: float


class TitleTotal(BaseModel):
    title_id: str
    title: str
    value: float | None
    views: int
    completions: int
    hours_viewed: float


class TimeseriesResponse(Answer):
    metric: str
    metric_label: str
    start: str
    end: str
    points: list[SeriesPoint]
    totals: list[TitleTotal]


class Bar(BaseModel):
    label: str
    value: float | None
    views: int
    completions: int
    hours_viewed: float


class BreakdownResponse(Answer):
    by: str
    metric: str
    metric_label: str
    start: str
    end: str
    titles: list[str]
    bars: list[Bar]


class RetentionPoint(BaseModel):
    title_id: str
    title: str
    position: int
    share: float


class RetentionResponse(Answer):
    start: str
    end: str
    points: list[RetentionPoint]
    views: dict[str, int]


class PeerValue(BaseModel):
    title_id: str
    title: str
    release_date: str
    value: float | None


class CurvePoint(BaseModel):
    day: int
    series: str
    value: float | None


class PeerComparison(BaseModel):
    title_id: str
    title: str
    genre: str
    release_date: str
    window: int
    days: int
    complete: bool
    observable: bool
    value: float | None
    peer_median: float | None
    ratio: float | None
    percentile: float | None
    peers: list[PeerValue]
    curve: list[CurvePoint]
    note: str | None


class PeersResponse(Answer):
    metric: str
    metric_label: str
    window: int
    comparisons: list[PeerComparison]


class CatalogueTitle(BaseModel):
    title_id: str
    title: str
    genre: str
    kind: str
    release_date: str
    runtime_minutes: int
    peers: list[str]
    views: int = 0
    """Views over every published day and country."""


class MetaResponse(BaseModel):
    generation: str
    published: str | None
    as_of: str
    date_min: str
    date_max: str
    countries: list[str]
    regions: dict[str, list[str]]
    genres: list[str]
    metrics: dict[str, str]
    launch_windows: list[int]
    retention_positions: list[int]
    title_count: int
    run_id: str | None
    titles: list[CatalogueTitle]
