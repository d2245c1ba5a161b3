"""Reading and writing the pipeline's tables through `mlplatform.data`.

The inputs (the viewing sessions, partitioned by ``view_date``, and the title catalogue) are
seeded from `_sample.py` in the local profile when missing (`mlplatform.data.ensure_tables`)
and required in production. The daily aggregate is staged by every aggregate task and
committed once, as one snapshot, by the join.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence

import pyarrow as pa

from mlplatform.data import DataFile, DataFrame, Shard, Table, WriteManifest, ensure_tables
from perf_viz._config import PerfVizConfig
from perf_viz._sample import generate_sample
from perf_viz._schemas import DAILY_SCHEMA, TITLES_SCHEMA, VIEWING_SCHEMA

__all__ = [
    "commit_daily",
    "create_daily_table",
    "ensure_input_tables",
    "load_daily",
    "load_sessions",
    "load_titles",
    "partition_shards",
    "stage_daily",
]

logger = logging.getLogger(__name__)

PARTITION_COLUMN = "view_date"


def _date_filter(as_of: dt.date) -> str:
    return f"{PARTITION_COLUMN} <= '{as_of.isoformat()}'"


def ensure_input_tables(
    config: PerfVizConfig,
    *,
    as_of: dt.date,
    n_titles: int,
    n_days: int,
    sessions: float,
    seed: int,
) -> dict[str, int | None]:
    """Resolve the input tables, seeding both in the local profile when the viewing is missing.

    The sample covers ``n_days`` of viewing ending on ``as_of``; when the tables exist,
    nothing is seeded.

    Returns:
        Table name -> its current snapshot id (None for a table without data).

    Raises:
        TableNotFoundError: The viewing table is missing outside the local profile.
    """
    schemas = {config.viewing_table: VIEWING_SCHEMA, config.titles_table: TITLES_SCHEMA}

    def sample() -> dict[str, pa.Table]:
        logger.info(
            "%s: seeding it with %d titles and %d days of viewing up to %s (seed %d)",
            config.viewing_table,
            n_titles,
            n_days,
            as_of,
            seed,
        )
        data = generate_sample(
            as_of=as_of,
            countries=config.countries,
            n_titles=n_titles,
            n_days=n_days,
            sessions=sessions,
            seed=seed,
        )
        return {config.viewing_table: data.viewing, config.titles_table: data.titles}

    tables = ensure_tables(schemas, sample, partition_by={config.viewing_table: [PARTITION_COLUMN]})
    return {name: table.current_snapshot_id for name, table in tables.items()}


def partition_shards(
    config: PerfVizConfig, as_of: dt.date, snapshot_id: int | None, n: int | None = None
) -> list[Shard]:
    """Split the viewing up to ``as_of`` into at most ``n`` shards of whole days.

    Every day's files go to one shard, so each title x country x day is aggregated by one
    task; days are spread so that the shards' bytes are balanced (largest first, to the
    lightest shard), deterministically. A table not partitioned by ``view_date`` is split by
    file instead (its days may then span tasks; the rollups add such cells up).

    Args:
        config: Table names and ``aggregate_tasks`` (the default ``n``).
        as_of: The last day to aggregate.
        snapshot_id: The viewing table's snapshot to read.
        n: Number of shards; default ``config.aggregate_tasks``.

    Returns:
        The shards (fewer than ``n`` when there are fewer days); empty without viewing.
    """
    n = n or config.aggregate_tasks
    table = Table(config.viewing_table)
    plan = table.plan(filter=_date_filter(as_of), snapshot_id=snapshot_id)
    groups: dict[object, list[DataFile]] = defaultdict(list)
    by_day = any(column == PARTITION_COLUMN for column, _ in table.partition_spec)
    if not by_day:
        logger.warning(
            "%s is not partitioned by %s: splitting it by file",
            config.viewing_table,
            PARTITION_COLUMN,
        )
    for data_file in plan.files:
        key = data_file.partition.get(PARTITION_COLUMN) if by_day else data_file.path
        groups[key].append(data_file)
    ordered = sorted(
        groups.values(), key=lambda files: (-sum(f.size_bytes for f in files), files[0].path)
    )
    bins: list[list[DataFile]] = [[] for _ in range(min(n, len(ordered)))]
    sizes = [0] * len(bins)
    for files in ordered:
        lightest = sizes.index(min(sizes))
        bins[lightest].extend(files)
        sizes[lightest] += sum(f.size_bytes for f in files)
    return [
        Shard(
            files=tuple(sorted(files, key=lambda f: f.path)),
            index=index,
            count=len(bins),
            table=config.viewing_table,
            snapshot_id=plan.snapshot_id,
        )
        for index, files in enumerate(bins)
    ]


def load_sessions(shard: Shard, as_of: dt.date) -> pa.Table:
    """The viewing sessions of one shard, up to ``as_of``."""
    return DataFrame.load(shard, filter=_date_filter(as_of)).to_arrow()


def create_daily_table(config: PerfVizConfig) -> Table:
    """Create the daily aggregate table if it does not exist yet."""
    return Table(config.daily_table).create(DAILY_SCHEMA, exist_ok=True)


def stage_daily(config: PerfVizConfig, daily: pa.Table) -> WriteManifest:
    """Stage one task's daily aggregates; the join commits every task's files at once."""
    writer = Table(config.daily_table).writer()
    writer.write(daily)
    return writer.manifest()


def commit_daily(config: PerfVizConfig, manifests: Sequence[WriteManifest]) -> int | None:
    """Replace the daily aggregate table with every task's staged files: one snapshot."""
    return Table(config.daily_table).commit(list(manifests), mode="overwrite")


def load_daily(
    config: PerfVizConfig, snapshot_id: int | None, title_ids: Sequence[str] | None = None
) -> pa.Table:
    """Daily aggregates of a snapshot, of some titles only if ``title_ids`` is given."""
    row_filter = None
    if title_ids is not None:
        if not title_ids:
            return DAILY_SCHEMA.empty_table()
        quoted = ", ".join("'" + title_id.replace("'", "''") + "'" for title_id in title_ids)
        row_filter = f"title_id in ({quoted})"
    return DataFrame.load(config.daily_table, filter=row_filter, snapshot_id=snapshot_id).to_arrow()


def load_titles(config: PerfVizConfig, snapshot_id: int | None) -> pa.Table:
    """The title catalogue at a snapshot."""
    return DataFrame.load(config.titles_table, snapshot_id=snapshot_id).to_arrow()
