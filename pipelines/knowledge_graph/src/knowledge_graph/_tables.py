"""Reading and writing the pipeline's tables through `mlplatform.data`.

Kept apart from the matching logic so that the logic stays testable without a catalog.
Every write is staged first and committed as one snapshot, so a failed task leaves nothing
half-written. The input is seeded from `_sample.py` in the local profile when it is missing
(`mlplatform.data.ensure_tables`), and required in production.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from knowledge_graph._config import MatchConfig, check_columns, load_match_config
from knowledge_graph._errors import InputDataError, MatchConfigError
from knowledge_graph._records import order_records
from knowledge_graph._sample import generate_title_records
from knowledge_graph._schemas import (
    PAIRS_SCHEMA,
    RECORD_SCHEMA,
    TRUTH_SCHEMA,
    entities_schema,
    matches_schema,
)
from mlplatform.config import load_settings
from mlplatform.data import DataFrame, Shard, Table, WriteManifest, ensure_tables

__all__ = [
    "commit_matches",
    "create_output_tables",
    "ensure_input_table",
    "flow_config",
    "load_matches",
    "load_pair_shard",
    "load_records",
    "load_truth",
    "stage_matches",
    "write_entities",
    "write_pairs",
]

logger = logging.getLogger(__name__)


def flow_config(text: str) -> dict[str, Any]:
    """Metaflow ``Config`` parser: validate the matching configuration before any task runs.

    Checks the structure, then the columns against the input table's schema (or, in the
    local profile when the table is still missing, against the sample data it will be seeded
    with).

    Raises:
        MatchConfigError: Invalid configuration or a column the input table lacks.
    """
    config = load_match_config(text)
    try:
        settings = load_settings()
        table = Table(config.input_table)
        if table.exists():
            check_columns(config, table.schema, config.input_table)
        elif settings.profile == "local":
            check_columns(config, RECORD_SCHEMA, f"{config.input_table} (sample data)")
    except MatchConfigError:
        raise
    except Exception as error:  # the catalog may be unreachable here; `start` checks again
        logger.warning("could not check the config's columns before the run: %s", error)
    return config.model_dump(mode="json")


def ensure_input_table(
    config: MatchConfig, *, n_records: int, n_sources: int, seed: int
) -> int | None:
    """Resolve the input table, seeding it and the truth table in the local profile.

    When the input table is missing in the local profile, `mlplatform.data.ensure_tables`
    creates it (and the truth table, if the config names one) from generated sample data;
    when it exists, nothing is seeded.

    Args:
        config: The matching configuration (input and truth table names, columns).
        n_records: Records to generate when seeding.
        n_sources: Sources to generate them from.
        seed: Random seed of the generator.

    Returns:
        The input's current snapshot id (None for a table that holds no data yet).

    Raises:
        TableNotFoundError: The input table is missing outside the local profile.
        MatchConfigError: The configuration names a column the table lacks.
    """
    schemas = {config.input_table: RECORD_SCHEMA}
    if config.truth_table:
        schemas[config.truth_table] = TRUTH_SCHEMA

    def sample() -> dict[str, pa.Table]:
        logger.info(
            "%s: seeding it with %d generated records from %d sources (seed %d)",
            config.input_table,
            n_records,
            n_sources,
            seed,
        )
        data = generate_title_records(n_records=n_records, n_sources=n_sources, seed=seed)
        tables = {config.input_table: data.records}
        if config.truth_table:
            tables[config.truth_table] = data.truth
        return tables

    table = ensure_tables(schemas, sample)[config.input_table]
    check_columns(config, table.schema, config.input_table)
    return table.current_snapshot_id


def load_records(config: MatchConfig, snapshot_id: int | None) -> pa.Table:
    """The configured columns of one snapshot of the input table, in `order_records` order."""
    table = Table(config.input_table)
    columns = list(config.columns())
    if snapshot_id is None:
        schema = table.schema
        return pa.schema([schema.field(c) for c in columns]).empty_table()
    records = DataFrame.load(table, columns=columns, snapshot_id=snapshot_id).to_arrow()
    return order_records(records, config)


def _create(name: str, schema: pa.Schema) -> Table:
    return Table(name).create(schema, exist_ok=True)


def create_output_tables(config: MatchConfig, records_schema: pa.Schema) -> None:
    """Create the pairs, matches and entities tables if missing (before tasks stage files)."""
    _create(config.pairs_table, PAIRS_SCHEMA)
    _create(config.matches_table, matches_schema(config, records_schema))
    _create(config.entities_table, entities_schema(config, records_schema))


def write_pairs(
    config: MatchConfig,
    left: np.ndarray,
    right: np.ndarray,
    records_snapshot_id: int | None,
    match_tasks: int = 0,
) -> tuple[int | None, list[Shard | None]]:
    """Replace the candidate pairs table with these pairs and split it into shards.

    Args:
        config: Names the table and sizes files (``pairs_per_file``) and shards.
        left: Left record indices.
        right: Right record indices.
        records_snapshot_id: The records snapshot the indices refer to.
        match_tasks: Number of shards wanted (0: by ``shard_target_bytes``).

    Returns:
        ``(snapshot id, shards)``; shards is ``[None]`` when there are no pairs, so a
        ``foreach`` still has one (empty) task.
    """
    table = _create(config.pairs_table, PAIRS_SCHEMA)
    writer = table.writer()
    files = max(1, match_tasks, math.ceil(len(left) / config.pairs_per_file))
    step = max(1, math.ceil(len(left) / files))
    for start in range(0, len(left), step):
        writer.write(
            pa.table(
                {
                    "left": pa.array(left[start : start + step], pa.int64()),
                    "right": pa.array(right[start : start + step], pa.int64()),
                    "records_snapshot_id": pa.array(
                        np.full(min(step, len(left) - start), records_snapshot_id or -1),
                        pa.int64(),
                    ),
                },
                schema=PAIRS_SCHEMA,
            )
        )
    snapshot_id = table.commit([writer.manifest()], mode="overwrite")
    if match_tasks:
        shards = table.shards(n=match_tasks, snapshot_id=snapshot_id)
    else:
        shards = table.shards(target_bytes=config.shard_target_bytes, snapshot_id=snapshot_id)
    return snapshot_id, (shards or [None])


def load_pair_shard(
    shard: Shard | None, records_snapshot_id: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Left and right record indices of one shard (empty for the ``None`` shard)."""
    if shard is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = DataFrame.load(shard).to_arrow()
    snapshots = set(pairs.column("records_snapshot_id").unique().to_pylist())
    if snapshots - {records_snapshot_id or -1}:
        raise InputDataError(
            f"the pairs shard was made from records snapshot(s) {sorted(snapshots)}, not "
            f"{records_snapshot_id}: another run replaced the pairs table; re-run the flow"
        )
    return (
        pairs.column("left").to_numpy().astype(np.int64),
        pairs.column("right").to_numpy().astype(np.int64),
    )


def stage_matches(config: MatchConfig, matches: pa.Table) -> WriteManifest:
    """Stage one task's matches; returns the writer's manifest (commit it in the join)."""
    writer = Table(config.matches_table).writer()
    if matches.num_rows:
        writer.write(matches)
    return writer.manifest()


def commit_matches(config: MatchConfig, manifests: Sequence[WriteManifest]) -> int | None:
    """Replace the matches table with all staged matches in one snapshot."""
    return Table(config.matches_table).commit(list(manifests), mode="overwrite")


def load_matches(config: MatchConfig, snapshot_id: int | None) -> pa.Table:
    """One snapshot of the matches table."""
    table = Table(config.matches_table)
    if snapshot_id is None:
        return table.schema.empty_table()
    return DataFrame.load(table, snapshot_id=snapshot_id).to_arrow()


def write_entities(config: MatchConfig, entities: pa.Table) -> int | None:
    """Replace the entities table in one snapshot."""
    table = _create(config.entities_table, entities.schema)
    return table.write(entities, mode="overwrite")


def load_truth(config: MatchConfig) -> pa.Table | None:
    """The truth table, or None when the config names none or it does not exist."""
    if not config.truth_table:
        return None
    table = Table(config.truth_table)
    if not table.exists():
        logger.info("no truth table %s: quality metrics are skipped", config.truth_table)
        return None
    return DataFrame.load(table).to_arrow()
