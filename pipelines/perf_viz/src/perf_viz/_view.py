"""The app's widget logic without Streamlit: what the user picked, what to ask the service.

A link can carry a selection (``?titles=t0001,t0002&country=FR&metric=hours_viewed&...``);
`selection_from_link` turns it into widget defaults and says what in it the published data
does not have, so the app can name it instead of failing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from perf_viz._dates import parse_date
from perf_viz._errors import (
    NothingPublishedError,
    PerfVizConfigError,
    ServiceSlowError,
    ServiceUnreachableError,
)
from perf_viz._metrics import METRICS
from perf_viz._models import MAX_TITLES

__all__ = [
    "ALL_COUNTRIES",
    "ALL_REGIONS",
    "BREAKDOWNS",
    "Selection",
    "default_titles",
    "freshness_text",
    "problem_message",
    "selection_from_link",
    "title_label",
]

ALL_REGIONS = "All regions"
ALL_COUNTRIES = "All countries"
BREAKDOWNS = {"country": "Country", "region": "Region", "genre": "Genre"}
DEFAULT_TITLE_COUNT = 3


@dataclass(frozen=True)
class Selection:
    """What the widgets say: the query the app sends to the service.

    Attributes:
        titles: Title ids.
        region: A region, or None for all.
        country: A country, or None for all (of the region).
        metric: ``views``, ``hours_viewed`` or ``completion_rate``.
        start: First day.
        end: Last day.
        breakdown: ``country``, ``region`` or ``genre``.
        peers_window: Days since release to compare with peers, or None for no comparison.
    """

    titles: list[str]
    region: str | None
    country: str | None
    metric: str
    start: dt.date
    end: dt.date
    breakdown: str = "country"
    peers_window: int | None = None

    def scope(self) -> dict[str, str]:
        """The scope fields of a query: a country, else a region, else none (all)."""
        if self.country:
            return {"country": self.country}
        if self.region:
            return {"region": self.region}
        return {}

    def _ranged(self) -> dict[str, Any]:
        return {**self.scope(), "start": self.start.isoformat(), "end": self.end.isoformat()}

    def timeseries_body(self) -> dict[str, Any]:
        """Body of ``POST /timeseries``."""
        return {**self._ranged(), "titles": self.titles, "metric": self.metric}

    def breakdown_body(self) -> dict[str, Any]:
        """Body of ``POST /breakdown`` (every title when none is picked)."""
        return {
            **self._ranged(),
            "titles": self.titles,
            "metric": self.metric,
            "by": self.breakdown,
        }

    def retention_body(self) -> dict[str, Any]:
        """Body of ``POST /retention``."""
        return {**self._ranged(), "titles": self.titles}

    def peers_body(self) -> dict[str, Any]:
        """Body of ``POST /peers``."""
        return {
            **self.scope(),
            "titles": self.titles,
            "metric": self.metric,
            "window": self.peers_window,
        }


@dataclass
class LinkSelection:
    """Widget defaults read from a link, and what in the link the data does not have."""

    titles: list[str]
    region: str
    country: str
    metric: str
    dates: tuple[dt.date, dt.date]
    breakdown: str
    compare: bool
    window: int
    problems: list[str] = field(default_factory=list)


def title_label(title: Mapping[str, Any]) -> str:
    """How the app names a title: ``The Silent Harbour (Drama, 2026)``."""
    return f"{title['title']} ({title['genre']}, {title['release_date'][:4]})"


def default_titles(meta: Mapping[str, Any]) -> list[str]:
    """The most viewed titles: what a first look shows."""
    titles = sorted(meta["titles"], key=lambda t: (-t.get("views", 0), t["title_id"]))
    return [t["title_id"] for t in titles[:DEFAULT_TITLE_COUNT]]


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    raw = params.get(name)
    if raw is None:
        return []
    items = raw if isinstance(raw, list | tuple) else [raw]
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def _one(params: Mapping[str, Any], name: str) -> str | None:
    values = _values(params, name)
    return values[0] if values else None


def _resolve_titles(
    names: Sequence[str], meta: Mapping[str, Any], problems: list[str]
) -> list[str]:
    by_id = {t["title_id"]: t["title_id"] for t in meta["titles"]}
    by_name = {t["title"].casefold(): t["title_id"] for t in meta["titles"]}
    found: list[str] = []
    for name in names:
        title_id = by_id.get(name) or by_name.get(name.casefold())
        if title_id is None:
            problems.append(
                f"Unknown title {name!r} in the link: the published data has no title with "
                "that id or name."
            )
        elif title_id not in found:
            found.append(title_id)
    if len(found) > MAX_TITLES:
        problems.append(f"The link names {len(found)} titles; showing the first {MAX_TITLES}.")
    return found[:MAX_TITLES]


def _resolve_scope(
    params: Mapping[str, Any], meta: Mapping[str, Any], problems: list[str]
) -> tuple[str, str]:
    region, country = ALL_REGIONS, ALL_COUNTRIES
    asked_region = _one(params, "region")
    if asked_region:
        regions = {name.casefold(): name for name in meta["regions"]}
        if asked_region.casefold() in regions:
            region = regions[asked_region.casefold()]
        else:
            problems.append(
                f"Unknown region {asked_region!r} in the link: the regions are "
                f"{', '.join(meta['regions'])}."
            )
    asked_country = _one(params, "country")
    if asked_country:
        code = asked_country.upper()
        if code not in meta["countries"]:
            problems.append(
                f"Unknown country {asked_country!r} in the link: the published data covers "
                f"{', '.join(meta['countries'])}."
            )
        else:
            country = code
            region = next(name for name, codes in meta["regions"].items() if code in codes)
    return region, country


def _resolve_dates(
    params: Mapping[str, Any], meta: Mapping[str, Any], problems: list[str]
) -> tuple[dt.date, dt.date]:
    first, last = parse_date(meta["date_min"]), parse_date(meta["date_max"])
    try:
        start = parse_date(_one(params, "start") or meta["date_min"], "start")
        end = parse_date(_one(params, "end") or meta["date_max"], "end")
    except PerfVizConfigError as error:
        message = str(error)
        problems.append(
            f"{message[0].upper()}{message[1:]} (in the link); showing every published day."
        )
        return first, last
    if start > end or start > last or end < first:
        problems.append(
            f"The link's date range {start} to {end} is outside the published data "
            f"({first} to {last}); showing every published day."
        )
        return first, last
    return max(start, first), min(end, last)


def selection_from_link(params: Mapping[str, Any], meta: Mapping[str, Any]) -> LinkSelection:
    """Widget defaults from a link's query parameters, checked against the published data.

    Args:
        params: Query parameters (``titles``, ``region``, ``country``, ``metric``, ``start``,
            ``end``, ``breakdown``, ``peers``); comma-separated lists or repeated values.
        meta: The service's ``/meta`` answer.

    Returns:
        The defaults; `LinkSelection.problems` names each part of the link that the data does
        not have (an unknown title, country or region, dates outside the data, ...).
    """
    problems: list[str] = []
    asked_titles = _values(params, "titles")
    titles = _resolve_titles(asked_titles, meta, problems) if asked_titles else []
    if not asked_titles:
        titles = default_titles(meta)
    region, country = _resolve_scope(params, meta, problems)
    metric = _one(params, "metric") or "views"
    if metric not in METRICS:
        problems.append(f"Unknown metric {metric!r} in the link: metrics are {list(METRICS)}.")
        metric = "views"
    breakdown = _one(params, "breakdown") or "country"
    if breakdown not in BREAKDOWNS:
        problems.append(f"Unknown breakdown {breakdown!r} in the link: use {list(BREAKDOWNS)}.")
        breakdown = "country"
    windows = list(meta["launch_windows"])
    peers = _one(params, "peers")
    compare, window = False, windows[-1]
    if peers:
        if peers.isdigit() and int(peers) in windows:
            compare, window = True, int(peers)
        else:
            problems.append(f"Unknown launch window {peers!r} in the link: use {windows}.")
    return LinkSelection(
        titles=titles,
        region=region,
        country=country,
        metric=metric,
        dates=_resolve_dates(params, meta, problems),
        breakdown=breakdown,
        compare=compare,
        window=window,
        problems=problems,
    )


def freshness_text(meta: Mapping[str, Any]) -> str:
    """The data freshness line: generation id, when it was published, the as-of date."""
    published = meta.get("published")
    when = "unknown time"
    if published:
        moment = dt.datetime.fromisoformat(published).astimezone(dt.UTC)
        when = f"{moment:%Y-%m-%d %H:%M} UTC"
    return (
        f"Data: generation {meta['generation']}, published {when}; viewing up to "
        f"{meta['date_max']} ({meta['title_count']} titles)"
    )


def problem_message(error: Exception) -> tuple[str, str]:
    """What the app shows for a failed query: a level (``error``, ``info``) and one line.

    Never a traceback: the message says what happened and what to do.
    """
    if isinstance(error, ServiceUnreachableError):
        return "error", f"**The performance service is down.** {error}"
    if isinstance(error, ServiceSlowError):
        return "error", f"**The performance service is slow.** {error}"
    if isinstance(error, NothingPublishedError):
        return "info", f"**No data published yet.** {error}"
    return "error", str(error)
