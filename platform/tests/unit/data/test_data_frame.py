"""DataFrame: sources, projection and filters, zero-copy conversions, PyCapsule, Hive folders."""

import re
import threading

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual

from mlplatform.data import DataError, DataFrame, Table, TableNotFoundError, _read

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("year", pa.int32())])


def sample(n=1000, start=0):
    ids = np.arange(start, start + n, dtype=np.int64)
    return pa.table(
        {
            "id": ids,
            "name": [f"name {i}" for i in ids],
            "year": pa.array((1950 + ids % 70).astype(np.int32)),
        },
        schema=SCHEMA,
    )


@pytest.fixture
def table(mlp_home):
    t = Table("media.titles").create(SCHEMA)
    t.write(sample(1000))
    t.write(sample(500, start=1000))
    return t


def test_load_sources_agree(table):
    by_table = DataFrame.load(table).to_arrow().sort_by("id")
    assert by_table == sample(1500)
    assert DataFrame.load("media.titles").to_arrow().sort_by("id") == by_table
    files = table.files()
    assert DataFrame.load(files).to_arrow().sort_by("id") == by_table
    assert DataFrame.load([f.path for f in files]).to_arrow().sort_by("id") == by_table
    shard = table.shards(n=1)[0]
    assert DataFrame.load(shard).to_arrow().sort_by("id") == by_table


def test_columns_and_filters(table):
    frame = DataFrame.load(table, columns=["name", "id"], filter="year >= 2015 and id < 100")
    assert frame.columns == ["name", "id"]
    expected = [i for i in range(100) if 1950 + i % 70 >= 2015]
    assert sorted(frame.to_arrow().column("id").to_pylist()) == expected
    expression = And(GreaterThanOrEqual("year", 2015), EqualTo("name", "name 66"))
    assert DataFrame.load(table, filter=expression).to_arrow().column("id").to_pylist() == [66]
    assert len(DataFrame.load(table, filter="id in (3, 4, 1200)")) == 3
    assert len(DataFrame.load(table, filter="not (id >= 10)")) == 10
    assert len(DataFrame.load(table, filter="name like 'name 14%'")) == 111
    assert len(DataFrame.load(table, filter="year > 3000")) == 0
    assert DataFrame.load(table, filter="year > 3000").schema == SCHEMA


def test_limit_reads_only_the_first_rows(table, monkeypatch):
    read = []
    original = _read.read_files
    monkeypatch.setattr(
        _read, "read_files", lambda files, *args: read.extend(files) or original(files, *args)
    )
    ids = DataFrame.load(table, columns=["id"], filter="id >= 10", limit=5).to_arrow()["id"]
    assert len(ids) == 5 and min(ids.to_pylist()) >= 10
    assert len(read) == 1  # the first file had enough rows
    assert len(DataFrame.load(table.shards(n=1)[0], limit=1200)) == 1200
    assert len(DataFrame.load(table, limit=0)) == 0
    assert len(DataFrame.load(table, limit=10_000)) == 1500
    with pytest.raises(DataError, match=r"limit must be a whole number of rows \(0 or more\)"):
        DataFrame.load(table, limit=-1)


def test_evolved_schema_is_read_by_field_id(table):
    before = table.current_snapshot_id
    table.catalog.load_table("media.titles").update_schema().rename_column("name", "title").commit()
    table.write(sample(10, start=2000).rename_columns(["id", "title", "year"]))
    loaded = DataFrame.load(table, columns=["id", "title"]).to_arrow().sort_by("id")
    assert loaded.column("title").to_pylist()[:2] == ["name 0", "name 1"]  # older files
    assert loaded.num_rows == 1510 and loaded.column("title").null_count == 0
    assert len(DataFrame.load(table, columns=["title"], limit=3)) == 3
    # time travel reads with the schema of its snapshot
    assert DataFrame.load(table, snapshot_id=before).columns == ["id", "name", "year"]


def test_bad_input_errors(table):
    with pytest.raises(DataError, match="cannot parse filter 'year >>= 2' at character"):
        DataFrame.load(table, filter="year >>= 2")
    with pytest.raises(DataError, match=r"columns \['nope'\] not in table"):
        DataFrame.load(table, columns=["nope"])
    with pytest.raises(DataError, match="filter must be a string"):
        DataFrame.load(table, filter=42)
    with pytest.raises(DataError, match="empty file list"):
        DataFrame.load([])
    with pytest.raises(DataError, match="got int"):
        DataFrame.load(7)
    with pytest.raises(DataError, match="is not a file"):
        DataFrame.load(["/does/not/exist.parquet"])
    with pytest.raises(DataError, match=r"does not fit the columns of media\.titles"):
        DataFrame.load(table, filter="year == 'abc'")
    with pytest.raises(DataError, match="cannot be compared"):
        DataFrame.load(table.files(), filter="year == 'abc'")
    with pytest.raises(TableNotFoundError):
        DataFrame.load("media.missing")
    with pytest.raises(DataError, match="dtype_backend"):
        DataFrame.load(table).to_pandas(dtype_backend="cudf")


def _address(array):
    return array.buffers()[1].address + array.offset * array.type.bit_width // 8


def test_pandas_shares_buffers_with_arrow(table):
    frame = DataFrame.load(table)
    arrow = frame.to_arrow()
    pdf = frame.to_pandas()
    assert isinstance(pdf["id"].dtype, pd.ArrowDtype)
    for column in ("id", "year"):
        backing = pdf[column].array._pa_array  # pandas' ArrowExtensionArray keeps the chunks
        assert [_address(c) for c in backing.chunks] == [
            _address(c) for c in arrow.column(column).chunks
        ]
    name_chunks = pdf["name"].array._pa_array.chunks
    assert name_chunks[0].buffers()[2].address == arrow.column("name").chunk(0).buffers()[2].address
    numpy_frame = frame.to_pandas(dtype_backend="numpy")
    assert numpy_frame["id"].dtype == np.int64
    assert sorted(numpy_frame["id"]) == list(range(1500))


def test_polars_shares_numeric_buffers_with_arrow(mlp_home):
    t = Table("media.one").create(SCHEMA)
    t.write(sample(1000))
    frame = DataFrame.load(t)
    arrow = frame.to_arrow()
    assert arrow.column("id").num_chunks == 1
    pdf = frame.to_polars()
    assert pdf["id"].n_chunks() == 1
    view = pdf["id"].to_numpy()  # a view for numeric data without nulls
    assert view.__array_interface__["data"][0] == _address(arrow.column("id").chunk(0))
    assert pdf.sort("id")["name"].to_list()[:2] == ["name 0", "name 1"]


def test_pycapsule_consumers_read_a_dataframe(table):
    frame = DataFrame.load(table, filter="id < 10")
    assert duckdb.sql("select sum(id) as s from frame").fetchall() == [(45,)]
    assert pl.DataFrame(frame).sort("id")["id"].to_list() == list(range(10))
    stream = pa.RecordBatchReader.from_stream(frame)
    assert stream.read_all().num_rows == 10


def test_bytes_in_flight_stay_under_the_budget(mlp_home, monkeypatch):
    monkeypatch.setenv("MLP_DATA__MAX_BYTES_IN_FLIGHT", "1")  # one file at a time
    monkeypatch.setenv("MLP_DATA__READ_THREADS", "4")
    t = Table("media.many").create(SCHEMA)
    for i in range(6):
        t.write(sample(100, start=i * 100))
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()
    original_fetch, original_decode = _read.fetch, _read._decode

    def fetch(*args):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        return original_fetch(*args)

    def decode(*args):
        try:
            return original_decode(*args)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(_read, "fetch", fetch)
    monkeypatch.setattr(_read, "_decode", decode)
    assert len(DataFrame.load(t)) == 600
    assert state["peak"] == 1


def test_hive_folder_is_read_with_partition_pruning(tmp_path, mlp_home):
    root = tmp_path / "legacy"
    for kind in ["movie", "series"]:
        for year in [2020, 2021]:
            folder = root / f"kind={kind}" / f"year={year}"
            folder.mkdir(parents=True)
            data = pa.table({"id": [year * 10, year * 10 + 1], "name": [kind, kind]})
            pq.write_table(data, folder / "part-0.parquet")
    hive = Table.from_path(str(root))
    assert hive.exists()
    assert hive.partition_by == ["kind", "year"]
    assert hive.schema.names == ["id", "name", "kind", "year"]
    assert len(hive.files()) == 4
    pruned = hive.files(filter="kind == 'movie' and year >= 2021 and id > 0")
    assert [f.partition for f in pruned] == [{"kind": "movie", "year": 2021}]
    frame = DataFrame.load(hive, filter="kind == 'series' and id > 20200")
    assert frame.to_arrow().to_pylist() == [
        {"id": 20201, "name": "series", "kind": "series", "year": 2020},
        {"id": 20210, "name": "series", "kind": "series", "year": 2021},
        {"id": 20211, "name": "series", "kind": "series", "year": 2021},
    ]
    by_path = DataFrame.load(str(root), columns=["year", "id"])
    assert by_path.columns == ["year", "id"] and len(by_path) == 8
    shard_rows = sum(len(DataFrame.load(s)) for s in hive.shards(n=3))
    assert shard_rows == 8
    assert not hasattr(hive, "writer") and not hasattr(hive, "commit")  # read only
    with pytest.raises(TableNotFoundError, match="does not exist"):
        _ = Table.from_path(str(tmp_path / "nowhere")).schema


def test_both_decoders_return_exactly_what_pyarrow_reads(tmp_path, mlp_home):
    # Polars decodes the common types; a decimal column sends the file to pyarrow's reader.
    common = pa.table(
        {
            "id": pa.array([1, 2, None, 4], pa.int64()),
            "small": pa.array([1, None, 3, 4], pa.int8()),
            "score": [0.5, None, 1.5, float("inf")],
            "flag": [True, False, None, True],
            "title": ["Amélie", None, "", "Home"],
            "blob": [b"\x00", None, b"", b"ab"],
            "day": pa.array([0, 1, None, 19000], pa.date32()),
            "at": pa.array([0, None, 2, 3], pa.timestamp("us", tz="UTC")),
            "cast": [["a", None], None, [], ["b"]],
        }
    )
    with_decimal = common.append_column("price", pa.array([1, 2, 3, None], pa.decimal128(10, 2)))
    for name, data in [("common", common), ("decimal", with_decimal)]:
        path = tmp_path / f"{name}.parquet"
        pq.write_table(data, path, row_group_size=2)
        loaded = DataFrame.load([str(path)]).to_arrow()
        assert loaded.equals(pq.read_table(path)), name
        assert loaded.schema == data.schema, name
    assert _read._polars_round_trips(common.schema.field("cast").type)
    assert not _read._polars_round_trips(with_decimal.schema.field("price").type)


@pytest.mark.parametrize(
    ("limit", "found"), [(2.5, "2.5 (float)"), ("3", "'3' (str)"), (True, "True (bool)")]
)
def test_a_limit_that_is_not_a_whole_number_is_one_clear_error(table, limit, found):
    expected = rf"limit must be a whole number of rows .*got {re.escape(found)}"
    with pytest.raises(DataError, match=expected):
        DataFrame.load(table, limit=limit)


def test_columns_as_one_string_is_refused_not_split_into_letters(table):
    with pytest.raises(DataError, match=r"columns must be a list of names.*\['name'\]"):
        DataFrame.load(table, columns="name")
    with pytest.raises(DataError, match=r"columns must be a list of names"):
        DataFrame.load(table.files(), columns="name")
    with pytest.raises(DataError, match=r"columns must be a list of names"):
        table.files(columns="name")


@pytest.mark.parametrize(
    ("text", "position", "rest"),
    [
        ("year >>= 2", 6, "'>= 2'"),
        ("year >= 2000 kind", 13, "'kind'"),
        ("id in (1, 2", 11, "the end"),
        ("year >= 2000 and name == ", 25, "the end"),
    ],
)
def test_filter_errors_report_where_the_filter_goes_wrong(table, text, position, rest):
    with pytest.raises(DataError, match=rf"at character {position} \(at {rest}\)"):
        DataFrame.load(table, filter=text)
