"""One suite for every table source: an Iceberg table and a Hive folder holding the same rows.

Both are `TableSource`s; whatever reads a table (``DataFrame.load``, ``plan``, ``files``,
``shards``) must give the same answers for both.
"""

from __future__ import annotations

import pickle

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlplatform.data import DataFrame, HiveTable, ScanPlan, Table, TableNotFoundError
from mlplatform.data._backend import SOURCES, TableSource, open_source

SCHEMA = pa.schema([("id", pa.int64()), ("title", pa.string()), ("score", pa.float64())])
KINDS = ["movie", "series"]


def rows(kind: str, start: int, count: int) -> pa.Table:
    ids = list(range(start, start + count))
    return pa.table(
        {"id": ids, "title": [f"{kind} {i}" for i in ids], "score": [i / 4 for i in ids]},
        schema=SCHEMA,
    )


def expected_rows() -> list[dict]:
    found = []
    for number, kind in enumerate(KINDS):
        for part in range(2):
            start = number * 1000 + part * 100
            found.extend({**r, "kind": kind} for r in rows(kind, start, 100).to_pylist())
    return sorted(found, key=lambda r: r["id"])


@pytest.fixture(params=["iceberg", "hive"])
def source(request, mlp_home, tmp_path) -> TableSource:
    if request.param == "iceberg":
        table = Table("kg.contract").create(
            SCHEMA.append(pa.field("kind", pa.string())), partition_by=["kind"]
        )
        for number, kind in enumerate(KINDS):
            for part in range(2):
                data = rows(kind, number * 1000 + part * 100, 100)
                table.write(data.append_column("kind", pa.array([kind] * 100)))
        return table
    root = tmp_path / "hive"
    for number, kind in enumerate(KINDS):
        folder = root / f"kind={kind}"
        folder.mkdir(parents=True)
        for part in range(2):
            pq.write_table(rows(kind, number * 1000 + part * 100, 100), folder / f"{part}.parquet")
    return Table.from_path(str(root))


def test_sources_are_named_in_one_table():
    assert set(SOURCES) == {"iceberg", "hive"}
    assert isinstance(open_source("kg.anything"), Table)
    assert isinstance(open_source("/some/folder"), HiveTable)


def test_describes_itself(source):
    assert source.exists()
    assert source.schema.names == ["id", "title", "score", "kind"]
    assert source.partition_by == ["kind"]
    assert source.partition_spec == [("kind", "identity")]
    assert pickle.loads(pickle.dumps(source)) == source


def test_loads_every_row(source):
    loaded = DataFrame.load(source).to_arrow().to_pylist()
    assert sorted(loaded, key=lambda r: r["id"]) == expected_rows()


def test_plans_a_pruned_projection(source):
    plan = source.plan(columns=["title", "id"], filter="kind == 'series' and id >= 1150")
    assert isinstance(plan, ScanPlan)
    assert 1 <= len(plan.files) <= 2  # the movie folder is pruned (Iceberg: min/max too)
    assert all(f.partition == {"kind": "series"} for f in plan.files)
    assert plan.columns == ("title", "id")
    assert plan.output_schema.names == ["title", "id"]
    assert plan.read_columns == ["title", "id", "kind"]  # kind only for the row filter
    assert not plan.needs_pyiceberg
    assert set(plan.byte_ranges) == {f.path for f in plan.files}
    assert plan.fetch_bytes < sum(f.size_bytes for f in plan.files)
    loaded = source.read(plan).to_pylist()
    assert loaded == [{"title": f"series {i}", "id": i} for i in range(1150, 1200)]


def test_files_and_shards_cover_the_source(source):
    files = source.files()
    assert len(files) == 4 and sum(f.record_count for f in files) == 400
    shards = source.shards(n=3)
    assert [s.index for s in shards] == [0, 1, 2]
    assert sorted(f.path for s in shards for f in s.files) == sorted(f.path for f in files)
    ids = sorted(
        i for s in shards for i in DataFrame.load(s, columns=["id"]).to_arrow()["id"].to_pylist()
    )
    assert ids == [r["id"] for r in expected_rows()]


def test_limit_and_empty_filter_results(source):
    assert len(DataFrame.load(source, limit=150)) == 150
    empty = DataFrame.load(source, columns=["score"], filter="id < 0")
    assert empty.num_rows == 0 and empty.schema == pa.schema([("score", pa.float64())])


def test_a_missing_source_is_table_not_found(mlp_home, tmp_path):
    for missing in (Table("kg.nothing"), Table.from_path(str(tmp_path / "nothing"))):
        assert not missing.exists()
        with pytest.raises(TableNotFoundError):
            missing.plan()
