"""Write path: staged writers, one atomic commit, idempotency, conflicts, schema checks, gc."""

import json
import os
import pickle
from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from mlplatform.data import (
    CommitConflictError,
    DataError,
    DataFrame,
    SchemaMismatchError,
    Table,
    WriteManifest,
    gc,
)
from mlplatform.data._catalog import uri_to_path
from mlplatform.data._write import staging_root

SCHEMA = pa.schema(
    [
        pa.field("title_id", pa.int64(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("score", pa.float64()),
        pa.field("kind", pa.string()),
    ]
)


def batch(start, count, kind="movie"):
    ids = range(start, start + count)
    return pa.table(
        {
            "title_id": pa.array(ids, pa.int64()),
            "title": [f"title {i}" for i in ids],
            "score": [i / 10 for i in ids],
            "kind": [kind] * count,
        },
        schema=SCHEMA,
    )


@pytest.fixture
def table(mlp_home):
    return Table("kg.matches").create(SCHEMA, partition_by=["kind"])


def staged_files(settings):
    root = uri_to_path(staging_root(settings))
    return sorted(
        os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.endswith(".parquet")
    )


def content(frame):
    return frame.to_arrow().sort_by("title_id").to_pylist()


def test_several_writers_and_one_commit_round_trip(table):
    expected = []
    manifests = []
    for i in range(4):
        writer = table.writer()
        for j, kind in enumerate(["movie", "series"]):
            data = batch(i * 100 + j * 50, 50, kind)
            writer.write(data)
            expected.extend(data.to_pylist())
        manifests.append(writer.manifest())
    assert table.snapshots() == []  # nothing visible before the commit
    snapshot_id = table.commit(manifests)
    snapshots = table.snapshots()
    assert [s.snapshot_id for s in snapshots] == [snapshot_id]
    assert snapshots[0].operation == "append"
    assert snapshots[0].summary["added-records"] == "400"
    assert snapshots[0].summary["mlp.writers"] == "4"
    assert content(DataFrame.load(table)) == sorted(expected, key=lambda r: r["title_id"])


def test_committing_the_same_manifests_twice_adds_nothing(table):
    writers = [table.writer() for _ in range(2)]
    for i, writer in enumerate(writers):
        writer.write(batch(i * 10, 10))
    manifests = [w.manifest() for w in writers]
    first = table.commit(manifests)
    again = table.commit([WriteManifest.from_json(m.to_json()) for m in reversed(manifests)])
    assert again == first
    assert len(table.snapshots()) == 1
    assert len(DataFrame.load(table)) == 20
    with pytest.raises(DataError, match="already part of table"):
        table.commit(manifests[:1])  # a subset is another commit of the same files
    assert len(table.snapshots()) == 1


def test_files_of_failed_attempts_are_never_visible(table, mlp_settings):
    failed = table.writer()
    failed.write(batch(0, 10))  # an attempt that staged files, then died before its manifest
    retried = table.writer()
    retried.write(batch(0, 10))
    table.commit([retried.manifest()])
    assert len(staged_files(mlp_settings)) == 2
    visible = [f.path for f in table.files()]
    assert visible == [f.path for f in retried.files]
    assert failed.files[0].path not in visible
    assert len(DataFrame.load(table)) == 10


def test_schema_mismatch_names_the_columns_and_writes_nothing(table, mlp_settings):
    writer = table.writer()
    bad = pa.table(
        {
            "title_id": pa.array(["a", "b"]),
            "title": ["x", "y"],
            "kind": ["movie", "movie"],
            "genre": ["drama", "comedy"],
        }
    )
    with pytest.raises(SchemaMismatchError) as error:
        writer.write(bad)
    message = str(error.value)
    assert "missing columns ['score']" in message
    assert "unexpected columns ['genre']" in message
    assert "column 'title_id' has type string, expected int64" in message
    assert staged_files(mlp_settings) == []
    assert writer.manifest().files == ()
    with pytest.raises(SchemaMismatchError, match="'title_id' is required but has 1 null"):
        writer.write(batch(0, 2).set_column(0, "title_id", pa.array([1, None], pa.int64())))
    assert table.snapshots() == []


def test_duplicate_column_names_are_a_schema_mismatch(table, mlp_settings):
    columns = batch(0, 2)
    doubled = pa.Table.from_arrays(
        [*columns.columns, columns.column("title")], names=[*columns.column_names, "title"]
    )
    with pytest.raises(SchemaMismatchError, match=r"duplicate columns \['title'\]"):
        table.write(doubled)
    assert staged_files(mlp_settings) == []
    assert table.snapshots() == []


def test_lossless_type_differences_are_cast(table):
    data = pa.table(
        {
            "kind": pa.array(["movie"] * 3).dictionary_encode(),
            "title_id": pa.array([1, 2, 3], pa.int32()),
            "title": pa.array(["a", "b", "c"], pa.large_string()),
            "score": pa.array([1.5, 2.5, 3.5], pa.float32()),
        }
    )
    table.write(data)
    loaded = DataFrame.load(table).to_arrow()
    assert loaded.schema == SCHEMA
    assert loaded.sort_by("title_id").column("score").to_pylist() == [1.5, 2.5, 3.5]


def test_writes_pandas_polars_and_arrow_streams(table):
    writer = table.writer()
    writer.write(batch(0, 5).to_pandas())
    writer.write(pl.from_arrow(batch(5, 5)))
    writer.write(DataFrame(batch(10, 5)))  # any __arrow_c_stream__ object
    table.commit([writer.manifest()])
    assert sorted(DataFrame.load(table).to_arrow().column("title_id").to_pylist()) == list(
        range(15)
    )
    with pytest.raises(DataError, match="cannot write a list"):
        writer.write([1, 2, 3])


def test_partition_values_must_not_be_null(table):
    data = batch(0, 2).set_column(3, "kind", pa.array(["movie", None]))
    with pytest.raises(DataError, match=r"partition column 'kind' .* has 1 null"):
        table.writer().write(data)


def test_manifest_is_small_picklable_and_json(table):
    writer = table.writer()
    writer.write(batch(0, 10, "movie"))
    writer.write(batch(10, 10, "series"))
    manifest = writer.manifest()
    assert manifest.record_count == 20 and len(manifest.files) == 2
    assert pickle.loads(pickle.dumps(manifest)) == manifest
    assert WriteManifest.from_json(json.loads(manifest.to_json())) == manifest
    assert len(manifest.to_json()) < 2000
    with pytest.raises(DataError, match="not a write manifest"):
        WriteManifest.from_json('{"table": "kg.matches"}')


def test_overwrite_replaces_the_table_or_matching_partitions(table):
    table.write(batch(0, 10, "movie"))
    table.write(batch(10, 10, "series"))
    writer = table.writer()
    writer.write(batch(100, 3, "movie"))
    before = len(table.snapshots())
    table.commit([writer.manifest()], mode="overwrite", overwrite_filter="kind == 'movie'")
    assert len(table.snapshots()) == before + 1
    assert table.snapshots()[-1].operation == "overwrite"
    ids = sorted(DataFrame.load(table).to_arrow().column("title_id").to_pylist())
    assert ids == [*range(10, 20), 100, 101, 102]
    table.write(batch(500, 2, "short"), mode="overwrite")
    assert sorted(DataFrame.load(table).to_arrow().column("title_id").to_pylist()) == [500, 501]
    with pytest.raises(DataError, match="may only use partition columns"):
        table.commit([table.writer().manifest()], mode="overwrite", overwrite_filter="score > 1")


def test_commit_rejects_bad_input(table, mlp_settings):
    with pytest.raises(DataError, match="mode must be 'append' or 'overwrite'"):
        table.commit([], mode="upsert")
    other = Table("kg.other").create(SCHEMA)
    writer = other.writer()
    writer.write(batch(0, 1))
    with pytest.raises(DataError, match=r"written for table kg\.other, not kg\.matches"):
        table.commit([writer.manifest()])
    with pytest.raises(DataError, match="takes WriteManifest objects"):
        table.commit([42])
    assert table.commit([]) is None
    mine = table.writer()
    mine.write(batch(0, 1))
    os.remove(uri_to_path(mine.files[0].path))
    with pytest.raises(DataError, match="no longer exist"):
        table.commit([mine.manifest()])
    assert table.snapshots() == []


def _interpose_concurrent_commit(monkeypatch, mlp_settings, times):
    """Make the next ``times`` catalog commits lose a race against a real second writer."""
    original = SqlCatalog.commit_table
    state = {"left": times, "racing": False}

    def racing_commit(self, table, requirements, updates):
        if state["left"] > 0 and not state["racing"]:
            state["left"] -= 1
            state["racing"] = True
            try:
                rival = Table("kg.matches")  # a fresh handle: another process's view
                rival.write(batch(10_000 + state["left"] * 10, 10, "series"))
            finally:
                state["racing"] = False
        return original(self, table, requirements, updates)

    monkeypatch.setattr(SqlCatalog, "commit_table", racing_commit)


def test_concurrent_commit_is_retried(table, mlp_settings, monkeypatch):
    writer = table.writer()
    writer.write(batch(0, 10))
    manifest = writer.manifest()
    _interpose_concurrent_commit(monkeypatch, mlp_settings, times=1)
    snapshot_id = table.commit([manifest])
    snapshots = table.snapshots()
    assert len(snapshots) == 2  # the rival's snapshot and ours, made after a retry
    assert snapshots[-1].snapshot_id == snapshot_id
    assert snapshots[-1].parent_id == snapshots[0].snapshot_id
    assert len(DataFrame.load(table)) == 20


def test_commit_conflict_error_when_retries_run_out(mlp_home, mlp_settings, monkeypatch):
    table = Table("kg.matches").create(
        SCHEMA, partition_by=["kind"], properties={"commit.retry.num-retries": "1"}
    )
    writer = table.writer()
    writer.write(batch(0, 10))
    _interpose_concurrent_commit(monkeypatch, mlp_settings, times=5)
    with pytest.raises(CommitConflictError, match="Nothing was committed"):
        table.commit([writer.manifest()])
    assert all(s.summary["mlp.writers"] == "1" for s in table.snapshots())
    ours = {f.path for f in writer.files}
    assert not ours & {f.path for f in table.files()}
    assert all(os.path.exists(uri_to_path(p)) for p in ours)  # staged files intact
    monkeypatch.undo()
    assert table.commit([writer.manifest()]) == table.current_snapshot_id
    assert ours <= {f.path for f in table.files()}


def test_gc_removes_old_unreferenced_staged_files_only(table, mlp_settings):
    committed = table.writer()
    committed.write(batch(0, 10))
    table.commit([committed.manifest()])
    orphan = table.writer()
    orphan.write(batch(0, 10))
    orphan_path = uri_to_path(orphan.files[0].path)
    in_progress = orphan_path + ".inprogress"
    pq.write_table(batch(0, 1), in_progress)  # a writer that died mid-file
    assert gc(timedelta(hours=1), settings=mlp_settings).deleted == []  # too recent
    later = datetime.now(UTC) + timedelta(hours=2)
    dry = gc(timedelta(hours=1), settings=mlp_settings, dry_run=True, now=later)
    assert sorted(uri_to_path(p) for p in dry.deleted) == sorted([orphan_path, in_progress])
    assert os.path.exists(orphan_path)
    result = gc(timedelta(hours=1), settings=mlp_settings, now=later)
    assert result.referenced == 1 and len(result.deleted) == 2
    assert not os.path.exists(orphan_path) and not os.path.exists(in_progress)
    assert staged_files(mlp_settings) == [uri_to_path(committed.files[0].path)]
    assert len(DataFrame.load(table)) == 10


def test_gc_keeps_files_referenced_by_old_snapshots(table, mlp_settings):
    table.write(batch(0, 10))
    table.write(batch(100, 5), mode="overwrite")
    later = datetime.now(UTC) + timedelta(days=30)
    result = gc(timedelta(days=1), settings=mlp_settings, now=later)
    assert result.deleted == [] and result.referenced == 2
    first = table.snapshots()[0].snapshot_id
    assert len(DataFrame.load(table, snapshot_id=first)) == 10


def test_an_empty_overwrite_is_refused_unless_asked_for(table):
    table.write(batch(0, 10))
    before = table.current_snapshot_id
    with pytest.raises(DataError, match=r"would empty table kg\.matches.*allow_empty=True"):
        table.commit([], mode="overwrite")
    assert table.current_snapshot_id == before
    assert len(DataFrame.load(table)) == 10
    emptied = table.commit([], mode="overwrite", allow_empty=True)
    assert emptied == table.current_snapshot_id != before
    assert len(DataFrame.load(table)) == 0
    assert len(DataFrame.load(table, snapshot_id=before)) == 10
