"""Data layer ("Fast Data"): Iceberg tables, parallel in-memory DataFrames, atomic writes.

from mlplatform.data import DataFrame, Table

t = Table("kg.title_records").create(schema, partition_by=["kind"], exist_ok=True)
t.write(arrow_table)                                   # or writers + one commit
df = DataFrame.load(t, columns=["title", "year"], filter="year >= 2000")
shards = t.shards(n=8)                                 # a Metaflow foreach over files
"""

from mlplatform.data._errors import (
    CommitConflictError,
    DataError,
    SchemaMismatchError,
    TableNotFoundError,
)
from mlplatform.data._frame import DataFrame
from mlplatform.data._hive import HiveTable
from mlplatform.data._table import DataFile, Shard, SnapshotInfo, Table, list_tables
from mlplatform.data._write import GcResult, StagedFile, TableWriter, WriteManifest, gc

__all__ = [
    "CommitConflictError",
    "DataError",
    "DataFile",
    "DataFrame",
    "GcResult",
    "HiveTable",
    "SchemaMismatchError",
    "Shard",
    "SnapshotInfo",
    "StagedFile",
    "Table",
    "TableNotFoundError",
    "TableWriter",
    "WriteManifest",
    "gc",
    "list_tables",
]
