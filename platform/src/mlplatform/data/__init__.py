"""Data layer ("Fast Data"): Iceberg tables, parallel in-memory DataFrames, atomic writes.

from mlplatform.data import DataFrame, Table

t = Table("kg.title_records").create(schema, partition_by=["kind"], exist_ok=True)
t.write(arrow_table)                                   # or writers + one commit
plan = t.plan(columns=["title", "year"], filter="year >= 2000")  # files, byte ranges
df = DataFrame.load(t, columns=["title", "year"], filter="year >= 2000")
shards = t.shards(n=8)                                 # a Metaflow foreach over files
"""

from mlplatform._loader import lazy_exports as _lazy_exports

_EXPORTS = {
    "mlplatform.data._backend": ["SnapshotInfo"],
    "mlplatform.data._catalog": ["list_tables"],
    "mlplatform.data._errors": [
        "CommitConflictError",
        "DataError",
        "SchemaMismatchError",
        "TableNotFoundError",
    ],
    "mlplatform.data._frame": ["DataFrame"],
    "mlplatform.data._hive": ["HiveTable"],
    "mlplatform.data._plan": ["DataFile", "ScanPlan", "Shard"],
    "mlplatform.data._seed": ["ensure_tables"],
    "mlplatform.data._settings": ["DataSettings"],
    "mlplatform.data._table": ["Table"],
    "mlplatform.data._write": ["GcResult", "TableWriter", "WriteManifest", "gc"],
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
