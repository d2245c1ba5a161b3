"""The chain's tables and cache through `mlplatform.data` and `mlplatform.cache`.

**Inputs** are the partner team's: ``etl.viewing_daily`` (partitioned by date), ``etl.titles``,
``etl.countries``, ``etl.license_offers`` and, for the sample, ``etl.sample_world``. In the
local profile they are seeded from `World` when missing (`ensure_world`); in production a
missing input is an error. Every branch reads the same inputs.

**Outputs** are the branch's (`Outputs`). Every output is partitioned by its date and each
run replaces the partitions of its dates in one commit (an overwrite with a partition
filter): a re-run makes exactly one new snapshot and never duplicates rows. The ledger
(`processed_fingerprints`, `record_processed`) decides which days a run processes
(`plan_aggregation`, see `_aggregate.py` for the rule).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from content_decisions._aggregate import date_filter, fingerprint_rows
from content_decisions._errors import InputDataError, NoDataForDateError
from content_decisions._forecast import DemandPanel
from content_decisions._outputs import Outputs
from content_decisions._schemas import (
    COUNTRY_SCHEMA,
    LEDGER_SCHEMA,
    OFFER_SCHEMA,
    TITLE_SCHEMA,
    VIEWING_SCHEMA,
    WORLD_SCHEMA,
)
from content_decisions._vocabulary import (
    COUNTRIES_TABLE,
    ETL_EVENT,
    OFFERS_TABLE,
    TITLES_TABLE,
    VIEWING_TABLE,
    WORLD_TABLE,
)
from content_decisions._world import World, WorldSpec
from mlplatform.cache import Cache
from mlplatform.data import DataFrame, Table, WriteManifest, ensure_tables

__all__ = [
    "AggregationPlan",
    "ensure_world",
    "load_countries",
    "load_demand_panel",
    "load_offers",
    "load_titles",
    "load_viewing",
    "plan_aggregation",
    "read_world_spec",
    "viewing_dates",
    "write_viewing_day",
]

logger = logging.getLogger(__name__)


# -- inputs ---------------------------------------------------------------------------------


def ensure_world(spec: WorldSpec | None = None) -> WorldSpec | None:
    """The input tables, seeded from the sample world in the local profile when missing.

    Args:
        spec: The world to seed if the viewing table is missing (default `WorldSpec()`).

    Returns:
        The spec of the seeded world (from ``etl.sample_world``), or None when the inputs
        exist without one (real data).

    Raises:
        TableNotFoundError: The viewing table is missing outside the local profile.
    """
    schemas = {
        VIEWING_TABLE: VIEWING_SCHEMA,
        TITLES_TABLE: TITLE_SCHEMA,
        COUNTRIES_TABLE: COUNTRY_SCHEMA,
        OFFERS_TABLE: OFFER_SCHEMA,
        WORLD_TABLE: WORLD_SCHEMA,
    }

    def sample() -> dict[str, pa.Table]:
        world = World(spec or WorldSpec())
        logger.info(
            "seeding the sample world: %d titles, %d countries, %d days of viewing from %s "
            "(seed %d)",
            world.spec.n_titles,
            world.countries.num_rows,
            7 * world.spec.history_weeks,
            world.spec.start,
            world.spec.seed,
        )
        return {
            VIEWING_TABLE: world.history(),
            TITLES_TABLE: world.titles,
            COUNTRIES_TABLE: world.countries,
            OFFERS_TABLE: world.license_offers,
            WORLD_TABLE: world.world_table(),
        }

    ensure_tables(schemas, sample, partition_by={VIEWING_TABLE: ["date"]})
    return read_world_spec()


def read_world_spec() -> WorldSpec | None:
    """The spec of the seeded sample world, or None when there is none."""
    table = Table(WORLD_TABLE)
    if not table.exists() or table.current_snapshot_id is None:
        return None
    specs = DataFrame.load(table).to_arrow().column("spec").to_pylist()
    return WorldSpec.from_json(specs[0]) if specs else None


def write_viewing_day(rows: pa.Table, day: dt.date) -> int | None:
    """Replace one day's partition of the viewing table (the ETL's write), one snapshot."""
    table = Table(VIEWING_TABLE)
    writer = table.writer()
    writer.write(rows)
    return table.commit(
        [writer.manifest()], mode="overwrite", overwrite_filter=date_filter("date", [day])
    )


def viewing_dates(snapshot_id: int | None = None) -> list[dt.date]:
    """The days the viewing table holds (from its partitions; no data is read)."""
    plan = Table(VIEWING_TABLE).plan(columns=["date"], snapshot_id=snapshot_id)
    epoch = dt.date(1970, 1, 1)
    days = {file.partition["date"] for file in plan.files if file.record_count}
    return sorted(d if isinstance(d, dt.date) else epoch + dt.timedelta(days=d) for d in days)


def load_viewing(
    dates: Sequence[dt.date],
    *,
    countries: Sequence[str] | None = None,
    snapshot_id: int | None = None,
) -> pa.Table:
    """Viewing rows of some days (and countries) at one snapshot of the viewing table."""
    row_filter = date_filter("date", dates)
    if countries is not None:
        listed = ", ".join(f"'{c}'" for c in countries)
        row_filter = f"{row_filter} and country in ({listed})"
    return DataFrame.load(VIEWING_TABLE, filter=row_filter, snapshot_id=snapshot_id).to_arrow()


def load_titles() -> pa.Table:
    """``etl.titles``."""
    return DataFrame.load(TITLES_TABLE).to_arrow()


def load_countries() -> pa.Table:
    """``etl.countries``."""
    return DataFrame.load(COUNTRIES_TABLE).to_arrow()


def load_offers() -> pa.Table:
    """``etl.license_offers``."""
    return DataFrame.load(OFFERS_TABLE).to_arrow()


# -- aggregates and the ledger ----------------------------------------------------------------


@dataclass(frozen=True)
class AggregationPlan:
    """What one ViewingAggregatesFlow run does.

    Attributes:
        requested: The day the event named.
        dates: Days to (re)process: the requested one if new or changed (or forced), and
            earlier days the branch never processed (a backlog, e.g. on its first run).
        unchanged: Days left alone: processed before with the same content fingerprint.
        fingerprints: Content fingerprint of each day looked at.
        rows: Viewing rows of each day looked at.
        source_snapshot_id: The viewing table's snapshot everything refers to.
        as_of: The latest day processed on the branch once this run is done.
    """

    requested: dt.date
    dates: list[dt.date]
    unchanged: list[dt.date]
    fingerprints: dict[str, str] = field(repr=False)
    rows: dict[str, int] = field(repr=False)
    source_snapshot_id: int
    as_of: dt.date

    @property
    def changed(self) -> bool:
        """Whether anything is processed (False: the whole chain skips)."""
        return bool(self.dates)

    def to_artifact(self) -> dict[str, Any]:
        """Plain values (a Metaflow artifact that unpickles without this module)."""
        return {
            "requested": self.requested.isoformat(),
            "dates": [d.isoformat() for d in self.dates],
            "unchanged": [d.isoformat() for d in self.unchanged],
            "fingerprints": dict(self.fingerprints),
            "rows": dict(self.rows),
            "source_snapshot_id": self.source_snapshot_id,
            "as_of": self.as_of.isoformat(),
        }

    @classmethod
    def from_artifact(cls, values: Mapping[str, Any]) -> AggregationPlan:
        """The plan from `to_artifact` values."""
        day = dt.date.fromisoformat
        return cls(
            requested=day(values["requested"]),
            dates=[day(d) for d in values["dates"]],
            unchanged=[day(d) for d in values["unchanged"]],
            fingerprints=dict(values["fingerprints"]),
            rows=dict(values["rows"]),
            source_snapshot_id=values["source_snapshot_id"],
            as_of=day(values["as_of"]),
        )


def processed_fingerprints(outputs: Outputs) -> dict[dt.date, str]:
    """The latest fingerprint recorded for each day the branch processed."""
    table = Table(outputs.ledger)
    if not table.exists() or table.current_snapshot_id is None:
        return {}
    ledger = DataFrame.load(table, columns=["date", "fingerprint", "processed_at"]).to_polars()
    latest = ledger.sort("processed_at").group_by("date").agg(pl.col("fingerprint").last())
    return dict(zip(latest["date"].to_list(), latest["fingerprint"].to_list(), strict=True))


def plan_aggregation(outputs: Outputs, requested: dt.date, *, force: bool = False):
    """Decide which days to process for an event naming ``requested``.

    Raises:
        NoDataForDateError: The viewing table holds no rows for ``requested``.
    """
    viewing = Table(VIEWING_TABLE)
    snapshot_id = viewing.current_snapshot_id
    present = viewing_dates(snapshot_id) if snapshot_id is not None else []
    if requested not in present:
        holds = f"{len(present)} days from {present[0]} to {present[-1]}" if present else "no days"
        raise NoDataForDateError(
            f"{VIEWING_TABLE} has no rows for {requested} (it holds {holds}, snapshot "
            f"{snapshot_id}): the event names a day its producer has not written. Publish "
            f"{ETL_EVENT} again once the day is in the table"
        )
    done = processed_fingerprints(outputs)
    candidates = sorted({requested} | {d for d in present if d < requested and d not in done})
    viewing_rows = pl.from_arrow(load_viewing(candidates, snapshot_id=snapshot_id))
    fingerprints, rows = {}, {}
    for (day,), part in viewing_rows.partition_by("date", as_dict=True).items():
        fingerprints[day] = fingerprint_rows(part.to_arrow())
        rows[day] = part.height
    dates = [
        d for d in candidates if (force and d == requested) or fingerprints.get(d) != done.get(d)
    ]
    unchanged = [d for d in candidates if d not in dates]
    for day in unchanged:
        logger.info("%s: content fingerprint unchanged since it was processed; skipped", day)
    return AggregationPlan(
        requested=requested,
        dates=dates,
        unchanged=unchanged,
        fingerprints={d.isoformat(): fingerprints[d] for d in candidates},
        rows={d.isoformat(): rows[d] for d in candidates},
        source_snapshot_id=snapshot_id,
        as_of=max([*done, *dates]),
    )


def stage_aggregates(outputs: Outputs, aggregates: pa.Table) -> WriteManifest:
    """Stage aggregates (commit them with `commit_aggregates`)."""
    writer = Table(outputs.aggregates).writer()
    if aggregates.num_rows:
        writer.write(aggregates)
    return writer.manifest()


def commit_aggregates(
    outputs: Outputs, manifests: Sequence[WriteManifest], dates: Sequence[dt.date]
) -> int | None:
    """Replace the aggregates of ``dates`` with the staged ones, in one snapshot."""
    return Table(outputs.aggregates).commit(
        list(manifests), mode="overwrite", overwrite_filter=date_filter("date", dates)
    )


def record_processed(outputs: Outputs, plan: AggregationPlan, run: str) -> int | None:
    """Append one ledger row per processed day (after its aggregates are committed).

    A crash between the two commits leaves the day unrecorded, so the next event processes
    it again and replaces its aggregates: nothing is lost or doubled.
    """
    if not plan.dates:
        return None
    now = dt.datetime.now(dt.UTC)
    rows = pa.table(
        {
            "date": plan.dates,
            "fingerprint": [plan.fingerprints[d.isoformat()] for d in plan.dates],
            "rows": [plan.rows[d.isoformat()] for d in plan.dates],
            "source_snapshot_id": [plan.source_snapshot_id] * len(plan.dates),
            "run": [run] * len(plan.dates),
            "processed_at": [now] * len(plan.dates),
        },
        schema=LEDGER_SCHEMA,
    )
    return Table(outputs.ledger).write(rows, mode="append")


def latest_processed_date(outputs: Outputs) -> dt.date | None:
    """The latest day the branch processed (a manual downstream run's default as-of)."""
    done = processed_fingerprints(outputs)
    return max(done) if done else None


# -- forecasts, values, slates ------------------------------------------------------------------


def load_demand_panel(outputs: Outputs, as_of: dt.date, history_days: int) -> DemandPanel:
    """Daily hours of every title x region over the ``history_days`` up to ``as_of``.

    Days before the branch's first aggregated day are simply not there (a shorter history);
    a missing day in between is an error, since it would read as zero demand.

    Raises:
        InputDataError: No aggregates up to ``as_of``, or days missing in between.
    """
    first = as_of - dt.timedelta(days=history_days - 1)
    frame = DataFrame.load(
        outputs.aggregates,
        columns=["date", "region", "title_id", "hours"],
        filter=f"date >= '{first.isoformat()}' and date <= '{as_of.isoformat()}'",
    ).to_polars()
    if frame.is_empty():
        raise InputDataError(
            f"{outputs.aggregates} holds no aggregates from {first} to {as_of}; run "
            "ViewingAggregatesFlow for those days first"
        )
    days = sorted(set(frame["date"].to_list()))
    expected = [days[0] + dt.timedelta(days=i) for i in range((as_of - days[0]).days + 1)]
    missing = sorted(set(expected) - set(days))
    if missing:
        shown = ", ".join(d.isoformat() for d in missing[:5])
        raise InputDataError(
            f"{outputs.aggregates} misses {len(missing)} day(s) between {days[0]} and {as_of} "
            f"({shown}{', ...' if len(missing) > 5 else ''}); publish {ETL_EVENT} for them so "
            "the history has no holes"
        )
    titles = pl.from_arrow(load_titles().select(["title_id", "kind", "release_date"]))
    keys = frame.select("region", "title_id").unique().sort("region", "title_id")
    keys = keys.join(titles, on="title_id", how="left")
    unknown = keys.filter(pl.col("kind").is_null())
    if unknown.height:
        raise InputDataError(
            f"{unknown.height} title(s) with viewing are not in {TITLES_TABLE}, e.g. "
            f"{unknown['title_id'][0]}"
        )
    index = keys.select("region", "title_id").with_row_index("series")
    located = frame.join(index, on=["region", "title_id"])
    hours = np.zeros((keys.height, len(expected)))
    day_index = (located["date"].to_numpy() - np.datetime64(expected[0], "D")).astype(np.int64)
    hours[located["series"].to_numpy(), day_index] = located["hours"].to_numpy()
    return DemandPanel(
        regions=keys["region"].to_numpy().astype(object),
        title_ids=keys["title_id"].to_numpy().astype(object),
        kinds=keys["kind"].to_numpy().astype(object),
        release_dates=keys["release_date"].to_numpy().astype("datetime64[D]"),
        dates=expected,
        hours=hours,
    )


def replace_partition(name: str, column: str, day: dt.date, rows: pa.Table) -> int | None:
    """Replace the ``column = day`` partition of output ``name`` with ``rows``, one snapshot."""
    table = Table(name)
    writer = table.writer()
    if rows.num_rows:
        writer.write(rows)
    return table.commit(
        [writer.manifest()], mode="overwrite", overwrite_filter=date_filter(column, [day])
    )


def load_partition(name: str, column: str, day: dt.date) -> pa.Table:
    """The rows of output ``name`` whose ``column`` is ``day``.

    Raises:
        InputDataError: There are none (the upstream flow has not run for that day).
    """
    table = Table(name)
    rows = (
        DataFrame.load(table, filter=date_filter(column, [day])).to_arrow()
        if table.exists()
        else None
    )
    if rows is None or rows.num_rows == 0:
        raise InputDataError(
            f"{name} holds nothing for {column} {day}: the flow that writes it has not run "
            "for that day on this branch"
        )
    return rows


def published_slate_as_of(outputs: Outputs) -> dt.date | None:
    """The as-of date of the slates now published in the branch's cache namespace."""
    summary = Cache(outputs.cache_namespace).get("summary")
    return dt.date.fromisoformat(summary["as_of"]) if summary else None


def publish_slates(
    outputs: Outputs, as_of: dt.date, slates: Mapping[str, Mapping[str, Any]], run: str
) -> str | None:
    """Publish every region's slate to the cache as one generation (readers switch at once).

    A re-run for an older day than the one published does not publish (the table still
    gets it): readers keep the newest slate.

    Returns:
        The published generation, or None when a newer day is already published.
    """
    cache = Cache(outputs.cache_namespace)
    current = published_slate_as_of(outputs)
    if current is not None and current > as_of:
        logger.info(
            "cache %s holds slates as of %s, newer than %s: not published",
            outputs.cache_namespace,
            current,
            as_of,
        )
        return None
    generation = cache.new_generation(run_id=run)
    with cache.writer(generation) as writer:
        for region, slate in slates.items():
            writer.put(f"slate:{region}", dict(slate))
        writer.put(
            "summary",
            {"as_of": as_of.isoformat(), "regions": sorted(slates), "run": run},
        )
    cache.publish(generation)
    logger.info("published slates of %s as of %s to cache %s", sorted(slates), as_of, cache)
    return generation
