"""Answering the service's queries from the cache alone (no table is read per request).

`PerformanceStore` resolves names against the current generation's catalogue, reads the
values a query needs in one ``get_many`` (all from one generation) and computes what the view
shows: daily metric points, bars, retention shares, launch comparisons with peers.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlplatform.cache import Cache, GenerationError
from perf_viz._config import ALL_SCOPE, PerfVizConfig
from perf_viz._errors import (
    DateRangeError,
    GenerationChangingError,
    NothingPublishedError,
    QueryError,
    UnknownNameError,
)
from perf_viz._keys import CATALOGUE_KEY, META_KEY, genre_key, launch_key, series_key
from perf_viz._metrics import METRICS, metric_value
from perf_viz._models import (
    Bar,
    BreakdownQuery,
    BreakdownResponse,
    CatalogueTitle,
    CurvePoint,
    MetaResponse,
    PeerComparison,
    PeersQuery,
    PeersResponse,
    RangedQuery,
    RetentionPoint,
    RetentionQuery,
    RetentionResponse,
    Scope,
    ScopedQuery,
    SeriesPoint,
    TimeseriesQuery,
    TimeseriesResponse,
    TitleTotal,
)

__all__ = ["PerformanceStore"]

logger = logging.getLogger(__name__)

_READ_ATTEMPTS = 3
_CHANGING = (
    "cache namespace {namespace!r} changed generation during "
    f"{_READ_ATTEMPTS} reads in a row; try again"
)


@dataclass(frozen=True)
class _Generation:
    """The current generation's meta and catalogue, kept per worker until the next publish."""

    id: str
    meta: dict[str, Any]
    titles: dict[str, dict[str, Any]]
    ids_by_name: dict[str, str]


@dataclass(frozen=True)
class _TitlesInScope:
    """What a query's names resolved to in one generation."""

    titles: list[dict[str, Any]]
    scope: Scope
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class _Counts:
    """Summed counts over some days."""

    views: float = 0.0
    completions: float = 0.0
    hours: float = 0.0

    def __add__(self, other: _Counts) -> _Counts:
        return _Counts(
            self.views + other.views,
            self.completions + other.completions,
            self.hours + other.hours,
        )

    def value(self, metric: str) -> float | None:
        return metric_value(metric, self.views, self.completions, self.hours)


def _days(value: Mapping[str, Any] | None, start: dt.date, end: dt.date) -> tuple[dt.date, slice]:
    """The first date and the slice of a daily value's arrays within ``start..end``."""
    if value is None:
        return start, slice(0, 0)
    first = dt.date.fromisoformat(value["start"])
    begin = max(0, (start - first).days)
    stop = max(begin, (end - first).days + 1)
    return first + dt.timedelta(days=begin), slice(begin, stop)


def _total(value: Mapping[str, Any] | None, days: slice) -> _Counts:
    if value is None:
        return _Counts()
    return _Counts(
        float(sum(value["views"][days])),
        float(sum(value["completions"][days])),
        float(sum(value["hours"][days])),
    )


class PerformanceStore:
    """Reads one namespace of the cache and answers the service's queries.

    Args:
        cache: The namespace the flow publishes to (`PerfVizConfig.cache_namespace`).
    """

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._generation: _Generation | None = None
        self._meta: MetaResponse | None = None

    @classmethod
    def open(cls, config: PerfVizConfig) -> PerformanceStore:
        """A store over the configuration's cache namespace (the profile's backend)."""
        return cls(Cache(config.cache_namespace))

    # -- the generation ------------------------------------------------------------------

    def _current(self) -> _Generation:
        """The current generation's meta and catalogue (read again after each publish)."""
        for _ in range(_READ_ATTEMPTS):
            generation = self.cache.current_generation()
            if generation is None:
                raise NothingPublishedError(
                    f"no data published yet: cache namespace {self.cache.namespace!r} has no "
                    "generation; run the flow (uv run pipelines/perf_viz/flow.py run)"
                )
            if self._generation is not None and self._generation.id == generation:
                return self._generation
            found = self.cache.get_many([META_KEY, CATALOGUE_KEY])
            meta = found.get(META_KEY)
            if meta is None or CATALOGUE_KEY not in found:
                raise NothingPublishedError(
                    f"generation {generation} of cache namespace {self.cache.namespace!r} has "
                    f"no {META_KEY!r}: it was not written by TitlePerformanceFlow; run the flow"
                )
            if meta.get("generation") != generation:
                continue  # published meanwhile: read the pointer again
            titles = {row["title_id"]: row for row in found[CATALOGUE_KEY]}
            self._generation = _Generation(
                generation,
                meta,
                titles,
                {row["title"].casefold(): title_id for title_id, row in titles.items()},
            )
            return self._generation
        raise GenerationChangingError(_CHANGING.format(namespace=self.cache.namespace))

    def _read(
        self, keys_for: Callable[[_Generation], Sequence[str]]
    ) -> tuple[_Generation, dict[str, Any]]:
        """Resolve a query's keys and read them, all from one generation.

        A publish between reading the catalogue and the values is seen in the ``meta`` read
        with the values; the query is then resolved again against the new generation.
        """
        for _ in range(_READ_ATTEMPTS):
            generation = self._current()
            keys = list(dict.fromkeys(keys_for(generation)))
            values = self.cache.get_many([META_KEY, *keys])
            if values.get(META_KEY, {}).get("generation") == generation.id:
                return generation, values
            self._generation = None
        raise GenerationChangingError(_CHANGING.format(namespace=self.cache.namespace))

    # -- names, scopes and dates ---------------------------------------------------------

    @staticmethod
    def _title(generation: _Generation, name: str) -> dict[str, Any]:
        if name in generation.titles:
            return generation.titles[name]
        title_id = generation.ids_by_name.get(name.strip().casefold())
        if title_id is not None:
            return generation.titles[title_id]
        names = [row["title"] for row in generation.titles.values()]
        close = difflib.get_close_matches(name, [*generation.titles, *names], n=3)
        hint = f"; did you mean {close}?" if close else ""
        raise UnknownNameError(
            "title",
            name,
            f"unknown title {name!r}: generation {generation.id} has no title with that id "
            f"or name ({len(generation.titles)} titles){hint}",
        )

    def _titles(self, generation: _Generation, names: Sequence[str]) -> list[dict[str, Any]]:
        rows = [self._title(generation, name) for name in names]
        return list({row["title_id"]: row for row in rows}.values())

    @staticmethod
    def _scope(generation: _Generation, query: ScopedQuery) -> Scope:
        meta = generation.meta
        if query.country:
            code = query.country.strip().upper()
            if code not in meta["countries"]:
                raise UnknownNameError(
                    "country",
                    query.country,
                    f"unknown country {query.country!r}: the published data covers "
                    f"{meta['countries']}",
                )
            return Scope(kind="country", name=code, label=code)
        if query.region:
            regions = {name.casefold(): name for name in meta["regions"]}
            region = regions.get(query.region.strip().casefold())
            if region is None:
                raise UnknownNameError(
                    "region",
                    query.region,
                    f"unknown region {query.region!r}: the regions are {list(meta['regions'])}",
                )
            return Scope(kind="region", name=region, label=region)
        return Scope(kind="all", name=ALL_SCOPE, label="All countries")

    @staticmethod
    def _range(generation: _Generation, query: RangedQuery) -> tuple[dt.date, dt.date]:
        first = dt.date.fromisoformat(generation.meta["date_min"])
        last = dt.date.fromisoformat(generation.meta["date_max"])
        start, end = query.start or first, query.end or last
        if start > last or end < first:
            raise DateRangeError(
                f"date range {start}..{end} is outside the published data ({first}..{last}); "
                "pick dates within it",
                start=start.isoformat(),
                end=end.isoformat(),
                date_min=first.isoformat(),
                date_max=last.isoformat(),
            )
        return max(start, first), min(end, last)

    @staticmethod
    def _answer(generation: _Generation, scope: Scope) -> dict[str, Any]:
        return {"generation": generation.id, "as_of": generation.meta["as_of"], "scope": scope}

    # -- queries -------------------------------------------------------------------------

    def meta(self) -> MetaResponse:
        """What the current generation covers: dates, countries, regions, genres, titles."""
        generation = self._current()
        if self._meta is not None and self._meta.generation == generation.id:
            return self._meta
        try:
            published = self.cache.generation_info(generation.id).published
        except GenerationError:  # collected since: a newer one is current
            published = None
        own = {"generation", "published", "titles"}
        self._meta = MetaResponse(
            generation=generation.id,
            published=published.isoformat() if published else None,
            titles=[CatalogueTitle(**row) for row in generation.titles.values()],
            **{
                key: value
                for key, value in generation.meta.items()
                if key in MetaResponse.model_fields and key not in own
            },
        )
        return self._meta

    def _read_series(
        self, query: TimeseriesQuery | RetentionQuery
    ) -> tuple[_Generation, _TitlesInScope, dict[str, Any]]:
        """The query's titles, scope and dates, and their ``series:`` values."""
        resolved: list[_TitlesInScope] = []

        def keys(generation: _Generation) -> list[str]:
            resolved[:] = [
                _TitlesInScope(
                    self._titles(generation, query.titles),
                    self._scope(generation, query),
                    *self._range(generation, query),
                )
            ]
            scope = resolved[0].scope.name
            return [series_key(row["title_id"], scope) for row in resolved[0].titles]

        generation, values = self._read(keys)
        return generation, resolved[0], values

    def timeseries(self, query: TimeseriesQuery) -> TimeseriesResponse:
        """The metric per day for each title in the scope and date range."""
        generation, resolved, values = self._read_series(query)
        scope, start, end = resolved.scope, resolved.start, resolved.end
        points, totals = [], []
        for row in resolved.titles:
            value = values.get(series_key(row["title_id"], scope.name))
            first, days = _days(value, start, end)
            if value is not None:
                daily = zip(
                    value["views"][days],
                    value["completions"][days],
                    value["hours"][days],
                    strict=True,
                )
                for offset, (views, completions, hours) in enumerate(daily):
                    point = metric_value(query.metric, views, completions, hours)
                    if point is not None:
                        points.append(
                            SeriesPoint(
                                date=(first + dt.timedelta(days=offset)).isoformat(),
                                title_id=row["title_id"],
                                title=row["title"],
                                value=point,
                            )
                        )
            total = _total(value, days)
            totals.append(
                TitleTotal(
                    title_id=row["title_id"],
                    title=row["title"],
                    value=total.value(query.metric),
                    views=int(total.views),
                    completions=int(total.completions),
                    hours_viewed=round(total.hours, 3),
                )
            )
        return TimeseriesResponse(
            **self._answer(generation, scope),
            metric=query.metric,
            metric_label=METRICS[query.metric],
            start=start.isoformat(),
            end=end.isoformat(),
            points=points,
            totals=totals,
        )

    @staticmethod
    def _groups(generation: _Generation, by: str, scope: Scope) -> list[str]:
        meta = generation.meta
        if by == "region":
            return list(meta["regions"])
        if by == "genre":
            return list(meta["genres"])
        if scope.kind == "region":
            return list(meta["regions"][scope.name])
        return list(meta["countries"])

    def breakdown(self, query: BreakdownQuery) -> BreakdownResponse:
        """The metric over the date range per country, region or genre.

        By country: the countries of the chosen region (all of them otherwise); by region:
        every region; by genre: within the chosen scope. Of the given titles, or of every
        title (from the genres' totals) when none is given.
        """
        resolved: dict[str, Any] = {}

        def keys(generation: _Generation) -> list[str]:
            titles = self._titles(generation, query.titles)
            scope = self._scope(generation, query)
            resolved.update(titles=titles, scope=scope, range=self._range(generation, query))
            groups = self._groups(generation, query.by, scope)
            resolved["groups"] = groups
            genres = generation.meta["genres"]
            if query.by == "genre":
                if titles:
                    return [series_key(row["title_id"], scope.name) for row in titles]
                return [genre_key(genre, scope.name) for genre in groups]
            if titles:
                return [series_key(row["title_id"], g) for row in titles for g in groups]
            return [genre_key(genre, g) for genre in genres for g in groups]

        generation, values = self._read(keys)
        scope, (start, end) = resolved["scope"], resolved["range"]
        titles, groups = resolved["titles"], resolved["groups"]

        def total(key: str) -> _Counts:
            value = values.get(key)
            return _total(value, _days(value, start, end)[1])

        sums: dict[str, _Counts] = {group: _Counts() for group in groups}
        if query.by == "genre":
            if titles:
                for row in titles:
                    sums[row["genre"]] += total(series_key(row["title_id"], scope.name))
                sums = {genre: counts for genre, counts in sums.items() if counts.views}
            else:
                sums = {genre: total(genre_key(genre, scope.name)) for genre in groups}
        else:
            for group in groups:
                parts = (
                    [series_key(row["title_id"], group) for row in titles]
                    if titles
                    else [genre_key(genre, group) for genre in generation.meta["genres"]]
                )
                for key in parts:
                    sums[group] += total(key)
        bars = [
            Bar(
                label=label,
                value=counts.value(query.metric),
                views=int(counts.views),
                completions=int(counts.completions),
                hours_viewed=round(counts.hours, 3),
            )
            for label, counts in sums.items()
        ]
        bars.sort(key=lambda bar: (bar.value is None, -(bar.value or 0.0), bar.label))
        return BreakdownResponse(
            **self._answer(generation, scope),
            by=query.by,
            metric=query.metric,
            metric_label=METRICS[query.metric],
            start=start.isoformat(),
            end=end.isoformat(),
            titles=[row["title_id"] for row in titles],
            bars=bars,
        )

    def retention(self, query: RetentionQuery) -> RetentionResponse:
        """Share of the views in the date range that reached each tenth of the runtime."""
        generation, resolved, values = self._read_series(query)
        scope, start, end = resolved.scope, resolved.start, resolved.end
        positions = generation.meta["retention_positions"]
        points, views_by_title = [], {}
        for row in resolved.titles:
            value = values.get(series_key(row["title_id"], scope.name))
            days = _days(value, start, end)[1]
            views = int(sum(value["views"][days])) if value else 0
            views_by_title[row["title_id"]] = views
            if not views:
                continue
            reached = np.asarray(value["reached"][days], dtype=np.float64).sum(axis=0)
            shares = [1.0, *(reached / views).round(6).tolist()]
            for position, share in zip([0, *positions], shares, strict=True):
                points.append(
                    RetentionPoint(
                        title_id=row["title_id"], title=row["title"], position=position, share=share
                    )
                )
        return RetentionResponse(
            **self._answer(generation, scope),
            start=start.isoformat(),
            end=end.isoformat(),
            points=points,
            views=views_by_title,
        )

    def peers(self, query: PeersQuery) -> PeersResponse:
        """Each title's first ``window`` days after release against its peers' first days.

        Peers are titles of the same genre released within the configured window of the
        title (see the catalogue); they are compared over as many days as the title has had,
        so a title launched 10 days ago is compared with its peers' first 10 days.
        """
        resolved: dict[str, Any] = {}

        def keys(generation: _Generation) -> list[str]:
            windows = generation.meta["launch_windows"]
            if query.window not in windows:
                raise QueryError(
                    f"window {query.window} is not a launch window of the published data; "
                    f"windows are {windows}",
                    window=query.window,
                )
            resolved["titles"] = titles = self._titles(generation, query.titles)
            resolved["scope"] = scope = self._scope(generation, query)
            ids = [row["title_id"] for row in titles]
            ids += [peer for row in titles for peer in row["peers"]]
            return [launch_key(title_id, scope.name) for title_id in ids]

        generation, values = self._read(keys)
        scope = resolved["scope"]
        comparisons = [
            self._compare(generation, row, values, scope, query) for row in resolved["titles"]
        ]
        return PeersResponse(
            **self._answer(generation, scope),
            metric=query.metric,
            metric_label=METRICS[query.metric],
            window=query.window,
            comparisons=comparisons,
        )

    @staticmethod
    def _cumulative(launch: Mapping[str, Any], days: int, metric: str) -> list[float | None]:
        views = np.cumsum(launch["views"][:days], dtype=np.float64)
        completions = np.cumsum(launch["completions"][:days], dtype=np.float64)
        hours = np.cumsum(launch["hours"][:days], dtype=np.float64)
        return [
            metric_value(metric, v, c, h) for v, c, h in zip(views, completions, hours, strict=True)
        ]

    def _compare(
        self,
        generation: _Generation,
        row: Mapping[str, Any],
        values: Mapping[str, Any],
        scope: Scope,
        query: PeersQuery,
    ) -> PeerComparison:
        window, metric = query.window, query.metric
        launch = values.get(launch_key(row["title_id"], scope.name)) or {"observable": False}
        base = {
            "title_id": row["title_id"],
            "title": row["title"],
            "genre": row["genre"],
            "release_date": row["release_date"],
            "window": window,
        }
        if not launch.get("observable"):
            return PeerComparison(
                **base,
                days=0,
                complete=False,
                observable=False,
                value=None,
                peer_median=None,
                ratio=None,
                percentile=None,
                peers=[],
                curve=[],
                note=(
                    f"released {row['release_date']}, before the data starts "
                    f"({generation.meta['date_min']}): its first days are not in the data"
                ),
            )
        days = min(window, len(launch["views"]))
        curve_title = self._cumulative(launch, days, metric)
        value = curve_title[-1] if curve_title else None
        peers, peer_curves = [], []
        for peer_id in row["peers"]:
            peer_launch = values.get(launch_key(peer_id, scope.name)) or {}
            if not peer_launch.get("observable") or len(peer_launch["views"]) < days:
                continue  # its launch is not in the data, or it has had fewer days
            peer_curve = self._cumulative(peer_launch, days, metric)
            peer_curves.append(peer_curve)
            peer = generation.titles[peer_id]
            peers.append(
                {
                    "title_id": peer_id,
                    "title": peer["title"],
                    "release_date": peer["release_date"],
                    "value": peer_curve[-1] if peer_curve else None,
                }
            )
        peer_values = [p["value"] for p in peers if p["value"] is not None]
        median = float(np.median(peer_values)) if peer_values else None
        ratio = value / median if value is not None and median else None
        percentile = None
        if value is not None and peer_values:
            below = sum(v < value for v in peer_values) + 0.5 * sum(v == value for v in peer_values)
            percentile = round(below / len(peer_values), 4)
        curve = [
            CurvePoint(day=day + 1, series=row["title"], value=point)
            for day, point in enumerate(curve_title)
        ]
        if peer_curves:
            for d in range(days):
                column = [c[d] for c in peer_curves if c[d] is not None]
                curve.append(
                    CurvePoint(
                        day=d + 1,
                        series="Peer median",
                        value=float(np.median(column)) if column else None,
                    )
                )
        notes = []
        if days < window:
            notes.append(
                f"only {days} of {window} days since release so far: compared with the "
                f"peers' first {days} days"
            )
        if not peers:
            notes.append("no comparable titles (same genre, released around the same time)")
        return PeerComparison(
            **base,
            days=days,
            complete=days >= window,
            observable=True,
            value=value,
            peer_median=median,
            ratio=round(ratio, 4) if ratio is not None else None,
            percentile=percentile,
            peers=sorted(peers, key=lambda p: (p["value"] is None, -(p["value"] or 0.0))),
            curve=curve,
            note="; ".join(notes) or None,
        )
