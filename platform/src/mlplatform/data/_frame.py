"""`DataFrame`: many Parquet files fetched concurrently into memory and decoded in parallel.

How a load works: the files to read come from the table's planner (partition and min/max
pruning by PyIceberg) or from the caller. A pool of ``data.read_threads`` threads fetches
whole files into memory (one GET per file on S3, one read on local disks) while a byte
budget (``data.max_bytes_in_flight``) bounds fetched-but-not-yet-decoded bytes. Each fetched
file is decoded in the thread that fetched it; the row filter is applied per file, so
memory stays near the size of the result. The per-file tables are concatenated without
copying.

The decoder: Polars' Parquet reader when every column read has a type it round-trips exactly
(integers, floats, booleans, strings, binary, dates, timestamps, lists of those), else
pyarrow's. Polars decodes strings into views instead of materialising them, so even with the
cast back to the table's Arrow types it spends about a third less CPU per file than pyarrow's
reader on string-heavy tables (benchmarks/data_read.py); the result is the same Arrow table.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.expressions import AlwaysTrue, BooleanExpression

from mlplatform.config import Settings, load_settings
from mlplatform.data._catalog import filesystem
from mlplatform.data._errors import DataError
from mlplatform.data._expr import FilterLike, filter_columns, parse_filter, to_arrow_expression
from mlplatform.data._schema import arrow_schema
from mlplatform.data._table import AsOf, DataFile, Shard, Table

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

Source = Table | str | Shard | Sequence[DataFile] | Sequence[str]


class _ByteBudget:
    """Blocks a fetch until the bytes in flight leave room for it (one file always fits)."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._used = 0
        self._condition = threading.Condition()

    def acquire(self, size: int) -> None:
        with self._condition:
            while self._used > 0 and self._used + size > self._limit:
                self._condition.wait()
            self._used += size

    def release(self, size: int) -> None:
        with self._condition:
            self._used -= size
            self._condition.notify_all()


def fetch(path: str, settings: Settings | None = None) -> bytes:
    """Read a whole file (local or S3) into memory.

    ``bytes``, so that both decoders wrap it without a copy (``pa.py_buffer``, ``BytesIO``).
    """
    fs, inner = filesystem(path, settings)
    try:
        with fs.open_input_file(inner) as handle:
            return handle.read()
    except FileNotFoundError:
        raise DataError(
            f"data file {path} does not exist; the table's metadata and storage disagree "
            "(a file was deleted outside the catalog?)"
        ) from None


def _constant(value: Any, data_type: pa.DataType, length: int) -> pa.Array:
    if value is None:
        return pa.nulls(length, data_type)
    return pa.repeat(pa.scalar(value).cast(data_type), length)


def _polars_round_trips(data_type: pa.DataType) -> bool:
    """Whether Polars decodes a Parquet column of this Arrow type back to the same values."""
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return _polars_round_trips(data_type.value_type)
    return (
        pa.types.is_integer(data_type)
        or (pa.types.is_floating(data_type) and not pa.types.is_float16(data_type))
        or pa.types.is_boolean(data_type)
        or pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_binary(data_type)
        or pa.types.is_large_binary(data_type)
        or pa.types.is_date32(data_type)
        or pa.types.is_timestamp(data_type)
    )


def _decode(
    content: bytes,
    data_file: DataFile,
    target: pa.Schema,
    read_columns: list[str],
    arrow_filter: pc.Expression | None,
) -> pa.Table:
    parquet = pq.ParquetFile(pa.BufferReader(pa.py_buffer(content)))
    stored = parquet.schema_arrow
    columns = [c for c in read_columns if c in stored.names]
    if columns and all(_polars_round_trips(stored.field(c).type) for c in columns):
        frame = pl.read_parquet(io.BytesIO(content), columns=columns)
        views = frame.to_arrow(compat_level=pl.CompatLevel.newest())  # zero copy
        table = views.cast(pa.schema([stored.field(c) for c in columns]))  # views -> strings
    else:
        table = parquet.read(columns=columns, use_threads=True)
    present = set(stored.names)
    for name in read_columns:
        if name not in present:
            # Hive partition values live in folder names; Iceberg columns added later are null.
            field = target.field(name) if name in target.names else None
            data_type = field.type if field is not None else pa.string()
            table = table.append_column(
                name, _constant(data_file.partition.get(name), data_type, table.num_rows)
            )
    if arrow_filter is not None:
        table = table.filter(arrow_filter)
    table = table.select(target.names)
    if table.schema != target:
        table = table.cast(target)
    return table


def read_files(
    files: Sequence[DataFile],
    schema: pa.Schema,
    columns: Sequence[str] | None = None,
    row_filter: BooleanExpression | None = None,
    settings: Settings | None = None,
) -> pa.Table:
    """Fetch and decode ``files`` in parallel into one Arrow table.

    Args:
        files: The files to read, in output order.
        schema: The full Arrow schema of the data (columns and types of the result).
        columns: Columns to return (default: all of ``schema``).
        row_filter: Rows to keep (an unbound PyIceberg expression).
        settings: Read concurrency and byte budget come from ``settings.data``.
    """
    settings = settings or load_settings()
    columns = list(columns) if columns is not None else list(schema.names)
    unknown = [c for c in columns if c not in schema.names]
    if unknown:
        raise DataError(f"columns {unknown} are not in the data; its columns are {schema.names}")
    expr = row_filter if row_filter is not None else AlwaysTrue()
    arrow_filter = to_arrow_expression(expr, schema)
    read_columns = columns + sorted(filter_columns(expr) - set(columns))
    target = pa.schema([schema.field(c) for c in columns])
    if not files:
        return target.empty_table()

    budget = _ByteBudget(settings.data.max_bytes_in_flight)

    def load_one(data_file: DataFile) -> pa.Table:
        size = max(data_file.size_bytes, 1)
        budget.acquire(size)
        try:
            content = fetch(data_file.path, settings)
            return _decode(content, data_file, target, read_columns, arrow_filter)
        finally:
            budget.release(size)

    started = time.perf_counter()
    threads = max(1, min(settings.data.read_threads, len(files)))
    if threads == 1:
        parts = [load_one(f) for f in files]
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="mlp-read") as pool:
            parts = list(pool.map(load_one, files))
    result = pa.concat_tables(parts)
    logger.debug(
        "read %d files (%d bytes) -> %d rows in %.3fs",
        len(files),
        sum(f.size_bytes for f in files),
        result.num_rows,
        time.perf_counter() - started,
    )
    return result


def _schema_of_files(files: Sequence[DataFile], settings: Settings) -> pa.Schema:
    fs, inner = filesystem(files[0].path, settings)
    try:
        schema = pq.read_schema(inner, filesystem=fs).remove_metadata()
    except FileNotFoundError:
        raise DataError(f"data file {files[0].path} does not exist") from None
    for name, value in files[0].partition.items():
        if name not in schema.names:
            schema = schema.append(pa.field(name, pa.scalar(value).type))
    return schema


def _as_data_files(paths: Sequence[Any], settings: Settings) -> list[DataFile]:
    files = []
    for item in paths:
        if isinstance(item, DataFile):
            files.append(item)
        elif isinstance(item, str | os.PathLike):
            path = os.fspath(item)
            fs, inner = filesystem(path, settings)
            info = fs.get_file_info(inner)
            if info.type != pa.fs.FileType.File:
                raise DataError(f"{path} is not a file; expected Parquet file paths or URIs")
            files.append(DataFile(path=path, size_bytes=info.size, record_count=-1))
        else:
            raise DataError(
                "DataFrame.load() takes a Table, a table name, a Shard, or a list of DataFile "
                f"or Parquet paths; the list holds a {type(item).__name__}"
            )
    return files


def _table_named(name: str, settings: Settings | None) -> Table:
    if "/" in name:
        return Table.from_path(name, settings=settings)
    return Table(name, settings=settings)


class DataFrame:
    """An in-memory Arrow table loaded from Iceberg tables, shards or Parquet files.

    Hand it to pandas (`to_pandas`), Polars (`to_polars`) or anything that speaks the Arrow
    PyCapsule interface (``__arrow_c_stream__``: DuckDB, Polars, nanoarrow) without copying.
    """

    def __init__(self, table: pa.Table) -> None:
        if not isinstance(table, pa.Table):
            raise DataError(f"DataFrame wraps a pyarrow.Table, got {type(table).__name__}")
        self._table = table

    @classmethod
    def load(
        cls,
        source: Source,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002 - the contract's name
        *,
        snapshot_id: int | None = None,
        as_of: AsOf = None,
        limit: int | None = None,
        settings: Settings | None = None,
    ) -> DataFrame:
        """Load a table, table name, shard, or list of files into memory.

        Args:
            source: `Table`, ``"namespace.name"``, a Hive folder path, `Shard`, or a list
                of `DataFile` or Parquet paths/URIs.
            columns: Columns to load (default all), in this order.
            filter: Rows to keep: a PyIceberg expression string such as
                ``"year >= 2000 and kind == 'movie'"`` or a ``BooleanExpression``. For tables
                it also prunes files by partition and min/max statistics.
            snapshot_id: Time travel (tables only): read this snapshot.
            as_of: Time travel (tables only): read the snapshot current at this time.
            limit: Only the first ``limit`` rows (files are then read one at a time, so the
                head of a big table stays cheap).
            settings: Settings to use (default `load_settings()`).

        Raises:
            TableNotFoundError: The table does not exist.
            DataError: Unknown columns, an invalid filter, or an unsupported source.
        """
        if isinstance(source, str):
            source = _table_named(source, settings)
        if limit is not None and limit < 0:
            raise DataError(f"limit must be 0 or more, got {limit}")
        if isinstance(source, Table):
            return cls(_load_table(source, columns, filter, snapshot_id, as_of, settings, limit))
        if snapshot_id is not None or as_of is not None:
            raise DataError(
                "snapshot_id/as_of apply to tables; a shard or file list is already pinned to "
                "its files"
            )
        expr = parse_filter(filter)
        settings = settings or load_settings()
        if isinstance(source, Shard):
            files = list(source.files)
            if source.table is not None:
                schema = _table_named(source.table, settings).schema
            elif files:
                schema = _schema_of_files(files, settings)
            else:
                raise DataError("the shard has no files and no table to take a schema from")
            return cls(_read(files, schema, columns, expr, settings, limit))
        if isinstance(source, Sequence) and not isinstance(source, bytes):
            files = _as_data_files(source, settings)
            if not files:
                raise DataError(
                    "DataFrame.load() got an empty file list: there is no schema to build an "
                    "empty result from; load the Table or Shard instead"
                )
            schema = _schema_of_files(files, settings)
            return cls(_read(files, schema, columns, expr, settings, limit))
        raise DataError(
            "DataFrame.load() takes a Table, a table name, a Shard, or a list of DataFile or "
            f"Parquet paths; got {type(source).__name__}"
        )

    # -- conversions ---------------------------------------------------------------------

    def to_arrow(self) -> pa.Table:
        """The data as a pyarrow Table (no copy)."""
        return self._table

    def to_pandas(self, dtype_backend: Literal["pyarrow", "numpy"] = "pyarrow") -> pd.DataFrame:
        """The data as a pandas DataFrame.

        Args:
            dtype_backend: ``"pyarrow"`` (default): Arrow-backed dtypes sharing the Arrow
                buffers (no copy). ``"numpy"``: NumPy dtypes (copies; strings become objects).
        """
        import pandas as pd

        if dtype_backend == "pyarrow":
            return self._table.to_pandas(types_mapper=pd.ArrowDtype)
        if dtype_backend == "numpy":
            return self._table.to_pandas()
        raise DataError(f"dtype_backend must be 'pyarrow' or 'numpy', got {dtype_backend!r}")

    def to_polars(self) -> pl.DataFrame:
        """The data as a Polars DataFrame (numeric and boolean columns share Arrow's buffers)."""
        import polars as pl

        return pl.from_arrow(self._table, rechunk=False)

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Export as an Arrow C stream (the Arrow PyCapsule interface)."""
        return self._table.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> object:
        """Export the schema as an Arrow C schema capsule."""
        return self._table.schema.__arrow_c_schema__()

    # -- shape ---------------------------------------------------------------------------

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        return self._table.num_rows

    @property
    def schema(self) -> pa.Schema:
        """Arrow schema of the data."""
        return self._table.schema

    @property
    def columns(self) -> list[str]:
        """Column names."""
        return list(self._table.schema.names)

    def __len__(self) -> int:
        return self._table.num_rows

    def __repr__(self) -> str:
        return f"DataFrame({self.num_rows} rows, columns={self.columns})"


def _load_table(
    table: Table,
    columns: Sequence[str] | None,
    row_filter: FilterLike,
    snapshot_id: int | None,
    as_of: AsOf,
    settings: Settings | None,
    limit: int | None,
) -> pa.Table:
    if settings is not None and table._settings is None:
        table._settings = settings
    files, needs_pyiceberg, resolved, expr = table._plan(row_filter, snapshot_id, as_of)
    schema = table.schema
    if columns is not None:
        table._check_columns(list(columns), "columns")
    if needs_pyiceberg:
        logger.info("reading %s through PyIceberg (delete files or evolved schema)", table.name)
        iceberg = table._load()
        selected = tuple(columns) if columns is not None else ("*",)
        # Time travel reads with the snapshot's schema; otherwise the current schema names
        # the columns (a column renamed after the last write is read under its new name).
        time_travel = snapshot_id is not None or as_of is not None
        if time_travel:
            schema = arrow_schema(iceberg.schemas()[iceberg.snapshot_by_id(resolved).schema_id])
        target = pa.schema([schema.field(c) for c in (columns or schema.names)])
        result = iceberg.scan(
            row_filter=expr,
            selected_fields=selected,
            snapshot_id=resolved if time_travel else None,
            limit=limit,
        )
        return result.to_arrow().select(target.names).cast(target)
    return _read(files, schema, columns, expr, table.settings, limit)


def _read(
    files: Sequence[DataFile],
    schema: pa.Schema,
    columns: Sequence[str] | None,
    expr: BooleanExpression,
    settings: Settings,
    limit: int | None,
) -> pa.Table:
    """`read_files`, or with a ``limit`` its first rows, reading files one at a time."""
    if limit is None:
        return read_files(files, schema, columns, expr, settings)
    parts = [read_files([], schema, columns, expr, settings)]
    for data_file in files:
        if sum(part.num_rows for part in parts) >= limit:
            break
        parts.append(read_files([data_file], schema, columns, expr, settings))
    return pa.concat_tables(parts).slice(0, limit)
