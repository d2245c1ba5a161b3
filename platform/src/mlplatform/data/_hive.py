"""Legacy Hive-style tables: a folder of Parquet files partitioned ``key=value/``."""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
from pyiceberg.expressions import BooleanExpression

from mlplatform.config import Settings
from mlplatform.data._catalog import filesystem
from mlplatform.data._errors import DataError, TableNotFoundError
from mlplatform.data._expr import (
    FilterLike,
    conjuncts,
    filter_columns,
    parse_filter,
    to_arrow_expression,
)
from mlplatform.data._table import AsOf, DataFile, SnapshotInfo, Table

logger = logging.getLogger(__name__)


class HiveTable(Table):
    """A read-only table over a folder of Parquet files partitioned ``key=value/``.

    It has the reading half of `Table`'s API (``exists``, ``schema``, ``partition_by``,
    ``files``, ``shards``) and loads with `DataFrame.load`. Partition values come from the
    folder names; a filter on partition columns prunes folders. There are no snapshots.
    """

    def __init__(self, path: str, *, settings: Settings | None = None) -> None:
        if not isinstance(path, str) or not path:
            raise DataError(f"a Hive table needs a folder path or URI, got {path!r}")
        self.name = path
        self.namespace, self.table_name = "", path.rstrip("/").rsplit("/", 1)[-1]
        self._settings = settings
        self._iceberg = None
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

    def create(self, *args: Any, **kwargs: Any) -> Table:
        """Hive folders are read-only here."""
        raise DataError(
            f"{self.name} is a Hive folder, which this layer only reads; create an Iceberg "
            "table with Table('namespace.name').create(schema) and write to it instead"
        )

    def writer(self) -> Any:
        """Hive folders are read-only here."""
        return self.create()

    def commit(self, *args: Any, **kwargs: Any) -> int | None:
        """Hive folders are read-only here."""
        self.create()
        return None

    @property
    def schema(self) -> pa.Schema:
        """Columns of the files plus the partition columns from the folder names."""
        return self._ds().schema.remove_metadata()

    @property
    def partition_by(self) -> list[str]:
        """The ``key`` names of the ``key=value`` folders."""
        partitioning = self._ds().partitioning
        return list(partitioning.schema.names) if partitioning else []

    @property
    def partition_spec(self) -> list[tuple[str, str]]:
        """Partition columns with the ``identity`` transform (folder names)."""
        return [(name, "identity") for name in self.partition_by]

    def snapshots(self) -> list[SnapshotInfo]:
        """A Hive folder has no snapshots."""
        return []

    @property
    def current_snapshot_id(self) -> int | None:
        """A Hive folder has no snapshots."""
        return None

    def _plan(
        self, row_filter: FilterLike, snapshot_id: int | None, as_of: AsOf
    ) -> tuple[list[DataFile], bool, int | None, BooleanExpression]:
        if snapshot_id is not None or as_of is not None:
            raise DataError(f"{self.name} is a Hive folder: it has no snapshots to travel to")
        expr = parse_filter(row_filter)
        dataset = self._ds()
        self._check_columns(sorted(filter_columns(expr)), "filter columns")
        partition_columns = set(self.partition_by)
        # Only the partition part of a filter can prune folders; the rest is applied to rows.
        pruning = [c for c in conjuncts(expr) if filter_columns(c) <= partition_columns]
        arrow_filter = None
        for conjunct in pruning:
            part = to_arrow_expression(conjunct, dataset.schema)
            arrow_filter = part if arrow_filter is None else arrow_filter & part
        scheme = self.name.split("://", 1)[0] + "://" if self.name.startswith("s3") else ""
        files = []
        for fragment in dataset.get_fragments(filter=arrow_filter):
            partition = ds.get_partition_keys(fragment.partition_expression)
            metadata = fragment.metadata
            files.append(
                DataFile(
                    path=scheme + fragment.path,
                    size_bytes=self._fs.get_file_info(fragment.path).size,
                    record_count=metadata.num_rows,
                    partition=dict(partition),
                )
            )
        files.sort(key=lambda f: f.path)
        return files, False, None, expr
