"""`Table`: one Iceberg table of the profile's catalog by name, the source that also writes."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions.visitors import bind

from mlplatform._time import utc_from_epoch
from mlplatform.config import Settings
from mlplatform.data._backend import SnapshotInfo, TableSource
from mlplatform.data._catalog import get_catalog, list_tables
from mlplatform.data._errors import DataError, SchemaMismatchError, TableNotFoundError
from mlplatform.data._expr import FilterLike, filter_columns, parse_filter
from mlplatform.data._hive import HiveTable
from mlplatform.data._plan import (
    AsOf,
    DataFile,
    ScanPlan,
    check_columns,
    column_names,
    with_byte_ranges,
)
from mlplatform.data._schema import arrow_schema, partition_spec
from mlplatform.data._write import TableWriter, WriteManifest, commit_manifests

if TYPE_CHECKING:
    from pyiceberg.table import Table as IcebergTable

__all__ = ["Table", "table_arrow_schema"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


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


class Table(TableSource):
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
        super().__init__(name, settings=settings)
        self.namespace, _, self.table_name = name.rpartition(".")
        self._iceberg: IcebergTable | None = None

    def __repr__(self) -> str:
        return f"Table({self.name!r})"

    @property
    def catalog(self) -> Any:
        """The PyIceberg catalog holding this table."""
        return get_catalog(self.settings)

    # -- catalog lookups ---------------------------------------------------------------

    def _iceberg_table(self, refresh: bool = False) -> IcebergTable:
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
        return arrow_schema(self._iceberg_table().schema())

    @property
    def partition_spec(self) -> list[tuple[str, str]]:
        """The current partition spec as ``(column, transform)`` pairs."""
        return partition_spec(self._iceberg_table())

    def snapshots(self) -> list[SnapshotInfo]:
        """All snapshots of the table, oldest first."""
        return [_snapshot_info(s) for s in self._iceberg_table(refresh=True).snapshots()]

    @property
    def current_snapshot_id(self) -> int | None:
        """Id of the current snapshot, or None for a table without data commits."""
        snapshot = self._iceberg_table(refresh=True).current_snapshot()
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
        snapshot = self._iceberg_table(refresh=True).snapshot_as_of_timestamp(millis)
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
        if snapshot_id is not None and self._iceberg_table().snapshot_by_id(snapshot_id) is None:
            known = [s.snapshot_id for s in self.snapshots()]
            raise DataError(
                f"table {self.name} has no snapshot {snapshot_id}; its snapshots are {known}"
            )
        return snapshot_id

    # -- reading -----------------------------------------------------------------------

    def plan(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002 - the contract's name
        snapshot_id: int | None = None,
        as_of: AsOf = None,
    ) -> ScanPlan:
        """Decide a read of the table (see `TableSource.plan`).

        The metadata is refreshed once; pruning is PyIceberg's (partitions, then min/max
        statistics). A time-travel plan has its snapshot's schema; otherwise the current
        schema names the columns.
        """
        columns = column_names(columns)
        expr = parse_filter(filter)
        table = self._iceberg_table(refresh=True)  # once; the checks below use it
        where = f"table {self.name}"
        schema = arrow_schema(table.schema())
        check_columns(schema, sorted(filter_columns(expr)), "filter columns", where)
        resolved = self._resolve_snapshot(snapshot_id, as_of)
        try:
            bind(table.schema(), expr, case_sensitive=True)
        except ValueError as error:
            raise DataError(
                f"filter {filter!r} does not fit the columns of {self.name}: {error}"
            ) from None
        time_travel = resolved is not None
        if time_travel:
            schema_id = table.snapshot_by_id(resolved).schema_id
            if schema_id is not None:
                schema = arrow_schema(table.schemas()[schema_id])
        else:
            current = table.current_snapshot()
            resolved = current.snapshot_id if current is not None else None
        if columns is not None:
            check_columns(schema, columns, "columns", where)
        selected = tuple(columns if columns is not None else schema.names)
        if resolved is None:
            return ScanPlan(self.name, (), schema, selected, row_filter=expr)
        files: list[DataFile] = []
        has_deletes = False
        specs = table.specs()
        iceberg_schema = table.schema()
        for task in table.scan(row_filter=expr, snapshot_id=resolved).plan_files():
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
        plan = ScanPlan(
            self.name,
            tuple(files),
            schema,
            selected,
            snapshot_id=resolved,
            row_filter=expr,
            needs_pyiceberg=needs_pyiceberg,
            time_travel=time_travel,
        )
        return with_byte_ranges(plan, self.settings)

    def read(
        self, plan: ScanPlan, *, limit: int | None = None, settings: Settings | None = None
    ) -> pa.Table:
        """Read a plan of this table: with our reader, or with PyIceberg's when the plan
        needs it (delete files, or files written under an older schema)."""
        if not plan.needs_pyiceberg:
            return super().read(plan, limit=limit, settings=settings)
        logger.info("reading %s through PyIceberg (delete files or evolved schema)", self.name)
        target = plan.output_schema
        scan = self._iceberg_table().scan(
            row_filter=plan.row_filter,
            selected_fields=plan.columns,
            # Time travel reads with the snapshot's schema; otherwise the current schema
            # names the columns (a column renamed after the last write has its new name).
            snapshot_id=plan.snapshot_id if plan.time_travel else None,
            limit=limit,
        )
        return scan.to_arrow().select(target.names).cast(target)

    # -- writes ------------------------------------------------------------------------

    def writer(self) -> TableWriter:
        """A writer that stages Parquet files for a later `commit` (see `TableWriter`).

        It checks data against the table's schema as of now, not as first loaded.
        """
        iceberg = self._iceberg_table(refresh=True)
        level = iceberg.properties.get("write.parquet.compression-level")
        return TableWriter(
            self.name,
            arrow_schema(iceberg.schema()),
            [column for column, _ in partition_spec(iceberg)],
            settings=self.settings,
            compression_level=int(level) if level else None,  # None: pyarrow's zstd default
        )

    def commit(
        self,
        manifests: Sequence[WriteManifest],
        mode: str = "append",
        overwrite_filter: FilterLike = None,
        *,
        allow_empty: bool = False,
    ) -> int | None:
        """Commit staged files of many writers as exactly one new snapshot.

        Safe to repeat and to race: each set of manifests is committed at most once, even
        by processes committing it at the same instant (the check runs again on the
        refreshed metadata before every Iceberg retry); the others return its snapshot id.

        Args:
            manifests: `WriteManifest` of each writer (e.g. ``[i.manifest for i in inputs]``).
            mode: ``"append"`` adds the files; ``"overwrite"`` also removes the current files
                matching ``overwrite_filter`` (all files when None).
            overwrite_filter: Filter on partition columns choosing what an overwrite replaces.
            allow_empty: Allow an overwrite with no manifests at all, which empties the
                table (or the partitions ``overwrite_filter`` chooses). Manifests of
                writers that wrote no rows need no flag: those writers said "nothing".

        Returns:
            The new snapshot id; for manifests committed already, the snapshot id that
            commit made (nothing is added); None when there was nothing to append.

        Raises:
            CommitConflictError: Concurrent commits kept winning after the retries.
            SchemaMismatchError: A staged file does not match the table's current schema.
            DataError: Invalid mode, manifests of another table, missing staged files, or
                an overwrite with no manifests without ``allow_empty``.
        """
        return commit_manifests(
            self._iceberg_table(refresh=True),
            self.name,
            manifests,
            mode=mode,
            overwrite_filter=overwrite_filter,
            allow_empty=allow_empty,
            settings=self.settings,
        )

    def write(self, data: Any, mode: str = "append") -> int | None:
        """Stage ``data`` and commit it in one step (one process), returning the snapshot id."""
        writer = self.writer()
        writer.write(data)
        return self.commit([writer.manifest()], mode=mode)

    @classmethod
    def from_path(cls, path: str, *, settings: Settings | None = None) -> HiveTable:
        """A legacy Hive-style table: a folder of Parquet files partitioned ``key=value/``."""
        return HiveTable(path, settings=settings)


def table_arrow_schema(schema: pa.Schema) -> pa.Schema:
    """The Arrow schema a table created from ``schema`` reports.

    Iceberg widens types on creation (int8 and int16 become int, float16 float, string views
    strings); the conversion is PyIceberg's own, the one ``create_table`` applies.
    """
    return arrow_schema(Catalog._convert_schema_if_needed(schema))
