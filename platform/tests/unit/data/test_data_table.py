"""Table: create, schema, snapshots and time travel, pruning, shards, clear errors."""

import pickle
import time

import pyarrow as pa
import pytest

from mlplatform.data import DataError, DataFile, DataFrame, Shard, Table, TableNotFoundError
from mlplatform.data._plan import split_files

SCHEMA = pa.schema(
    [
        pa.field("title_id", pa.int64(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("year", pa.int32()),
        pa.field("kind", pa.string()),
    ]
)


def rows(start, count, kind):
    return pa.table(
        {
            "title_id": pa.array(range(start, start + count), pa.int64()),
            "title": [f"title {i}" for i in range(start, start + count)],
            "year": pa.array([1950 + i % 70 for i in range(start, start + count)], pa.int32()),
            "kind": [kind] * count,
        },
        schema=SCHEMA,
    )


@pytest.fixture
def titles(mlp_home):
    table = Table("kg.titles").create(SCHEMA, partition_by=["kind"])
    return table


def test_create_makes_namespace_schema_and_partition_spec(titles):
    assert titles.exists()
    assert titles.schema == SCHEMA
    assert titles.partition_by == ["kind"]
    assert titles.partition_spec == [("kind", "identity")]
    assert titles.current_snapshot_id is None
    assert titles.snapshots() == []
    assert titles.files() == []
    assert titles.shards() == []


def test_create_existing_table(titles):
    with pytest.raises(DataError, match="already exists; pass exist_ok=True"):
        Table("kg.titles").create(SCHEMA)
    assert Table("kg.titles").create(SCHEMA, exist_ok=True).schema == SCHEMA
    other = pa.schema([("title_id", pa.int64()), ("name", pa.string())])
    with pytest.raises(DataError, match="exists with columns"):
        Table("kg.titles").create(other, exist_ok=True)


def test_create_exist_ok_accepts_types_iceberg_widens(mlp_home):
    narrow = pa.schema([("code", pa.int8()), ("score", pa.float16()), ("label", pa.string_view())])
    table = Table("kg.codes").create(narrow)
    wide = pa.schema([("code", pa.int32()), ("score", pa.float32()), ("label", pa.string())])
    assert table.schema == wide
    assert Table("kg.codes").create(narrow, exist_ok=True).schema == wide
    with pytest.raises(DataError, match="exists with columns"):
        Table("kg.codes").create(pa.schema([("code", pa.int64())]), exist_ok=True)


@pytest.mark.parametrize("name", ["titles", "kg.", ".titles", "kg.ti-tles", "kg titles", ""])
def test_invalid_table_names(mlp_home, name):
    with pytest.raises(DataError, match=r"expected 'namespace\.name'"):
        Table(name)


def test_create_with_unknown_partition_column(mlp_home):
    with pytest.raises(DataError, match="partition column 'genre' is not in the schema"):
        Table("kg.titles").create(SCHEMA, partition_by=["genre"])
    assert not Table("kg.titles").exists()


def test_missing_table_lists_closest_names(titles):
    Table("kg.title_records").create(SCHEMA)
    missing = Table("kg.title_recods")
    assert not missing.exists()
    with pytest.raises(TableNotFoundError, match=r"closest existing names: kg\.title_records"):
        _ = missing.schema
    with pytest.raises(TableNotFoundError, match="does not exist"):
        DataFrame.load("kg.nothing_like_it")


def test_partition_pruning_touches_only_matching_files(titles):
    for kind in ["movie", "series", "short"]:
        titles.write(rows(0, 100, kind))
    assert len(titles.files()) == 3
    movie_files = titles.files(filter="kind == 'movie'")
    assert len(movie_files) == 1
    assert movie_files[0].partition == {"kind": "movie"}
    assert movie_files[0].record_count == 100
    assert len(titles.files(filter="kind in ('movie', 'short')")) == 2


def test_min_max_statistics_pruning(mlp_home):
    table = Table("kg.plain").create(SCHEMA)
    table.write(rows(0, 50, "movie"))  # title_id 0..49
    table.write(rows(1000, 50, "movie"))  # title_id 1000..1049
    assert len(table.files()) == 2
    assert len(table.files(filter="title_id >= 1000")) == 1
    assert len(table.files(filter="title_id > 5000")) == 0
    frame = DataFrame.load(table, filter="title_id >= 1040")
    assert sorted(frame.to_arrow().column("title_id").to_pylist()) == list(range(1040, 1050))


def test_files_checks_columns_and_filter_columns(titles):
    with pytest.raises(DataError, match=r"columns \['genre'\] not in table kg.titles"):
        titles.files(columns=["genre"])
    with pytest.raises(DataError, match="filter columns"):
        titles.files(filter="genre == 'x'")


def test_time_travel_by_snapshot_id_and_time(titles):
    first = titles.write(rows(0, 10, "movie"))
    time.sleep(0.01)
    between = int(time.time() * 1000)
    time.sleep(0.01)
    second = titles.write(rows(10, 5, "movie"))
    assert [s.snapshot_id for s in titles.snapshots()] == [first, second]
    assert titles.current_snapshot_id == second
    assert len(DataFrame.load(titles)) == 15
    assert len(DataFrame.load(titles, snapshot_id=first)) == 10
    assert len(DataFrame.load(titles, as_of=between)) == 10
    assert len(titles.files(snapshot_id=first)) == 1
    assert titles.snapshot_id_as_of(between) == first
    with pytest.raises(DataError, match="has no snapshot 12345"):
        DataFrame.load(titles, snapshot_id=12345)
    with pytest.raises(DataError, match="had no snapshot at"):
        titles.snapshot_id_as_of(1)
    with pytest.raises(DataError, match="not both"):
        DataFrame.load(titles, snapshot_id=first, as_of=between)


def _files(sizes):
    return [DataFile(path=f"f{i:02d}", size_bytes=s, record_count=1) for i, s in enumerate(sizes)]


def test_split_files_is_balanced_deterministic_and_never_empty():
    files = _files([100, 90, 80, 70, 60, 50, 40, 30, 20, 10])
    groups = split_files(files, n=3)
    assert len(groups) == 3
    assert all(groups)
    sizes = sorted(sum(f.size_bytes for f in g) for g in groups)
    assert sizes[-1] - sizes[0] <= 20  # greedy largest-first balance
    assert sorted(f.path for g in groups for f in g) == sorted(f.path for f in files)
    assert split_files(list(reversed(files)), n=3) == groups  # input order does not matter
    assert len(split_files(files, n=50)) == 10  # never an empty shard
    assert len(split_files(files, target_bytes=200)) == 3  # ceil(550 / 200)
    assert split_files([], n=4) == []
    with pytest.raises(DataError, match=r"shards\(n=0\): n must be a whole number of shards"):
        split_files(files, n=0)
    with pytest.raises(DataError, match="target_bytes must be a whole number of bytes"):
        split_files(files, target_bytes=0)


def test_shards_cover_the_table_and_pickle(titles):
    for i, kind in enumerate(["movie", "series", "short", "special"]):
        titles.write(rows(i * 100, 100, kind))
    shards = titles.shards(n=3)
    assert [s.index for s in shards] == [0, 1, 2]
    assert all(s.count == 3 and s.files for s in shards)
    assert titles.shards(n=3) == shards
    restored = pickle.loads(pickle.dumps(shards[0]))
    assert isinstance(restored, Shard) and restored == shards[0]
    assert restored.size_bytes == sum(f.size_bytes for f in restored.files)
    loaded = [DataFrame.load(s).to_arrow() for s in shards]
    ids = sorted(i for t in loaded for i in t.column("title_id").to_pylist())
    assert ids == list(range(400))
    movie_shards = titles.shards(filter="kind == 'movie'")
    assert len(movie_shards) == 1 and len(movie_shards[0].files) == 1


def test_table_pickles_by_name(titles):
    restored = pickle.loads(pickle.dumps(titles))
    assert restored == titles and restored.schema == SCHEMA


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n": 2.5}, r"shards\(n=2.5\): n must be a whole number of shards, 1 or more"),
        ({"n": "2"}, r"shards\(n='2'\): n must be a whole number of shards, 1 or more"),
        ({"target_bytes": 1.5}, r"target_bytes must be a whole number of bytes, 1 or more"),
    ],
)
def test_shard_counts_that_are_not_whole_numbers_are_one_clear_error(titles, arguments, message):
    titles.write(rows(0, 10, "movie"))
    with pytest.raises(DataError, match=message):
        titles.shards(**arguments)
