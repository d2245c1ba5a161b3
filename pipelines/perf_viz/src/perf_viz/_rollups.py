"""Daily aggregates -> the values of a cache generation (the reduce side of the flow).

The daily rows of a set of titles become a dense cube (title x country x day x measure);
regions and ``ALL`` are sums over their countries. Everything a value holds is an additive
count (views, completions, minutes, views that reached each tenth of the runtime), so the
service can sum any date range and derive rates from the sums.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from perf_viz._config import ALL_SCOPE, PerfVizConfig
from perf_viz._errors import InputDataError
from perf_viz._keys import genre_key, launch_key, series_key
from perf_viz._metrics import METRICS
from perf_viz._schemas import RETENTION_POSITIONS, reached_column

__all__ = [
    "MEASURES",
    "DailyCube",
    "DateAxis",
    "build_catalogue",
    "build_cube",
    "genre_totals",
    "genre_values",
    "meta_value",
    "scopes",
    "title_buckets",
    "title_values",
]

MEASURES = ("views", "completions", "minutes_viewed", *map(reached_column, RETENTION_POSITIONS))
_VIEWS, _COMPLETIONS, _MINUTES = 0, 1, 2
_REACHED = slice(3, 3 + len(RETENTION_POSITIONS))


@dataclass(frozen=True)
class DateAxis:
    """The days a generation covers, ``first`` to ``last`` inclusive."""

    first: dt.date
    last: dt.date

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise InputDataError(f"date axis from {self.first} to {self.last} is empty")

    @property
    def days(self) -> int:
        """Number of days."""
        return (self.last - self.first).days + 1

    def index(self, day: dt.date) -> int:
        """Position of ``day`` (negative before ``first``)."""
        return (day - self.first).days

    def date(self, index: int) -> dt.date:
        """The day at a position."""
        return self.first + dt.timedelta(days=index)


def scopes(config: PerfVizConfig) -> list[str]:
    """Every scope values are kept for: each country, each region, then ``ALL``."""
    return [*config.countries, *config.regions, ALL_SCOPE]


def _scope_matrix(config: PerfVizConfig) -> np.ndarray:
    """Scope x country membership (1 where the country counts towards the scope)."""
    countries = config.countries
    matrix = np.zeros((len(scopes(config)), len(countries)))
    for row, scope in enumerate(scopes(config)):
        members = countries if scope == ALL_SCOPE else config.regions.get(scope, [scope])
        for country in members:
            matrix[row, countries.index(country)] = 1.0
    return matrix


@dataclass(frozen=True)
class DailyCube:
    """Dense daily counts: ``counts[title, country, day, measure]`` (measures: `MEASURES`)."""

    title_ids: list[str]
    countries: list[str]
    axis: DateAxis
    counts: np.ndarray

    def by_scope(self, config: PerfVizConfig) -> np.ndarray:
        """``[title, scope, day, measure]`` in the order of `scopes`."""
        return np.einsum("tcdm,sc->tsdm", self.counts, _scope_matrix(config))


def _unknown(values: Iterable[str], known: Iterable[str]) -> list[str]:
    return sorted(set(values) - set(known))


def build_cube(
    daily: pa.Table, title_ids: Sequence[str], config: PerfVizConfig, axis: DateAxis
) -> DailyCube:
    """Put daily rows of ``title_ids`` into a cube (rows of one cell are added up).

    Raises:
        InputDataError: A row names a country no region of the configuration lists, a title
            outside ``title_ids``, or a day outside ``axis``.
    """
    countries = config.countries
    counts = np.zeros((len(title_ids), len(countries), axis.days, len(MEASURES)))
    if daily.num_rows == 0:
        return DailyCube(list(title_ids), countries, axis, counts)
    title_column = daily["title_id"].to_pylist()
    country_column = daily["country"].to_pylist()
    if unknown := _unknown(country_column, countries):
        raise InputDataError(
            f"the viewing has countries {unknown[:5]} that no region of the configuration "
            f"lists (regions: {config.regions}); add them to a region"
        )
    if unknown := _unknown(title_column, title_ids):
        raise InputDataError(
            f"the viewing names titles {unknown[:5]} that the catalogue "
            f"({config.titles_table}) does not have or that are not released by {axis.last}"
        )
    title_index = {title_id: i for i, title_id in enumerate(title_ids)}
    country_index = {country: i for i, country in enumerate(countries)}
    days = daily["view_date"].to_numpy(zero_copy_only=False).astype("datetime64[D]")
    day_index = (days - np.datetime64(axis.first, "D")).astype(np.int64)
    if day_index.min() < 0 or day_index.max() >= axis.days:
        raise InputDataError(f"daily rows fall outside {axis.first}..{axis.last}")
    rows = (
        np.fromiter((title_index[t] for t in title_column), np.int64, len(title_column)),
        np.fromiter((country_index[c] for c in country_column), np.int64, len(country_column)),
        day_index,
    )
    values = np.column_stack(
        [daily[name].to_numpy(zero_copy_only=False).astype(np.float64) for name in MEASURES]
    )
    np.add.at(counts, rows, values)
    return DailyCube(list(title_ids), countries, axis, counts)


def _ints(values: np.ndarray) -> list[int]:
    return np.rint(values).astype(np.int64).tolist()


def _hours(minutes: np.ndarray) -> list[float]:
    return np.round(minutes / 60.0, 4).tolist()


def _daily_fields(cells: np.ndarray) -> dict[str, Any]:
    return {
        "views": _ints(cells[:, _VIEWS]),
        "completions": _ints(cells[:, _COMPLETIONS]),
        "hours": _hours(cells[:, _MINUTES]),
    }


def title_values(
    cube: DailyCube, catalogue: Sequence[Mapping[str, Any]], config: PerfVizConfig
) -> dict[str, Any]:
    """The ``series:`` and ``launch:`` values of the cube's titles in every scope.

    Args:
        cube: Daily counts of some titles.
        catalogue: Rows of `build_catalogue` (at least the cube's titles).
        config: Regions and launch windows.
    """
    releases = {row["title_id"]: dt.date.fromisoformat(row["release_date"]) for row in catalogue}
    scoped = cube.by_scope(config)
    axis = cube.axis
    longest = config.longest_window
    values: dict[str, Any] = {}
    for t, title_id in enumerate(cube.title_ids):
        release = releases[title_id]
        start = max(0, axis.index(release))
        observable = release >= axis.first
        for s, scope in enumerate(scopes(config)):
            cells = scoped[t, s, start:]
            values[series_key(title_id, scope)] = {
                "start": axis.date(start).isoformat(),
                **_daily_fields(cells),
                "reached": _ints(cells[:, _REACHED]),
            }
            launch: dict[str, Any] = {
                "release_date": release.isoformat(),
                "observable": observable,
            }
            if observable:
                first_days = cells[:longest]
                launch |= _daily_fields(first_days)
                launch["windows"] = {
                    str(window): {
                        "days": min(window, len(first_days)),
                        "complete": len(first_days) >= window,
                    }
                    for window in config.launch_windows
                }
            values[launch_key(title_id, scope)] = launch
    return values


def genre_totals(
    cube: DailyCube,
    catalogue: Sequence[Mapping[str, Any]],
    genres: Sequence[str],
    config: PerfVizConfig,
) -> np.ndarray:
    """``[genre, scope, day, (views, completions, minutes)]`` of the cube's titles.

    Partial sums: the publish step adds up every task's totals.
    """
    genre_of = {row["title_id"]: row["genre"] for row in catalogue}
    scoped = cube.by_scope(config)[..., :3]
    totals = np.zeros((len(genres), *scoped.shape[1:]))
    for t, title_id in enumerate(cube.title_ids):
        totals[genres.index(genre_of[title_id])] += scoped[t]
    return totals


def genre_values(
    totals: np.ndarray, genres: Sequence[str], axis: DateAxis, config: PerfVizConfig
) -> dict[str, Any]:
    """The ``genre:`` values from the summed `genre_totals`."""
    return {
        genre_key(genre, scope): {"start": axis.first.isoformat(), **_daily_fields(totals[g, s])}
        for g, genre in enumerate(genres)
        for s, scope in enumerate(scopes(config))
    }


def build_catalogue(
    titles: pa.Table, axis: DateAxis, config: PerfVizConfig
) -> list[dict[str, Any]]:
    """The titles released by ``axis.last``, each with its peers, sorted by id.

    A title's peers are the other titles of its genre released at most
    ``peer_release_window_days`` before or after it whose launch lies in the data (released on
    or after ``axis.first``), nearest release first.
    """
    rows = [row for row in titles.to_pylist() if row["release_date"] <= axis.last]
    rows.sort(key=lambda row: row["title_id"])
    window = config.peer_release_window_days
    catalogue = []
    for row in rows:
        peers = [
            other
            for other in rows
            if other["title_id"] != row["title_id"]
            and other["genre"] == row["genre"]
            and other["release_date"] >= axis.first
            and abs((other["release_date"] - row["release_date"]).days) <= window
        ]
        peers.sort(
            key=lambda other: (
                abs((other["release_date"] - row["release_date"]).days),
                other["title_id"],
            )
        )
        catalogue.append(
            {
                **row,
                "release_date": row["release_date"].isoformat(),
                "peers": [other["title_id"] for other in peers],
            }
        )
    return catalogue


def title_buckets(title_ids: Sequence[str], n: int) -> list[list[str]]:
    """Split titles into at most ``n`` non-empty buckets of near-equal size (round robin)."""
    ordered = sorted(title_ids)
    count = max(1, min(n, len(ordered)))
    return [ordered[i::count] for i in range(count)] if ordered else []


def meta_value(
    *,
    generation: str,
    as_of: dt.date,
    axis: DateAxis,
    catalogue: Sequence[Mapping[str, Any]],
    genres: Sequence[str],
    config: PerfVizConfig,
    run_id: str | None,
    daily_snapshot_id: int | None,
) -> dict[str, Any]:
    """The ``meta`` value: what the generation covers, for the service and the app."""
    return {
        "generation": generation,
        "as_of": as_of.isoformat(),
        "date_min": axis.first.isoformat(),
        "date_max": axis.last.isoformat(),
        "countries": config.countries,
        "regions": config.regions,
        "genres": list(genres),
        "title_count": len(catalogue),
        "metrics": METRICS,
        "launch_windows": config.launch_windows,
        "retention_positions": list(RETENTION_POSITIONS),
        "completion_threshold": config.completion_threshold,
        "run_id": run_id,
        "daily_snapshot_id": daily_snapshot_id,
    }
