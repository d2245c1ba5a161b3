"""The flow's steps as plain functions: ``flow.py`` wires them into Metaflow, `run_locally`
calls them in one process (for tests, benchmarks and notebooks).

start -> aggregate (one per partition shard) -> join -> write (one per title bucket) -> publish
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from perf_viz._aggregate import aggregate_sessions
from perf_viz._config import PerfVizConfig
from perf_viz._errors import InputDataError
from perf_viz._keys import CATALOGUE_KEY, META_KEY
from perf_viz._publish import new_generation, publish_generation, write_values
from perf_viz._rollups import (
    MEASURES,
    DateAxis,
    build_catalogue,
    build_cube,
    genre_totals,
    genre_values,
    meta_value,
    title_buckets,
    title_values,
)

__all__ = [
    "BucketTotals",
    "DailyResult",
    "PartitionResult",
    "RunPlan",
    "aggregate_partition",
    "commit_partitions",
    "plan_run",
    "publish_run",
    "run_locally",
    "write_title_bucket",
]

if TYPE_CHECKING:
    from mlplatform.data import Shard, WriteManifest

logger = logging.getLogger(__name__)


def _tables() -> Any:
    # Imported by the steps that read or write tables: the data layer takes seconds to
    # import, and the publish and end steps only talk to the cache.
    from perf_viz import _tables

    return _tables


@dataclass(frozen=True)
class RunPlan:
    """What ``start`` decides: the input snapshots and the partition shards to aggregate."""

    as_of: dt.date
    viewing_snapshot_id: int | None
    titles_snapshot_id: int | None
    shards: list[Shard]


@dataclass(frozen=True)
class PartitionResult:
    """What one ``aggregate`` task produced: its staged rows and the days it saw."""

    manifest: WriteManifest
    sessions: int
    cells: int
    first_day: dt.date | None
    last_day: dt.date | None


@dataclass(frozen=True)
class DailyResult:
    """What the join decided: the daily table's snapshot, the dates, the titles, the buckets
    of titles to write, and the open cache generation they are written into."""

    daily_snapshot_id: int | None
    axis: DateAxis
    sessions: int
    catalogue: list[dict[str, Any]]
    genres: list[str]
    buckets: list[list[str]]
    generation: str


def plan_run(
    config: PerfVizConfig,
    as_of: dt.date,
    *,
    n_titles: int,
    n_days: int,
    sessions: float,
    seed: int,
) -> RunPlan:
    """``start``: resolve (or seed) the inputs, pin their snapshots, split the viewing.

    Raises:
        InputDataError: There is no viewing on or before ``as_of``.
    """
    tables = _tables()
    snapshots = tables.ensure_input_tables(
        config, as_of=as_of, n_titles=n_titles, n_days=n_days, sessions=sessions, seed=seed
    )
    viewing_snapshot = snapshots[config.viewing_table]
    shards = tables.partition_shards(config, as_of, viewing_snapshot) if viewing_snapshot else []
    if not shards:
        raise InputDataError(
            f"{config.viewing_table} has no viewing on or before {as_of}: nothing to aggregate "
            "(check --date, or that the viewing ETL has run)"
        )
    tables.create_daily_table(config)
    logger.info(
        "as of %s: %d partition shards of %s (snapshot %s)",
        as_of,
        len(shards),
        config.viewing_table,
        viewing_snapshot,
    )
    return RunPlan(as_of, viewing_snapshot, snapshots[config.titles_table], shards)


def aggregate_partition(config: PerfVizConfig, shard: Shard, as_of: dt.date) -> PartitionResult:
    """``aggregate``: sessions of one shard -> daily rows, staged for the join's commit."""
    sessions = _tables().load_sessions(shard, as_of)
    daily = aggregate_sessions(sessions, completion_threshold=config.completion_threshold)
    days = daily["view_date"].to_pylist()
    first, last = (min(days), max(days)) if days else (None, None)
    logger.info(
        "shard %d/%d: %d sessions -> %d title x country x day rows",
        shard.index + 1,
        shard.count,
        sessions.num_rows,
        daily.num_rows,
    )
    manifest = _tables().stage_daily(config, daily)
    return PartitionResult(manifest, sessions.num_rows, daily.num_rows, first, last)


def commit_partitions(
    config: PerfVizConfig, plan: RunPlan, results: Sequence[PartitionResult]
) -> DailyResult:
    """``join``: one commit of every task's rows, the catalogue, and a new cache generation."""
    tables = _tables()
    daily_snapshot = tables.commit_daily(config, [result.manifest for result in results])
    firsts = [r.first_day for r in results if r.first_day is not None]
    lasts = [r.last_day for r in results if r.last_day is not None]
    if not firsts:
        raise InputDataError(f"{config.viewing_table} has no sessions up to {plan.as_of}")
    axis = DateAxis(min(firsts), max(lasts))
    titles = tables.load_titles(config, plan.titles_snapshot_id)
    catalogue = build_catalogue(titles, axis, config)
    genres = sorted({row["genre"] for row in catalogue})
    buckets = title_buckets([row["title_id"] for row in catalogue], config.publish_tasks)
    generation = new_generation(config)
    logger.info(
        "daily table %s at snapshot %s: %s..%s, %d titles in %d buckets, generation %s",
        config.daily_table,
        daily_snapshot,
        axis.first,
        axis.last,
        len(catalogue),
        len(buckets),
        generation,
    )
    return DailyResult(
        daily_snapshot,
        axis,
        sum(r.sessions for r in results),
        catalogue,
        genres,
        buckets,
        generation,
    )


@dataclass(frozen=True)
class BucketTotals:
    """What one ``write`` task hands to ``publish``: partial sums of its titles.

    Attributes:
        genre_totals: `genre_totals` of the bucket's titles.
        title_views: Each title's views over every day and country.
    """

    genre_totals: np.ndarray
    title_views: dict[str, int]


def write_title_bucket(
    config: PerfVizConfig, daily: DailyResult, bucket: list[str]
) -> BucketTotals:
    """``write``: the values of a bucket of titles into the open generation."""
    rows = _tables().load_daily(config, daily.daily_snapshot_id, title_ids=bucket)
    cube = build_cube(rows, bucket, config, daily.axis)
    written = write_values(config, daily.generation, title_values(cube, daily.catalogue, config))
    logger.info("wrote %d values of %d titles into %s", written, len(bucket), daily.generation)
    views = cube.counts[..., MEASURES.index("views")].sum(axis=(1, 2))
    return BucketTotals(
        genre_totals(cube, daily.catalogue, daily.genres, config),
        {title_id: int(v) for title_id, v in zip(cube.title_ids, views, strict=True)},
    )


def publish_run(
    config: PerfVizConfig,
    plan: RunPlan,
    daily: DailyResult,
    buckets: Sequence[BucketTotals],
    *,
    run_id: str | None,
) -> dict[str, Any]:
    """``publish``: the genre totals, the catalogue and ``meta``; then publish atomically."""
    totals = np.sum([bucket.genre_totals for bucket in buckets], axis=0)
    values: dict[str, Any] = genre_values(totals, daily.genres, daily.axis, config)
    views = {t: v for bucket in buckets for t, v in bucket.title_views.items()}
    values[CATALOGUE_KEY] = [
        {**row, "views": views.get(row["title_id"], 0)} for row in daily.catalogue
    ]
    values[META_KEY] = meta_value(
        generation=daily.generation,
        as_of=plan.as_of,
        axis=daily.axis,
        catalogue=daily.catalogue,
        genres=daily.genres,
        config=config,
        run_id=run_id,
        daily_snapshot_id=daily.daily_snapshot_id,
    )
    write_values(config, daily.generation, values)
    return publish_generation(config, daily.generation)


def run_locally(
    config: PerfVizConfig,
    as_of: dt.date,
    *,
    n_titles: int = 40,
    n_days: int = 90,
    sessions: float = 6.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Run every step of TitlePerformanceFlow in this process, one task after the other.

    The same functions as the flow, without Metaflow: for tests, benchmarks and notebooks.

    Returns:
        The published generation (see `publish_generation`).
    """
    plan = plan_run(config, as_of, n_titles=n_titles, n_days=n_days, sessions=sessions, seed=seed)
    results = [aggregate_partition(config, shard, as_of) for shard in plan.shards]
    daily = commit_partitions(config, plan, results)
    totals = [write_title_bucket(config, daily, bucket) for bucket in daily.buckets]
    return publish_run(config, plan, daily, totals, run_id="local")
