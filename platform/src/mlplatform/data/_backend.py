"""The data layer's seams: table sources (Iceberg tables, Hive folders) and catalog checks.

Sources. `TableSource` is the reading half every table has: whether it exists, its schema
and partitioning, its snapshots, and `TableSource.plan`, which decides a read before any
data is fetched. `Table` (``_table.py``: Iceberg, which also writes) and `HiveTable`
(``_hive.py``: a read-only folder of ``key=value/`` Parquet files) implement it; `SOURCES`
names them, and `open_source` picks one for a name (``ns.table``) or a path.

Catalogs. PyIceberg is the seam for catalogs (``data.catalog`` is PyIceberg's catalog type);
`check` knows how to check each type is reachable, and where the warehouse is usable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplatform._checks import (
    CheckResult,
    Status,
    http_probe,
    sqlite_probe,
    tcp_probe,
    writable_folder_probe,
)
from mlplatform._loader import load_object
from mlplatform.config import Settings, load_settings
from mlplatform.data._catalog import uri_to_path
from mlplatform.data._expr import FilterLike
from mlplatform.data._plan import (
    AsOf,
    DataFile,
    ScanPlan,
    Shard,
    check_columns,
    column_names,
    split_files,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["SOURCES", "SnapshotInfo", "TableSource", "check", "open_source"]

# Kind of source -> "module:class"; imported only when asked for.
SOURCES: dict[str, str] = {
    "iceberg": "mlplatform.data._table:Table",
    "hive": "mlplatform.data._hive:HiveTable",
}


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot of a table.

    Attributes:
        snapshot_id: Iceberg snapshot id.
        parent_id: The snapshot this one was made from.
        timestamp: Commit time (UTC).
        operation: ``append``, ``overwrite``, ``delete`` or ``replace``.
        summary: Iceberg's summary properties (counts, and ``mlp.*`` commit identity).
    """

    snapshot_id: int
    parent_id: int | None
    timestamp: datetime
    operation: str
    summary: dict[str, str]


class TableSource(ABC):
    """A table to read: nothing is loaded until it is used.

    Sources compare, hash and pickle by kind and name (the catalog handle is per process).

    Attributes:
        name: ``"namespace.name"`` of an Iceberg table, or the folder of a Hive table.
    """

    name: str

    def __init__(self, name: str, *, settings: Settings | None = None) -> None:
        self.name = name
        self._settings = settings

    @property
    def settings(self) -> Settings:
        """The settings this source resolves its catalog and filesystems from."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.name == self.name  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.name))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name,))

    @abstractmethod
    def exists(self) -> bool:
        """True when the source exists."""

    @property
    @abstractmethod
    def schema(self) -> pa.Schema:
        """Arrow schema of the source's current columns.

        Raises:
            TableNotFoundError: The source does not exist.
        """

    @property
    @abstractmethod
    def partition_spec(self) -> list[tuple[str, str]]:
        """The partitioning as ``(column, transform)`` pairs."""

    @property
    def partition_by(self) -> list[str]:
        """Source columns of the partitioning."""
        return [column for column, _ in self.partition_spec]

    @abstractmethod
    def snapshots(self) -> list[SnapshotInfo]:
        """All snapshots, oldest first (none for sources without snapshots)."""

    @property
    @abstractmethod
    def current_snapshot_id(self) -> int | None:
        """Id of the current snapshot, or None."""

    @abstractmethod
    def plan(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002 - the contract's name
        snapshot_id: int | None = None,
        as_of: AsOf = None,
    ) -> ScanPlan:
        """Decide a read: the files after pruning, the schema, the snapshot, the residual
        filter, and for a projection the byte ranges of each file to fetch.

        Args:
            columns: Columns to read (default all), in this order.
            filter: A PyIceberg expression string or ``BooleanExpression``; prunes files by
                partition and min/max statistics, and filters rows when read.
            snapshot_id: Plan this snapshot instead of the current one (time travel).
            as_of: Plan the snapshot current at this datetime / epoch milliseconds.

        Raises:
            TableNotFoundError: The source does not exist.
            DataError: Unknown columns, an invalid filter, or an unknown snapshot.
        """

    def read(
        self, plan: ScanPlan, *, limit: int | None = None, settings: Settings | None = None
    ) -> pa.Table:
        """Read a plan of this source into one Arrow table (`DataFrame.load` does this).

        Args:
            plan: What `plan` returned.
            limit: Only the first ``limit`` rows (files are then read one at a time).
            settings: Read concurrency and byte budget (default: the source's settings).
        """
        # Imported here so that `mlp doctor`, which imports `check`, loads no decoder.
        from mlplatform.data._read import read_plan

        return read_plan(plan, settings or self.settings, limit)

    def files(
        self,
        filter: FilterLike = None,  # noqa: A002 - the contract's name
        columns: Sequence[str] | None = None,
        snapshot_id: int | None = None,
        as_of: AsOf = None,
    ) -> list[DataFile]:
        """Data files to read after partition pruning and min/max statistics pruning.

        Args:
            filter: A PyIceberg expression string or ``BooleanExpression``.
            columns: Columns that will be read (checked against the schema).
            snapshot_id: Read this snapshot instead of the current one (time travel).
            as_of: Read the snapshot current at this datetime / epoch milliseconds.
        """
        plan = self.plan(filter=filter, snapshot_id=snapshot_id, as_of=as_of)
        if columns is not None:
            check_columns(plan.schema, column_names(columns), "columns", f"table {self.name}")
        return list(plan.files)

    def shards(
        self,
        n: int | None = None,
        target_bytes: int | None = None,
        filter: FilterLike = None,  # noqa: A002 - the contract's name
        snapshot_id: int | None = None,
    ) -> list[Shard]:
        """Split the files into deterministic, byte-balanced, never-empty shards.

        Args:
            n: Number of shards (fewer if there are fewer files).
            target_bytes: Bytes per shard when ``n`` is not given (default 256 MiB).
            filter: Only files that may hold matching rows (load the shard with the same
                filter to drop non-matching rows).
            snapshot_id: Plan from this snapshot (default: current). All shards of one call
                share one snapshot.

        Returns:
            The shards; an empty list when there are no data files.

        Raises:
            DataError: ``n`` or ``target_bytes`` is not a whole number of 1 or more.
        """
        plan = self.plan(filter=filter, snapshot_id=snapshot_id)
        groups = split_files(plan.files, n=n, target_bytes=target_bytes)
        return [
            Shard(
                files=tuple(group),
                index=index,
                count=len(groups),
                table=self.name,
                snapshot_id=plan.snapshot_id,
            )
            for index, group in enumerate(groups)
        ]


def open_source(name: str, settings: Settings | None = None) -> TableSource:
    """The source a name denotes: a path or URI (with ``/``) is a Hive folder, else an
    Iceberg table ``namespace.name``."""
    kind = "hive" if "/" in name else "iceberg"
    return load_object(SOURCES[kind])(name, settings=settings)


def _sql_catalog(settings: Settings) -> tuple[Status, str]:
    uri = str(settings.data.catalog_uri)
    if uri.startswith("sqlite:///"):
        return sqlite_probe(Path(uri.removeprefix("sqlite:///")))
    return tcp_probe(uri, 5432)  # a SQLAlchemy URL of a database server


def _glue_catalog(settings: Settings) -> tuple[Status, str]:
    return tcp_probe(f"https://glue.{settings.storage.s3_region}.amazonaws.com", 443)


# Catalog type -> how to check it (types are PyIceberg's; see DataSettings.catalog).
CATALOG_CHECKS: dict[str, Callable[[Settings], tuple[Status, str]]] = {
    "sql": _sql_catalog,
    "rest": lambda settings: http_probe(f"{settings.data.catalog_uri}/v1/config"),
    "glue": _glue_catalog,
    "hive": lambda settings: tcp_probe(str(settings.data.catalog_uri), 9083),
}


def check(settings: Settings) -> list[CheckResult]:
    """``mlp doctor``: the catalog the profile names, and a local warehouse folder."""
    catalog = settings.data.catalog
    results = [CheckResult("data catalog", catalog, *CATALOG_CHECKS[catalog](settings))]
    warehouse = str(settings.data.warehouse)
    if warehouse.startswith("file://"):
        results.append(
            CheckResult(
                "data warehouse", "file", *writable_folder_probe(Path(uri_to_path(warehouse)))
            )
        )
    return results
