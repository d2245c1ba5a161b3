"""Reading and writing the pipeline's tables through `mlplatform.data`.

Kept apart from the matching logic so that the logic stays testable without a catalog.
Every write is staged first and committed as one snapshot, so a failed task leaves nothing
half-written. When the input table is missing and the config names a ``sample`` (titles from
`_sample.py`, people from `_person_sample.py`), the local profile seeds it
(`mlplatform.data.ensure_tables`); production requires it, and so does a config without a
sample in any profile: the user's own table must be written first.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from knowledge_graph._config import MatchConfig, check_columns, load_match_config
from knowledge_graph._errors import InputDataError, MatchConfigError
from knowledge_graph._person_sample import generate_person_records
from knowledge_graph._records import order_records
from knowledge_graph._sample import SampleData, generate_title_records
from knowledge_graph._schemas import (
    PAIRS_SCHEMA,
    PERSON_RECORD_SCHEMA,
    PERSON_TRUTH_SCHEMA,
    TITLE_RECORD_SCHEMA,
    TITLE_TRUTH_SCHEMA,
    entities_schema,
    matches_schema,
)
from mlplatform.config import load_settings
from mlplatform.data import DataFrame, Shard, Table, WriteManifest, ensure_tables

__all__ = [
    "SAMPLES",
    "SampleKind",
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


@dataclass(frozen=True)
class SampleKind:
    """A sample generator and the schemas of the tables it seeds.

    Attributes:
        generate: ``generate(n_records=, n_sources=, seed=)`` -> `SampleData`.
        records_schema: Schema of the records it generates.
        truth_schema: Schema of their ground truth.
    """

    generate: Callable[..., SampleData]
    records_schema: pa.Schema
    truth_schema: pa.Schema


SAMPLES = {
    "titles": SampleKind(generate_title_records, TITLE_RECORD_SCHEMA, TITLE_TRUTH_SCHEMA),
    "people": SampleKind(generate_person_records, PERSON_RECORD_SCHEMA, PERSON_TRUTH_SCHEMA),
}
"""The config's ``sample.generator`` names one of these."""


def _missing_input(config: MatchConfig) -> InputDataError:
    return InputDataError(
        f"input table {config.input_table} does not exist; write it first or run with the "
        "sample config (its 'sample' key seeds a missing input in the local profile, e.g. "
        "pipelines/knowledge_graph/person_match_config.json)"
    )


def flow_config(text: str) -> dict[str, Any]:
    """Metaflow ``Config`` parser: validate the matching configuration before any task runs.

    Checks the structure, then the columns against the input table's schema; when the table
    is still missing, against the schema of the sample that will seed it (local profile).

    Raises:
        MatchConfigError: Invalid configuration or a column the input table lacks.
        InputDataError: The input table is missing in the local profile and the config names
            no sample to seed it with.
    """
    config = load_match_config(text)
    try:
        settings = load_settings()
        table = Table(config.input_table)
        if table.exists():
            check_columns(config, table.schema, config.input_table)
        elif settings.profile == "local":
            if config.sample is None:
                raise _missing_input(config)
            schema = SAMPLES[config.sample.generator].records_schema
            where = f"{config.input_table} (seeded by the {config.sample.generator!r} sample)"
            check_columns(config, schema, where)
    except (MatchConfigError, InputDataError):
        raise
    except Exception as error:  # the catalog may be unreachable here; `start` checks again
        logger.warning("could not check the config's columns before the run: %s", error)
    return config.model_dump(mode="json")


def ensure_input_table(
    config: MatchConfig,
    *,
    n_records: int | None = None,
    n_sources: int | None = None,
    seed: int = 0,
) -> int | None:
    """Resolve the input table, seeding it and the truth table from the config's sample.

    When the input table is missing in the local profile and the config names a ``sample``,
    `mlplatform.data.ensure_tables` creates it (and the truth table, if the config names one)
    from generated data; when it exists, nothing is seeded.

    Args:
        config: The matching configuration (input and truth table names, sample, columns).
        n_records: Records to generate when seeding (None or 0: ``sample.records``).
        n_sources: Sources to generate them from (None or 0: ``sample.sources``).
        seed: Random seed of the generator.

    Returns:
        The input's current snapshot id (None for a table that holds no data yet).

    Raises:
        InputDataError: The input table is missing and the config names no sample.
        TableNotFoundError: The input table is missing outside the local profile.
        MatchConfigError: The configuration names a column the table lacks.
    """
    if config.sample is None:
        table = Table(config.input_table)
        if not table.exists():
            raise _missing_input(config)
        check_columns(config, table.schema, config.input_table)
        return table.current_snapshot_id
    kind = SAMPLES[config.sample.generator]
    schemas = {config.input_table: kind.records_schema}
    if config.truth_table:
        schemas[config.truth_table] = kind.truth_schema
    records = n_records or config.sample.records
    sources = n_sources or config.sample.sources

    def sample() -> dict[str, pa.Table]:
        logger.info(
            "%s: seeding it with %d generated records from %d sources (%s sample, seed %d)",
            config.input_table,
            records,
            sources,
            config.sample.generator,
            seed,
        )
        data = kind.generate(n_records=records, n_sources=sources, seed=seed)
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
