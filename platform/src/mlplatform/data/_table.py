"""`Table`: one Iceberg table (or a legacy Hive-style Parquet folder) by name."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions import BooleanExpression
from pyiceberg.expressions.visitors import bind

from mlplatform._time import utc_from_epoch
from mlplatform.config import Settings, load_settings
from mlplatform.data._catalog import get_catalog
from mlplatform.data._errors import DataError, SchemaMismatchError, TableNotFoundError
from mlplatform.data._expr import FilterLike, filter_columns, parse_filter
from mlplatform.data._schema import arrow_schema

if TYPE_CHECKING:
    from pyiceberg.table import Table as IcebergTable

    from mlplatform.data._write import TableWriter, WriteManifest

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
DEFAULT_SHARD_BYTES = 256 * 1024 * 1024
AsOf = datetime | int | None


@dataclass(frozen=True)
class DataFile:
    """One Parquet data file to read.

    Attributes:
        path: URI of the file (``file://...``, ``s3://...``) or a local path.
        size_bytes: Size of the file on storage.
        record_count: Rows in the file.
        partition: Partition values of the file (Iceberg's representation for Iceberg
            tables; parsed ``key=value`` folder names for Hive folders).
    """

    path: str
    size_bytes: int
    record_count: int
    partition: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Shard:
    """A deterministic group of data files for one task of a Metaflow ``foreach``.

    Small and picklable: it holds file descriptions, not data. Load it with
    ``DataFrame.load(shard)``.

    Attributes:
        files: The files of this shard, sorted by path.
        index: Position of this shard among ``count`` shards.
        count: How many shards the table was split into.
        table: Name of the table the files belong to (None for plain files).
        snapshot_id: The snapshot the files were planned from.
    """

    files: tuple[DataFile, ...]
    index: int
    count: int
    table: str | None = None
    snapshot_id: int | None = None

    @property
    def size_bytes(self) -> int:
        """Total bytes of the shard's files on storage."""
        return sum(f.size_bytes for f in self.files)

    @property
    def record_count(self) -> int:
        """Total rows of the shard's files (before any row filter)."""
        return sum(f.record_count for f in self.files)


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


def split_files(
    files: Sequence[DataFile], n: int | None = None, target_bytes: int | None = None
) -> list[list[DataFile]]:
    """Split files into byte-balanced, never-empty groups (deterministic for the same input).

    Largest files are placed first, each into the group with the fewest bytes so far
    (ties: lowest group number); groups and their files are then ordered by path.
    """
    if n is not None and n < 1:
        raise DataError(f"shards(n={n}): n must be at least 1")
    if target_bytes is not None and target_bytes < 1:
        raise DataError(f"shards(target_bytes={target_bytes}): target_bytes must be positive")
    if not files:
        return []
    total = sum(f.size_bytes for f in files)
    if n is None:
        n = max(1, -(-total // (target_bytes or DEFAULT_SHARD_BYTES)))
    n = min(n, len(files))
    groups: list[list[DataFile]] = [[] for _ in range(n)]
    sizes = [0] * n
    for data_file in sorted(files, key=lambda f: (-f.size_bytes, f.path)):
        smallest = min(range(n), key=lambda i: (sizes[i], i))
        groups[smallest].append(data_file)
        sizes[smallest] += data_file.size_bytes
    ordered = [sorted(group, key=lambda f: f.path) for group in groups]
    return sorted(ordered, key=lambda group: group[0].path)


def _snapshot_info(snapshot: Any) -> SnapshotInfo:
    summary = snapshot.summary
    extra = dict(summary.additional_properties) if summary else {}
    return SnapshotInfo(
        snapshot_id=snapshot.snapshot_id,
        parent_id=snapshot.parent_snapshot_id,
        timestamp=utc_from_epoch(snapshot.timestamp_ms / 1000),
        operation=str(summary.operation.value) if summary else "unknown",
        summary=extra,
    )


class Table:
    """An Iceberg table of the active profile's catalog, by ``"namespace.name"``.

    Nothing is loaded until it is used. The catalog comes from `load_settings()` unless
    ``settings`` is given.

    Example:
        >>> t = Table("kg.title_records")
        >>> t.create(schema, partition_by=["kind"], exist_ok=True)
        >>> df = DataFrame.load(t, columns=["title"], filter="year >= 2000")
    """

    def __init__(self, name: str, *, settings: Settings | None = None) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise DataError(
                f"table name {name!r} is not valid: expected 'namespace.name' made of letters, "
                "digits and underscores, e.g. 'kg.title_records'"
            )
        self.name = name
        self.namespace, _, self.table_name = name.rpartition(".")
        self._settings = settings
        self._iceberg: IcebergTable | None = None

    def __repr__(self) -> str:
        return f"Table({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and type(other) is type(self) and other.name == self.name

    def __hash__(self) -> int:
        return hash((type(self), self.name))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle by name only: the catalog handle is per process.
        return (type(self), (self.name,))

    @property
    def settings(self) -> Settings:
        """The settings this table resolves its catalog from."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def catalog(self) -> Any:
        """The PyIceberg catalog holding this table."""
        return get_catalog(self.settings)

    # -- catalog lookups ---------------------------------------------------------------

    def _load(self, refresh: bool = False) -> IcebergTable:
        if self._iceberg is not None:
            if refresh:
                self._iceberg.refresh()
            return self._iceberg
        try:
            self._iceberg = self.catalog.load_table(self.name)
        except (NoSuchTableError, NoSuchNamespaceError):
            raise TableNotFoundError(self._not_found_message()) from None
        return self._iceberg

    def _not_found_message(self) -> str:
        names = list_tables(self.settings)
        close = difflib.get_close_matches(self.name, names, n=5, cutoff=0.5)
        hint = (
            f"closest existing names: {', '.join(close)}"
            if close
            else (f"existing tables: {', '.join(names[:20])}" if names else "the catalog is empty")
        )
        return (
            f"table {self.name} does not exist in the {self.settings.data.catalog} catalog at "
            f"{self.settings.data.catalog_uri}; {hint}. Check the name, or create it with "
            f"Table({self.name!r}).create(schema)."
        )

    def exists(self) -> bool:
        """True when the table exists in the catalog."""
        if self._iceberg is not None:
            return True
        try:
            return bool(self.catalog.table_exists(self.name))
        except NoSuchNamespaceError:
            return False

    def create(
        self,
        schema: pa.Schema,
        partition_by: list[str] | None = None,
        exist_ok: bool = False,
        properties: dict[str, str] | None = None,
    ) -> Table:
        """Create the table (and its namespace if needed).

        Args:
            schema: Arrow schema of the table; non-nullable fields become required columns.
            partition_by: Columns to partition by (identity transform).
            exist_ok: If the table exists with the same columns, return it instead of failing.
            properties: Extra Iceberg table properties.

        Raises:
            DataError: The table exists and ``exist_ok`` is false, or a partition column is
                not in the schema or not a primitive column.
            SchemaMismatchError: ``exist_ok`` and the existing table has other columns.
        """
        if not isinstance(schema, pa.Schema):
            raise DataError(f"create() needs a pyarrow.Schema, got {type(schema).__name__}")
        partition_by = list(partition_by or [])
        for column in partition_by:
            if column not in schema.names:
                raise DataError(
                    f"partition column {column!r} is not in the schema of {self.name}; "
                    f"columns are {schema.names}"
                )
            if pa.types.is_nested(schema.field(column).type):
                raise DataError(
                    f"partition column {column!r} has nested type {schema.field(column).type}; "
                    "partition by a primitive column"
                )
        if self.exists():
            if not exist_ok:
                raise DataError(
                    f"table {self.name} already exists; pass exist_ok=True to use it, or pick "
                    "another name"
                )
            self._check_same_columns(schema)
            return self
        self.catalog.create_namespace_if_not_exists(self.namespace)
        table_properties = {
            "write.parquet.compression-codec": "zstd",
            **(properties or {}),
        }
        try:
            transaction = self.catalog.create_table_transaction(
                self.name, schema=schema, properties=table_properties
            )
            if partition_by:
                with transaction.update_spec() as spec:
                    for column in partition_by:
                        spec.add_identity(column)
            iceberg_schema = transaction.table_metadata.schema()
            transaction.set_properties(
                {"schema.name-mapping.default": iceberg_schema.name_mapping.model_dump_json()}
            )
            transaction.commit_transaction()
        except TableAlreadyExistsError:
            if not exist_ok:
                raise DataError(f"table {self.name} was created concurrently") from None
        self._iceberg = None
        logger.info("created table %s partitioned by %s", self.name, partition_by or "nothing")
        return self

    def _check_same_columns(self, schema: pa.Schema) -> None:
        ours = [(f.name, f.type) for f in self.schema]
        theirs = [(f.name, f.type) for f in table_arrow_schema(schema)]
        if ours != theirs:
            raise SchemaMismatchError(
                f"table {self.name} exists with columns {ours}, not the requested {theirs}; "
                "use the existing schema, or a new table name"
            )

    @property
    def schema(self) -> pa.Schema:
        """Arrow schema of the table's current schema.

        Raises:
            TableNotFoundError: The table does not exist (the message lists close names).
        """
        return arrow_schema(self._load().schema())

    @property
    def partition_by(self) -> list[str]:
        """Source columns of the current partition spec (identity partitions)."""
        return [column for column, _ in self.partition_spec]

    @property
    def partition_spec(self) -> list[tuple[str, str]]:
        """The current partition spec as ``(column, transform)`` pairs."""
        table = self._load()
        iceberg_schema = table.schema()
        return [
            (iceberg_schema.find_column_name(f.source_id), str(f.transform))
            for f in table.spec().fields
        ]

    def snapshots(self) -> list[SnapshotInfo]:
        """All snapshots of the table, oldest first."""
        return [_snapshot_info(s) for s in self._load(refresh=True).snapshots()]

    @property
    def current_snapshot_id(self) -> int | None:
        """Id of the current snapshot, or None for a table without data commits."""
        snapshot = self._load(refresh=True).current_snapshot()
        return snapshot.snapshot_id if snapshot else None

    def snapshot_id_as_of(self, as_of: datetime | int) -> int:
        """The snapshot that was current at ``as_of`` (a datetime or epoch milliseconds).

        Raises:
            DataError: The table had no snapshot at that time.
        """
        if isinstance(as_of, datetime):
            if as_of.tzinfo is None:
                as_of = as_of.replace(tzinfo=UTC)
            millis = int(as_of.timestamp() * 1000)
        else:
            millis = int(as_of)
        snapshot = self._load(refresh=True).snapshot_as_of_timestamp(millis)
        if snapshot is None:
            snapshots = self.snapshots()
            raise DataError(
                f"table {self.name} had no snapshot at {as_of}; its first snapshot is "
                f"{snapshots[0].timestamp if snapshots else 'not made yet'}"
            )
        return snapshot.snapshot_id

    def _resolve_snapshot(self, snapshot_id: int | None, as_of: AsOf) -> int | None:
        if snapshot_id is not None and as_of is not None:
            raise DataError("pass snapshot_id or as_of, not both")
        if as_of is not None:
            return self.snapshot_id_as_of(as_of)
        if snapshot_id is not None and self._load().snapshot_by_id(snapshot_id) is None:
            known = [s.snapshot_id for s in self.snapshots()]
            raise DataError(
                f"table {self.name} has no snapshot {snapshot_id}; its snapshots are {known}"
            )
        return snapshot_id

    # -- planning ----------------------------------------------------------------------

    def _check_columns(self, names: Sequence[str], what: str) -> None:
        schema = self.schema
        unknown = [c for c in names if c not in schema.names]
        if unknown:
            raise DataError(
                f"{what} {unknown} not in table {self.name}; its columns are {schema.names}"
            )

    def _plan(
        self, row_filter: FilterLike, snapshot_id: int | None, as_of: AsOf
    ) -> tuple[list[DataFile], bool, int | None, BooleanExpression]:
        """Files to read after pruning; also whether they need PyIceberg's reader (deletes)."""
        expr = parse_filter(row_filter)
        table = self._load(refresh=True)  # once; the checks below use the loaded metadata
        self._check_columns(sorted(filter_columns(expr)), "filter columns")
        snapshot_id = self._resolve_snapshot(snapshot_id, as_of)
        try:
            bind(table.schema(), expr, case_sensitive=True)
        except ValueError as error:
            raise DataError(
                f"filter {row_filter!r} does not fit the columns of {self.name}: {error}"
            ) from None
        if snapshot_id is None and table.current_snapshot() is not None:
            snapshot_id = table.current_snapshot().snapshot_id
        if snapshot_id is None:
            return [], False, None, expr
        scan = table.scan(row_filter=expr, snapshot_id=snapshot_id)
        files: list[DataFile] = []
        has_deletes = False
        specs = table.specs()
        iceberg_schema = table.schema()
        for task in scan.plan_files():
            data_file = task.file
            spec = specs[data_file.spec_id]
            partition = {
                iceberg_schema.find_column_name(f.source_id): data_file.partition[i]
                for i, f in enumerate(spec.fields)
            }
            files.append(
                DataFile(
                    path=data_file.file_path,
                    size_bytes=data_file.file_size_in_bytes,
                    record_count=data_file.record_count,
                    partition=partition,
                )
            )
            has_deletes = has_deletes or bool(task.delete_files)
        # Several schemas mean renamed or re-typed columns may need PyIceberg's field-id mapping.
        needs_pyiceberg = has_deletes or len(table.schemas()) > 1
        return files, needs_pyiceberg, snapshot_id, expr

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
        if columns is not None:
            self._check_columns(list(columns), "columns")
        return self._plan(filter, snapshot_id, as_of)[0]

    def shards(
        self,
        n: int | None = None,
        target_bytes: int | None = None,
        filter: FilterLike = None,  # noqa: A002
        snapshot_id: int | None = None,
    ) -> list[Shard]:
        """Split the table's files into deterministic, byte-balanced, never-empty shards.

        Args:
            n: Number of shards (fewer if the table has fewer files).
            target_bytes: Bytes per shard when ``n`` is not given (default 256 MiB).
            filter: Only files that may hold matching rows (load the shard with the same
                filter to drop non-matching rows).
            snapshot_id: Plan from this snapshot (default: current). All shards of one call
                share one snapshot.

        Returns:
            The shards; an empty list when the table has no data files.
        """
        files, _, resolved, _ = self._plan(filter, snapshot_id, None)
        groups = split_files(files, n=n, target_bytes=target_bytes)
        return [
            Shard(files=tuple(g), index=i, count=len(groups), table=self.name, snapshot_id=resolved)
            for i, g in enumerate(groups)
        ]

    # -- writes ------------------------------------------------------------------------

    def writer(self) -> TableWriter:
        """A writer that stages Parquet files for a later `commit` (see `TableWriter`)."""
        from mlplatform.data._write import TableWriter

        return TableWriter(self)

    def commit(
        self,
        manifests: Sequence[WriteManifest],
        mode: str = "append",
        overwrite_filter: FilterLike = None,
    ) -> int | None:
        """Commit staged files of many writers as exactly one new snapshot.

        Args:
            manifests: `WriteManifest` of each writer (e.g. ``[i.manifest for i in inputs]``).
            mode: ``"append"`` adds the files; ``"overwrite"`` also removes the current files
                matching ``overwrite_filter`` (all files when None).
            overwrite_filter: Filter on partition columns choosing what an overwrite replaces.

        Returns:
            The new snapshot id; for a repeated commit of the same manifests, the snapshot id
            the first commit made (nothing is added); None when there was nothing to append.

        Raises:
            CommitConflictError: Concurrent commits kept winning after the retries.
            SchemaMismatchError: A staged file does not match the table's current schema.
            DataError: Invalid mode, manifests of another table, or missing staged files.
        """
        from mlplatform.data._write import commit_manifests

        return commit_manifests(self, manifests, mode=mode, overwrite_filter=overwrite_filter)

    def write(self, data: Any, mode: str = "append") -> int | None:
        """Stage ``data`` and commit it in one step (one process), returning the snapshot id."""
        writer = self.writer()
        writer.write(data)
        return self.commit([writer.manifest()], mode=mode)

    @classmethod
    def from_path(cls, path: str, *, settings: Settings | None = None) -> HiveTable:
        """A legacy Hive-style table: a folder of Parquet files partitioned ``key=value/``."""
        from mlplatform.data._hive import HiveTable

        return HiveTable(path, settings=settings)


def table_arrow_schema(schema: pa.Schema) -> pa.Schema:
    """The Arrow schema a table created from ``schema`` reports.

    Iceberg widens types on creation (int8 and int16 become int, float16 float, string views
    strings); the conversion is PyIceberg's own, the one ``create_table`` applies.
    """
    return arrow_schema(Catalog._convert_schema_if_needed(schema))


def list_tables(settings: Settings | None = None, namespace: str | None = None) -> list[str]:
    """Names (``namespace.name``) of the tables in the catalog, sorted."""
    catalog = get_catalog(settings or load_settings())
    namespaces = [(namespace,)] if namespace else catalog.list_namespaces()
    names: list[str] = []
    for ns in namespaces:
        try:
            identifiers = catalog.list_tables(ns)
        except NoSuchNamespaceError:
            continue
        names.extend(".".join(identifier) for identifier in identifiers)
    return sorted(names)


if TYPE_CHECKING:
    from mlplatform.data._hive import HiveTable
