"""Input tables of a pipeline: seeded with sample data in the local profile, required elsewhere.

A reference pipeline must run on a fresh clone with nothing but the repo, so in the local
profile a missing input table is created and filled from the pipeline's own seeded sample
generator, with a log line saying so. In production a missing input is an error: its
producer has not run, and made-up data must never stand in for it.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from mlplatform.config import Settings, load_settings
from mlplatform.data._errors import DataError, TableNotFoundError
from mlplatform.data._table import Table

__all__ = ["ensure_tables"]

logger = logging.getLogger(__name__)


def ensure_tables(
    schemas: Mapping[str, pa.Schema],
    sample: Callable[[], Mapping[str, Any]],
    *,
    partition_by: Mapping[str, Sequence[str]] | None = None,
    settings: Settings | None = None,
) -> dict[str, Table]:
    """The pipeline's input tables, seeded from ``sample`` in the local profile if missing.

    The first table is the input; the others describe it (e.g. a ground-truth table for the
    sample), so they are seeded only together with it: when the first table is missing,
    ``sample()`` is called once and every missing table is created and written, each in one
    commit. When the first exists, nothing is seeded (a new sample would not match it).
    Processes seeding at the same time take turns (a lock file under the profile's home): one
    seeds, the others return the seeded tables.

    Args:
        schemas: Table name -> Arrow schema, the input first.
        sample: Makes the sample data: table name -> data (anything `Table.write` takes).
            Deterministic (seeded), so every fresh clone sees the same data.
        partition_by: Table name -> partition columns for tables it creates.
        settings: Settings to use (default: `load_settings()`).

    Returns:
        Table name -> `Table` (a table the sample does not cover may still not exist).

    Raises:
        TableNotFoundError: The input table is missing outside the local profile.
        DataError: ``sample()`` did not return data for a table it had to seed.
    """
    if not schemas:
        raise DataError("ensure_tables() needs at least one table name and schema")
    settings = settings or load_settings()
    tables = {name: Table(name, settings=settings) for name in schemas}
    input_name = next(iter(schemas))
    if settings.profile != "local":
        if tables[input_name].exists():
            return tables
        raise TableNotFoundError(
            f"input table {input_name} does not exist in the {settings.profile} profile; its "
            "producer must create it (only the local profile seeds sample data)"
        )
    # Runs started together each find the input missing; the catalog's create and the seeding
    # commit are not safe to race (a namespace row inserted twice, "table already exists"),
    # so they take turns: the first seeds, the others find it seeded.
    with _seeding_turn(settings, input_name):
        if not tables[input_name].exists():
            _seed(tables, schemas, sample, input_name, partition_by)
    return tables


@contextmanager
def _seeding_turn(settings: Settings, input_name: str) -> Iterator[None]:
    """Hold ``<home>/locks/seed-<input>.lock`` (the local profile's state is one folder)."""
    path = settings.home / "locks" / f"seed-{input_name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _seed(
    tables: Mapping[str, Table],
    schemas: Mapping[str, pa.Schema],
    sample: Callable[[], Mapping[str, Any]],
    input_name: str,
    partition_by: Mapping[str, Sequence[str]] | None,
) -> None:
    missing = [name for name, table in tables.items() if not table.exists()]
    logger.info(
        "input table %s is missing: seeding %s with sample data (local profile)",
        input_name,
        ", ".join(missing),
    )
    data = sample()
    lacking = [name for name in missing if name not in data]
    if lacking:
        raise DataError(
            f"the sample for {input_name} has no data for tables {lacking}; it returned "
            f"{sorted(data)}. Return data for every table passed to ensure_tables(); nothing "
            "was seeded"
        )
    for name in missing:
        columns = list((partition_by or {}).get(name, ()))
        table = tables[name].create(schemas[name], partition_by=columns, exist_ok=True)
        snapshot_id = table.write(data[name], mode="overwrite")
        logger.info("seeded %s with sample data (snapshot %s)", name, snapshot_id)
