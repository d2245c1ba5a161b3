"""Legacy Hive-style tables: a folder of Parquet files partitioned ``key=value/``, read only."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.dataset as ds

from mlplatform.config import Settings
from mlplatform.data._backend import SnapshotInfo, TableSource
from mlplatform.data._catalog import filesystem
from mlplatform.data._errors import DataError, TableNotFoundError
from mlplatform.data._expr import (
    FilterLike,
    conjuncts,
    filter_columns,
    parse_filter,
    to_arrow_expression,
)
from mlplatform.data._plan import (
    AsOf,
    DataFile,
    ScanPlan,
    check_columns,
    column_names,
    remember_footer,
    with_byte_ranges,
)

__all__ = ["HiveTable"]

logger = logging.getLogger(__name__)


class HiveTable(TableSource):
    """A folder of Parquet files partitioned ``key=value/``, read like a table.

    It is a `TableSource`: ``exists``, ``schema``, ``partition_by``, ``plan``, ``files``,
    ``shards``, and it loads with `DataFrame.load`. Partition values come from the folder
    names; a filter on partition columns prunes folders. There are no snapshots, and
    nothing writes here: create an Iceberg `Table` to write.

    Make one with ``Table.from_path(path)``, or pass the path to `DataFrame.load`.
    """

    def __init__(self, path: str, *, settings: Settings | None = None) -> None:
        if not isinstance(path, str) or not path:
            raise DataError(f"a Hive table needs a folder path or URI, got {path!r}")
        super().__init__(path, settings=settings)
        self.table_name = path.rstrip("/").rsplit("/", 1)[-1]
        self._dataset: ds.FileSystemDataset | None = None
        self._fs, self._root = filesystem(path, settings)

    def __repr__(self) -> str:
        return f"Table.from_path({self.name!r})"

    def _ds(self) -> ds.FileSystemDataset:
        if self._dataset is None:
            if not self.exists():
                raise TableNotFoundError(
                    f"Hive table folder {self.name} does not exist or holds no Parquet files; "
                    "expected a folder of *.parquet files under key=value/ folders"
                )
            self._dataset = ds.dataset(
                self._root,
                filesystem=self._fs,
                format="parquet",
                partitioning="hive",
                exclude_invalid_files=False,
            )
        return self._dataset

    def exists(self) -> bool:
        """True when the folder exists."""
        info = self._fs.get_file_info(self._root)
        return info.type == pa.fs.FileType.Directory

    @property
    def schema(self) -> pa.Schema:
        """Columns of the files plus the partition columns from the folder names."""
        return self._ds().schema.remove_metadata()

    @property
    def partition_spec(self) -> list[tuple[str, str]]:
        """The ``key`` names of the ``key=value`` folders, as ``identity`` partitions."""
        partitioning = self._ds().partitioning
        names = list(partitioning.schema.names) if partitioning else []
        return [(name, "identity") for name in names]

    def snapshots(self) -> list[SnapshotInfo]:
        """A Hive folder has no snapshots."""
        return []

    @property
    def current_snapshot_id(self) -> int | None:
        """A Hive folder has no snapshots."""
        return None

    def plan(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002 - the contract's name
        snapshot_id: int | None = None,
        as_of: AsOf = None,
    ) -> ScanPlan:
        """Decide a read of the folder (see `TableSource.plan`); only the partition part of
        the filter prunes folders, the whole filter is applied to the rows."""
        if snapshot_id is not None or as_of is not None:
            raise DataError(f"{self.name} is a Hive folder: it has no snapshots to travel to")
        columns = column_names(columns)
        expr = parse_filter(filter)
        dataset = self._ds()
        schema = self.schema
        where = f"table {self.name}"
        check_columns(schema, sorted(filter_columns(expr)), "filter columns", where)
        if columns is not None:
            check_columns(schema, columns, "columns", where)
        partition_columns = set(self.partition_by)
        pruning = [c for c in conjuncts(expr) if filter_columns(c) <= partition_columns]
        arrow_filter = None
        for conjunct in pruning:
            part = to_arrow_expression(conjunct, dataset.schema)
            arrow_filter = part if arrow_filter is None else arrow_filter & part
        scheme = self.name.split("://", 1)[0] + "://" if self.name.startswith("s3") else ""
        files = []
        for fragment in dataset.get_fragments(filter=arrow_filter):
            footer = fragment.metadata
            data_file = DataFile(
                path=scheme + fragment.path,
                size_bytes=self._fs.get_file_info(fragment.path).size,
                record_count=footer.num_rows,
                partition=dict(ds.get_partition_keys(fragment.partition_expression)),
            )
            remember_footer(data_file, footer)  # read here anyway: projections need no reread
            files.append(data_file)
        files.sort(key=lambda f: f.path)
        plan = ScanPlan(
            self.name,
            tuple(files),
            schema,
            tuple(columns if columns is not None else schema.names),
            row_filter=expr,
        )
        return with_byte_ranges(plan, self.settings)
