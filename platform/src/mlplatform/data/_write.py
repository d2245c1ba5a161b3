"""The write path: writers stage Parquet files, one commit makes them visible atomically.

Staged files live under ``<warehouse>/_staging/<namespace>/<table>/<write id>/`` where the
write id is unique to the Metaflow flow, run, step, task and attempt (or to the process
outside a flow). A commit adds exactly the files named by the manifests passed to it, in
one Iceberg snapshot, so files of failed or retried attempts are never referenced; `gc`
removes staged files that no snapshot references once they are old enough.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import parquet_files_to_data_files
from pyiceberg.table import Table as IcebergTable

from mlplatform._metaflow import current_task
from mlplatform.config import Settings, load_settings
from mlplatform.data._catalog import filesystem, get_catalog, join_uri, list_tables, uri_to_path
from mlplatform.data._errors import CommitConflictError, DataError, SchemaMismatchError
from mlplatform.data._expr import FilterLike, filter_columns, parse_filter
from mlplatform.data._plan import DataFile
from mlplatform.data._schema import conform, partition_spec

__all__ = [
    "GcResult",
    "TableWriter",
    "WriteManifest",
    "commit_manifests",
    "gc",
    "staging_root",
]

logger = logging.getLogger(__name__)

STAGING_FOLDER = "_staging"
COMMIT_KEY = "mlp.commit-key"
TARGET_FILE_BYTES = 256 * 1024 * 1024
ROW_GROUP_ROWS = 256 * 1024
_INPROGRESS = ".inprogress"


@dataclass(frozen=True)
class WriteManifest:
    """What one writer staged: small, picklable and JSON-able (pass it as an artifact).

    Attributes:
        table: The table the files were written for.
        write_id: Unique id of the writer (flow/run/step/task/attempt inside Metaflow).
        files: The staged files.
    """

    table: str
    write_id: str
    files: tuple[DataFile, ...] = ()

    @property
    def record_count(self) -> int:
        """Rows staged by the writer."""
        return sum(f.record_count for f in self.files)

    @property
    def size_bytes(self) -> int:
        """Bytes staged by the writer."""
        return sum(f.size_bytes for f in self.files)

    def to_json(self) -> str:
        """Serialise to a JSON string."""
        return json.dumps(asdict(self), default=str, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> WriteManifest:
        """Parse what `to_json` produced (a string or the decoded dict).

        Raises:
            DataError: The text is not a write manifest.
        """
        try:
            raw = json.loads(text) if isinstance(text, str) else dict(text)
            return cls(
                table=raw["table"],
                write_id=raw["write_id"],
                files=tuple(DataFile(**f) for f in raw["files"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(
                f"not a write manifest ({error}); expected the output of WriteManifest.to_json()"
            ) from None


def staging_root(settings: Settings) -> str:
    """Where writers stage files: ``<warehouse>/_staging``."""
    return join_uri(settings.data.warehouse, STAGING_FOLDER)


def new_write_id() -> str:
    """Unique id of a writer: its Metaflow task attempt, else a timestamped random id."""
    task = current_task()
    if task is not None:
        return task.attempt_pathspec
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"adhoc/{stamp}-{uuid.uuid4().hex[:12]}"


def to_arrow_table(data: Any) -> pa.Table:
    """Accept a pyarrow Table/RecordBatch, pandas or Polars DataFrame, or an Arrow stream.

    Raises:
        DataError: The object is none of these.
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    if module == "polars" and hasattr(data, "to_arrow"):
        return _polars_to_arrow(data)
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    raise DataError(
        f"cannot write a {type(data).__name__}: expected a pyarrow Table, pandas or Polars "
        "DataFrame, or an object with __arrow_c_stream__"
    )


def _polars_to_arrow(data: Any) -> pa.Table:
    import polars as pl

    # The oldest compat level gives large_string instead of string_view: a cheaper cast.
    oldest = getattr(getattr(pl, "CompatLevel", None), "oldest", None)
    return data.to_arrow(compat_level=oldest()) if oldest else data.to_arrow()


def _partition_path(values: dict[str, Any]) -> str:
    return "/".join(f"{k}={_escape(v)}" for k, v in values.items())


def _escape(value: Any) -> str:
    text = str(value)
    return "".join(c if c.isalnum() or c in "-_." else f"%{ord(c):02X}" for c in text)


def _split_by_partition(
    data: pa.Table, columns: list[str]
) -> list[tuple[dict[str, Any], pa.Table]]:
    if not columns:
        return [({}, data)]
    keys = data.select(columns).group_by(columns, use_threads=False).aggregate([])
    parts = []
    for row in keys.to_pylist():
        mask = None
        for name, value in row.items():
            term = pc.equal(data.column(name), pa.scalar(value, data.schema.field(name).type))
            mask = term if mask is None else pc.and_(mask, term)
        parts.append((dict(row), data.filter(mask)))
    parts.sort(key=lambda part: json.dumps(part[0], default=str, sort_keys=True))
    return parts


class TableWriter:
    """Stages Parquet files for a later `Table.commit`; nothing is visible until then.

    Get one from `Table.writer`, which passes the table's current schema and partitioning.

    Example:
        >>> writer = Table("kg.matches").writer()
        >>> writer.write(arrow_table)            # any number of times
        >>> self.manifest = writer.manifest()   # a Metaflow artifact for the join

    Attributes:
        table: Name of the table the files are staged for.
        write_id: Unique id of this writer (its Metaflow task attempt inside a flow).
        location: The folder the files are staged under.
    """

    def __init__(
        self,
        table: str,
        schema: pa.Schema,
        partition_by: Sequence[str],
        *,
        settings: Settings,
        compression_level: int | None = None,
    ) -> None:
        self.table = table
        self._schema = schema
        self._partition_by = list(partition_by)
        self._settings = settings
        self._compression_level = compression_level
        self.write_id = new_write_id()
        namespace, _, name = table.rpartition(".")
        self.location = join_uri(staging_root(settings), namespace, name, self.write_id)
        self._files: list[DataFile] = []
        logger.debug("writer for %s stages under %s", table, self.location)

    def write(self, data: Any) -> list[DataFile]:
        """Check ``data`` against the table's schema and stage it as Parquet files.

        Args:
            data: pyarrow Table, pandas or Polars DataFrame, or any ``__arrow_c_stream__``.

        Returns:
            The files staged by this call (one or more per partition).

        Raises:
            SchemaMismatchError: Columns or types differ from the table's (nothing written).
            DataError: A partition column holds nulls.
        """
        arrow = conform(to_arrow_table(data), self._schema, self.table)
        for column in self._partition_by:
            nulls = arrow.column(column).null_count
            if nulls:
                raise DataError(
                    f"partition column {column!r} of {self.table} has {nulls} null values; "
                    "fill them (e.g. with 'unknown') before writing. Nothing was written."
                )
        staged = []
        for partition, part in _split_by_partition(arrow, self._partition_by):
            rows_per_file = max(1, part.num_rows * TARGET_FILE_BYTES // max(part.nbytes, 1))
            for offset in range(0, max(part.num_rows, 1), rows_per_file):
                chunk = part.slice(offset, rows_per_file)
                if chunk.num_rows:
                    staged.append(self._write_file(chunk, partition))
        self._files.extend(staged)
        return staged

    def _write_file(self, data: pa.Table, partition: dict[str, Any]) -> DataFile:
        name = f"part-{len(self._files):05d}-{uuid.uuid4().hex[:8]}.parquet"
        folder = join_uri(self.location, _partition_path(partition)) if partition else self.location
        uri = join_uri(folder, name)
        fs, path = filesystem(uri, self._settings)
        local = isinstance(fs, pafs.LocalFileSystem)
        # Local files appear under their final name only when complete; an S3 object only
        # appears when its upload completes.
        target = f"{path}{_INPROGRESS}" if local else path
        if local:
            fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        try:
            pq.write_table(
                data,
                target,
                filesystem=fs,
                compression="zstd",
                compression_level=self._compression_level,
                row_group_size=ROW_GROUP_ROWS,
                write_statistics=True,
            )
            if local:
                fs.move(target, path)
        except BaseException:
            if local:
                with contextlib.suppress(OSError):
                    fs.delete_file(target)
            raise
        size = fs.get_file_info(path).size
        logger.debug("staged %s (%d rows, %d bytes)", uri, data.num_rows, size)
        return DataFile(path=uri, size_bytes=size, record_count=data.num_rows, partition=partition)

    @property
    def files(self) -> list[DataFile]:
        """Files staged so far."""
        return list(self._files)

    def manifest(self) -> WriteManifest:
        """A small, serialisable description of the staged files, for `Table.commit`."""
        return WriteManifest(table=self.table, write_id=self.write_id, files=tuple(self._files))


def _commit_key(mode: str, overwrite_filter: str, manifests: list[WriteManifest]) -> str:
    """Identity of one commit: its mode, filter, writers and files (writers are unique per
    task attempt, so a commit of writers that staged nothing still has its own key)."""
    digest = hashlib.sha256()
    write_ids = sorted(m.write_id for m in manifests)
    paths = sorted(f.path for m in manifests for f in m.files)
    for part in [mode, overwrite_filter, *write_ids, "", *paths]:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _run_identity(write_ids: list[str]) -> str:
    runs = {"/".join(w.split("/")[:2]) for w in write_ids}
    return runs.pop() if len(runs) == 1 else f"{len(runs)} runs"


def _as_manifests(manifests: Sequence[Any]) -> list[WriteManifest]:
    if isinstance(manifests, WriteManifest):
        manifests = [manifests]
    result = []
    for item in manifests:
        if isinstance(item, WriteManifest):
            result.append(item)
        elif isinstance(item, str | dict):
            result.append(WriteManifest.from_json(item))
        else:
            raise DataError(
                "commit() takes WriteManifest objects (writer.manifest()), got "
                f"{type(item).__name__}"
            )
    return result


class _CommittedMeanwhile(Exception):
    """Stops a commit's retry: a snapshot with its commit key landed in the meantime."""

    def __init__(self, snapshot_id: int) -> None:
        super().__init__(f"committed meanwhile as snapshot {snapshot_id}")
        self.snapshot_id = snapshot_id


class _CommitKeyGuard(IcebergTable):
    """A handle on the table for one commit, which refuses to retry a commit that landed.

    PyIceberg retries a commit that lost a race by refreshing the table and re-applying the
    commit onto the new metadata. The refresh is where another process's commit of the same
    manifests becomes visible, so this handle checks the commit key there, before every
    attempt after the first, and stops the retry instead of appending the files again. It
    raises an exception PyIceberg does not handle, so PyIceberg deletes no file: if the
    snapshot found is this commit's own (a lost response), its files must stay.
    """

    def __init__(self, iceberg: IcebergTable, key: str) -> None:
        super().__init__(
            iceberg.name(),
            iceberg.metadata,
            iceberg.metadata_location,
            iceberg.io,
            iceberg.catalog,
            iceberg.config,
        )
        self.commit_key = key

    def refresh(self) -> IcebergTable:
        super().refresh()
        committed = _snapshot_committed_as(self, self.commit_key)
        if committed is not None:
            raise _CommittedMeanwhile(committed.snapshot_id)
        return self


def _check_manifests(
    table: str, manifests: Sequence[Any], mode: str, overwrite_filter: FilterLike
) -> list[WriteManifest]:
    if mode not in ("append", "overwrite"):
        raise DataError(f"commit mode must be 'append' or 'overwrite', got {mode!r}")
    if mode == "append" and overwrite_filter is not None:
        raise DataError("overwrite_filter applies to mode='overwrite' only")
    checked = _as_manifests(manifests)
    for manifest in checked:
        if manifest.table != table:
            raise DataError(
                f"manifest of writer {manifest.write_id} was written for table {manifest.table}, "
                f"not {table}; commit it on Table({manifest.table!r})"
            )
    paths = [f.path for m in checked for f in m.files]
    if len(paths) != len(set(paths)):
        duplicates = sorted({p for p in paths if paths.count(p) > 1})
        raise DataError(f"the same staged files appear in several manifests: {duplicates[:5]}")
    return checked


def commit_manifests(
    iceberg: IcebergTable,
    table: str,
    manifests: Sequence[Any],
    *,
    mode: str = "append",
    overwrite_filter: FilterLike = None,
    allow_empty: bool = False,
    settings: Settings,
) -> int | None:
    """Commit the manifests' staged files to a PyIceberg table as one snapshot.

    The implementation of `Table.commit` (see there for the contract).

    Args:
        iceberg: The table, freshly loaded: the first "committed already?" check uses it.
        table: Its name, for messages and to check the manifests against.
        manifests: `WriteManifest` objects (or their JSON).
        mode: ``"append"`` or ``"overwrite"``.
        overwrite_filter: Partition filter choosing what an overwrite replaces.
        allow_empty: Allow an overwrite without manifests.
        settings: Filesystems of the profile.
    """
    manifests = _check_manifests(table, manifests, mode, overwrite_filter)
    if not manifests:
        if mode == "append":
            logger.info("%s: no manifests to commit; no snapshot made", table)
            return None
        if not allow_empty:
            raise DataError(
                f"commit([], mode='overwrite') would empty table {table}: no writer's manifest "
                "was passed, so nothing would replace its files. Pass the writers' manifests, "
                "or allow_empty=True to empty the table on purpose; nothing was changed"
            )
    paths = sorted(f.path for m in manifests for f in m.files)
    expr = parse_filter(overwrite_filter)
    key = _commit_key(mode, str(expr), manifests)
    committed = _snapshot_committed_as(iceberg, key) if manifests else None
    if committed is not None:
        logger.info(
            "%s: these manifests were committed already as snapshot %d; nothing to do",
            table,
            committed.snapshot_id,
        )
        return committed.snapshot_id
    if not paths and mode == "append":
        logger.info("%s: the manifests stage no files; no snapshot made", table)
        return None

    _check_staged_files_exist(paths, settings)
    already = _referenced(iceberg, paths)
    if already:
        raise DataError(
            f"{len(already)} staged files are already part of table {table} (e.g. "
            f"{already[0]}) from another commit; commit each writer's manifest once"
        )
    try:
        data_files = list(parquet_files_to_data_files(iceberg.io, iceberg.metadata, iter(paths)))
    except ValueError as error:
        raise SchemaMismatchError(
            f"staged files do not match the current schema of {table}: {error}. The "
            "table changed after the files were written; rewrite them with a new writer"
        ) from None

    to_delete = _files_to_replace(table, iceberg, expr) if mode == "overwrite" else []
    properties = {
        COMMIT_KEY: key,
        "mlp.writers": str(len(manifests)),
        "mlp.run": _run_identity([m.write_id for m in manifests]),
    }
    guarded = _CommitKeyGuard(iceberg, key)
    try:
        with guarded.transaction() as transaction:
            if "schema.name-mapping.default" not in guarded.properties:
                mapping = guarded.schema().name_mapping.model_dump_json()
                transaction.set_properties({"schema.name-mapping.default": mapping})
            update = transaction.update_snapshot(snapshot_properties=properties)
            producer = update.fast_append() if mode == "append" else update.overwrite()
            with producer as snapshot_update:
                for data_file in to_delete:
                    snapshot_update.delete_data_file(data_file)
                for data_file in data_files:
                    snapshot_update.append_data_file(data_file)
    except _CommittedMeanwhile as meanwhile:
        logger.info(
            "%s: these manifests were committed meanwhile as snapshot %d (a concurrent commit "
            "of the same manifests); nothing added",
            table,
            meanwhile.snapshot_id,
        )
        return meanwhile.snapshot_id
    except (CommitFailedException, ValidationException) as error:
        raise CommitConflictError(
            f"commit to {table} failed because other writers committed concurrently and "
            f"Iceberg's retries ran out ({error}). Nothing was committed and the staged files "
            "are intact: run the commit again."
        ) from None
    # The commit left the catalog's answer in the handle's metadata: no reload needed.
    committed = _snapshot_committed_as(guarded, key)
    if committed is None:
        raise DataError(f"commit to {table} finished but its snapshot is not in the metadata")
    log = logger.warning if mode == "overwrite" and not paths else logger.info
    log(
        "%s: committed %d files (%d rows) of %d writers as snapshot %d (%s)",
        table,
        len(data_files),
        sum(m.record_count for m in manifests),
        len(manifests),
        committed.snapshot_id,
        mode,
    )
    return committed.snapshot_id


def _snapshot_committed_as(iceberg: IcebergTable, key: str) -> Any:
    """The table's snapshot whose summary carries commit key ``key``, or None."""
    for snapshot in reversed(iceberg.snapshots()):
        if snapshot.summary and snapshot.summary.additional_properties.get(COMMIT_KEY) == key:
            return snapshot
    return None


def _check_staged_files_exist(paths: list[str], settings: Settings) -> None:
    missing = []
    for path in paths:
        fs, inner = filesystem(path, settings)
        if fs.get_file_info(inner).type != pafs.FileType.File:
            missing.append(path)
    if missing:
        raise DataError(
            f"{len(missing)} staged files of the manifests no longer exist (e.g. {missing[0]}); "
            "were they removed by 'mlp data gc'? Re-run the writers, then commit. "
            "Nothing was committed."
        )


def _referenced(iceberg: Any, paths: list[str]) -> list[str]:
    if iceberg.current_snapshot() is None:
        return []
    wanted = set(paths)
    current = {task.file.file_path for task in iceberg.scan().plan_files()}
    return sorted(wanted & current)


def _files_to_replace(table: str, iceberg: IcebergTable, expr: Any) -> list[Any]:
    if iceberg.current_snapshot() is None:
        return []
    if expr != AlwaysTrue():
        partition_columns = {column for column, _ in partition_spec(iceberg)}
        outside = filter_columns(expr) - partition_columns
        if outside:
            raise DataError(
                f"overwrite_filter may only use partition columns {sorted(partition_columns)} "
                f"of {table}, so that whole files are replaced; it uses {sorted(outside)}"
            )
    return [task.file for task in iceberg.scan(row_filter=expr).plan_files()]


# -- garbage collection of staged files ---------------------------------------------------


@dataclass(frozen=True)
class GcResult:
    """What `gc` found and did.

    Attributes:
        deleted: Staged files removed (or that would be, for a dry run).
        referenced: Staged files kept because a snapshot references them.
        recent: Unreferenced staged files kept because they are younger than the cutoff.
    """

    deleted: list[str]
    referenced: int
    recent: int


def _strip(uri: str) -> str:
    if uri.startswith("file:"):
        return uri_to_path(uri)
    return uri.split("://", 1)[1] if "://" in uri else uri


def referenced_files(settings: Settings) -> set[str]:
    """Paths (without scheme) of data files referenced by any snapshot of any table."""
    catalog = get_catalog(settings)
    found: set[str] = set()
    seen_manifests: set[str] = set()
    for name in list_tables(settings):
        iceberg = catalog.load_table(name)
        for snapshot in iceberg.snapshots():
            for manifest in snapshot.manifests(iceberg.io):
                if manifest.manifest_path in seen_manifests:
                    continue
                seen_manifests.add(manifest.manifest_path)
                for entry in manifest.fetch_manifest_entry(iceberg.io, discard_deleted=False):
                    found.add(_strip(entry.data_file.file_path))
    return found


def gc(
    older_than: timedelta,
    settings: Settings | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> GcResult:
    """Delete staged files that no snapshot of any table references and are old enough.

    Args:
        older_than: Keep files modified more recently than this (commits in progress).
        settings: Settings to use (default `load_settings()`).
        dry_run: Only report what would be deleted.
        now: The current time (tests).
    """
    settings = settings or load_settings()
    root = staging_root(settings)
    fs, inner = filesystem(root, settings)
    if fs.get_file_info(inner).type != pafs.FileType.Directory:
        return GcResult(deleted=[], referenced=0, recent=0)
    cutoff = (now or datetime.now(UTC)) - older_than
    referenced = referenced_files(settings)
    deleted: list[str] = []
    kept_referenced = kept_recent = 0
    infos = fs.get_file_info(pafs.FileSelector(inner, recursive=True))
    scheme = root.split("://", 1)[0] + "://" if root.startswith("s3") else ""
    for info in sorted(infos, key=lambda i: i.path):
        if info.type != pafs.FileType.File:
            continue
        if _strip(info.path) in referenced:
            kept_referenced += 1
            continue
        if info.mtime is not None and info.mtime.astimezone(UTC) > cutoff:
            kept_recent += 1
            continue
        deleted.append(scheme + info.path)
        if not dry_run:
            fs.delete_file(info.path)
    if not dry_run and isinstance(fs, pafs.LocalFileSystem):
        _remove_empty_folders(fs, inner)
    logger.info(
        "gc of %s: %s %d unreferenced staged files; kept %d referenced and %d recent",
        root,
        "would delete" if dry_run else "deleted",
        len(deleted),
        kept_referenced,
        kept_recent,
    )
    return GcResult(deleted=deleted, referenced=kept_referenced, recent=kept_recent)


def _remove_empty_folders(fs: pafs.FileSystem, root: str) -> None:
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    folders = sorted((i.path for i in infos if i.type == pafs.FileType.Directory), reverse=True)
    for folder in folders:
        if not fs.get_file_info(pafs.FileSelector(folder)):
            fs.delete_dir(folder)
