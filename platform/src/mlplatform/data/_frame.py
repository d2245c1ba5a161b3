"""`DataFrame`: a table, shard or list of Parquet files read into memory as Arrow.

`DataFrame.load` plans the read once (`TableSource.plan`: the files after pruning, the
schema, the residual filter, and for a projection the byte ranges of each file) and reads
the plan once (`TableSource.read`; our parallel reader is in ``_read.py``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from mlplatform.config import Settings, load_settings
from mlplatform.data._backend import TableSource, open_source
from mlplatform.data._catalog import filesystem
from mlplatform.data._errors import DataError
from mlplatform.data._expr import FilterLike, filter_columns, parse_filter
from mlplatform.data._plan import (
    AsOf,
    DataFile,
    ScanPlan,
    Shard,
    check_columns,
    column_names,
    with_byte_ranges,
)
from mlplatform.data._read import read_plan

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataFrame"]

logger = logging.getLogger(__name__)

Source = TableSource | str | Shard | Sequence[DataFile] | Sequence[str]


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


def _check_limit(limit: Any) -> None:
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise DataError(
            f"limit must be a whole number of rows (0 or more), got {limit!r} "
            f"({type(limit).__name__}); e.g. limit=10"
        )


def _plan_of_files(
    files: Sequence[DataFile],
    schema: pa.Schema,
    columns: list[str] | None,
    row_filter: FilterLike,
    settings: Settings,
    table: str | None = None,
    snapshot_id: int | None = None,
) -> ScanPlan:
    """A plan over given files (a shard's, or plain Parquet files), with byte ranges."""
    expr = parse_filter(row_filter)
    where = f"table {table}" if table else "the files"
    if columns is not None:
        check_columns(schema, columns, "columns", where)
    check_columns(schema, sorted(filter_columns(expr)), "filter columns", where)
    plan = ScanPlan(
        table,
        tuple(files),
        schema,
        tuple(columns if columns is not None else schema.names),
        snapshot_id=snapshot_id,
        row_filter=expr,
    )
    return with_byte_ranges(plan, settings)


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

        The read is planned once (files after pruning, and for a projection only the byte
        ranges of the columns read) and read once.

        Args:
            source: `Table`, `HiveTable`, ``"namespace.name"``, a Hive folder path, `Shard`,
                or a list of `DataFile` or Parquet paths/URIs.
            columns: Columns to load (default all), in this order: a list of names.
            filter: Rows to keep: a PyIceberg expression string such as
                ``"year >= 2000 and kind == 'movie'"`` or a ``BooleanExpression``. For tables
                it also prunes files by partition and min/max statistics.
            snapshot_id: Time travel (tables only): read this snapshot.
            as_of: Time travel (tables only): read the snapshot current at this time.
            limit: Only the first ``limit`` rows, a whole number of 0 or more (files are then
                read one at a time, so the head of a big table stays cheap).
            settings: Read concurrency and byte budget, and the catalog of a table name
                (default `load_settings()`; a `Table` keeps its own catalog).

        Raises:
            TableNotFoundError: The table does not exist.
            DataError: Unknown columns, an invalid filter, limit or source.
        """
        _check_limit(limit)
        columns = column_names(columns)
        if isinstance(source, str):
            source = open_source(source, settings)
        if isinstance(source, TableSource):
            plan = source.plan(columns, filter, snapshot_id=snapshot_id, as_of=as_of)
            return cls(source.read(plan, limit=limit, settings=settings))
        if snapshot_id is not None or as_of is not None:
            raise DataError(
                "snapshot_id/as_of apply to tables; a shard or file list is already pinned to "
                "its files"
            )
        settings = settings or load_settings()
        if isinstance(source, Shard):
            files = list(source.files)
            if source.table is not None:
                schema = open_source(source.table, settings).schema
            elif files:
                schema = _schema_of_files(files, settings)
            else:
                raise DataError("the shard has no files and no table to take a schema from")
            plan = _plan_of_files(
                files, schema, columns, filter, settings, source.table, source.snapshot_id
            )
            return cls(read_plan(plan, settings, limit))
        if isinstance(source, Sequence) and not isinstance(source, bytes):
            files = _as_data_files(source, settings)
            if not files:
                raise DataError(
                    "DataFrame.load() got an empty file list: there is no schema to build an "
                    "empty result from; load the Table or Shard instead"
                )
            schema = _schema_of_files(files, settings)
            plan = _plan_of_files(files, schema, columns, filter, settings)
            return cls(read_plan(plan, settings, limit))
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
