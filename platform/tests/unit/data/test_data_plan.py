"""`Table.plan`: what a read will do before it fetches anything, and projection pushdown."""

from __future__ import annotations

import os
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.expressions import GreaterThanOrEqual

from mlplatform.data import DataError, DataFrame, ScanPlan, Table
from mlplatform.data._catalog import uri_to_path

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("payload", pa.binary()),
        pa.field("year", pa.int32()),
    ]
)


def batch(start: int, count: int) -> pa.Table:
    rng = np.random.default_rng(start)
    return pa.table(
        {
            "id": pa.array(range(start, start + count), pa.int64()),
            # incompressible, so the payload column is most of every file
            "payload": [rng.bytes(2000) for _ in range(count)],
            "year": pa.array([1990 + i % 30 for i in range(count)], pa.int32()),
        },
        schema=SCHEMA,
    )


@pytest.fixture
def table(mlp_home):
    t = Table("media.blobs").create(SCHEMA)
    t.write(batch(0, 300))
    t.write(batch(300, 300))
    return t


def test_plan_says_what_the_read_will_do(table):
    plan = table.plan(columns=["year", "id"], filter="id >= 450")
    assert isinstance(plan, ScanPlan)
    assert plan.table == "media.blobs"
    assert plan.snapshot_id == table.current_snapshot_id
    assert [f.record_count for f in plan.files] == [300]  # min/max pruning dropped one file
    assert plan.schema == SCHEMA
    assert plan.columns == ("year", "id")
    assert plan.row_filter == GreaterThanOrEqual("id", 450)
    assert not plan.needs_pyiceberg and not plan.time_travel
    frame = DataFrame.load(table, columns=["year", "id"], filter="id >= 450")
    assert table.read(plan).equals(frame.to_arrow())
    assert frame.to_arrow().column("id").to_pylist() == list(range(450, 600))


def test_plan_of_an_empty_table_and_of_a_past_snapshot(mlp_home):
    empty = Table("media.empty").create(SCHEMA)
    plan = empty.plan(columns=["id"])
    assert plan.files == () and plan.snapshot_id is None
    assert empty.read(plan).schema == pa.schema([SCHEMA.field("id")])
    first = empty.write(batch(0, 10))
    empty.write(batch(10, 10))
    past = empty.plan(snapshot_id=first)
    assert past.time_travel and past.snapshot_id == first and len(past.files) == 1


def test_a_projection_fetches_only_the_byte_ranges_of_its_columns(table):
    files = table.files()
    plan = table.plan(columns=["id", "year"])
    assert set(plan.byte_ranges) == {f.path for f in files}
    whole = sum(f.size_bytes for f in files)
    assert plan.fetch_bytes < whole / 20  # the payload chunks are not fetched
    assert table.plan().byte_ranges == {}  # all columns: whole files, one read each
    # Proof that the payload bytes are never read: spoil them on disk.
    for data_file in files:
        path = uri_to_path(data_file.path)
        metadata = pq.read_metadata(path)
        with open(path, "r+b") as handle:
            for group in range(metadata.num_row_groups):
                chunk = metadata.row_group(group).column(1)  # payload
                assert chunk.path_in_schema == "payload"
                handle.seek(
                    min(o for o in (chunk.dictionary_page_offset, chunk.data_page_offset) if o)
                )
                handle.write(b"\xff" * chunk.total_compressed_size)
    loaded = DataFrame.load(table, columns=["id", "year"]).to_arrow().sort_by("id")
    assert loaded.column("id").to_pylist() == list(range(600))
    assert loaded.column("year").to_pylist()[:3] == [1990, 1991, 1992]
    with pytest.raises(Exception):  # noqa: B017 - the decoder's own error for spoiled bytes
        DataFrame.load(table, columns=["payload"])


def test_a_filter_column_is_fetched_even_when_not_returned(table):
    plan = table.plan(columns=["id"], filter="year == 1995")
    assert plan.read_columns == ["id", "year"]
    ids = DataFrame.load(table, columns=["id"], filter="year == 1995").to_arrow()["id"]
    assert sorted(ids.to_pylist()) == [i for i in range(600) if 1990 + i % 30 == 1995]


def test_projections_of_every_column_type_match_pyarrow(tmp_path, mlp_home):
    data = pa.table(
        {
            "id": pa.array(range(40), pa.int64()),
            "tags": [[f"t{i}", None] if i % 3 else None for i in range(40)],
            "point": [{"x": i, "y": float(i) / 2} if i % 4 else None for i in range(40)],
            "a.b": [f"dotted {i}" for i in range(40)],  # a dot in a name, next to a struct
            "a": [{"b": i} for i in range(40)],
            "price": pa.array([Decimal(i) / 4 for i in range(40)], pa.decimal128(10, 2)),
            "kind": pa.array(["x", "y"] * 20).dictionary_encode(),
            "at": pa.array(range(40), pa.timestamp("ms", tz="UTC")),
            "lookup": pa.array(
                [[(f"k{i}", i)] for i in range(40)], pa.map_(pa.string(), pa.int64())
            ),
        }
    )
    for page_index in (False, True):
        path = tmp_path / f"types-{page_index}.parquet"
        pq.write_table(data, path, row_group_size=7, write_page_index=page_index)
        for column in data.column_names:
            loaded = DataFrame.load([str(path)], columns=[column]).to_arrow()
            assert loaded.equals(pq.read_table(path, columns=[column])), (column, page_index)
        pair = DataFrame.load([str(path)], columns=["a", "id"], filter="id >= 30").to_arrow()
        assert pair.column("a").to_pylist() == [{"b": i} for i in range(30, 40)]


def test_shards_and_file_lists_are_planned_with_byte_ranges_too(table):
    shard = table.shards(n=1)[0]
    expected = sorted(range(600))
    by_shard = DataFrame.load(shard, columns=["id"]).to_arrow()["id"].to_pylist()
    by_paths = DataFrame.load([f.path for f in shard.files], columns=["id"]).to_arrow()
    assert sorted(by_shard) == expected == sorted(by_paths["id"].to_pylist())


def test_a_file_that_changed_under_the_plan_is_one_clear_error(table):
    path = uri_to_path(table.files()[0].path)
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)
    with pytest.raises(DataError, match=r"shorter than the \d+ bytes the table.s metadata"):
        DataFrame.load(table)
