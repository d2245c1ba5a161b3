"""`mlp data ls|show|head|gc` through click's test runner."""

import json
import os
from datetime import timedelta

import click
import pyarrow as pa
import pytest
from click.testing import CliRunner

from mlplatform.data import Table, TableNotFoundError
from mlplatform.data._catalog import uri_to_path
from mlplatform.data._cli import data, parse_duration

SCHEMA = pa.schema([("id", pa.int64()), ("kind", pa.string())])


@pytest.fixture
def seeded(mlp_home):
    t = Table("kg.titles").create(SCHEMA, partition_by=["kind"])
    t.write(pa.table({"id": list(range(30)), "kind": ["movie", "series", "short"] * 10}))
    Table("ops.runs").create(SCHEMA)
    return t


def run(*args):
    result = CliRunner().invoke(data, list(args), catch_exceptions=True)
    return result


def test_ls_lists_tables(seeded):
    result = run("ls")
    assert result.exit_code == 0, result.output
    assert [line.strip("│ ") for line in result.output.splitlines() if "│" in line] == [
        "kg.titles",
        "ops.runs",
    ]
    assert "ops.runs" in run("ls", "ops").output and "kg.titles" not in run("ls", "ops").output


def test_show_prints_schema_partitions_snapshots_and_files(seeded):
    result = run("show", "kg.titles")
    assert result.exit_code == 0, result.output
    assert "kind (identity)" in result.output
    assert "3 files" in result.output and "30 rows" in result.output
    assert str(seeded.current_snapshot_id) in result.output
    assert "int64" in result.output


def test_head_prints_n_rows(seeded):
    result = run("head", "kg.titles", "-n", "4", "--columns", "id", "--filter", "kind == 'movie'")
    assert result.exit_code == 0, result.output
    assert "kg.titles: 4 rows" in result.output
    assert [int(line.strip("│ ")) for line in result.output.splitlines() if "│" in line] == [
        0,
        3,
        6,
        9,
    ]


def test_head_reads_files_written_before_a_column_was_renamed(seeded):
    seeded.catalog.load_table("kg.titles").update_schema().rename_column(
        "kind", "category"
    ).commit()
    result = run("head", "kg.titles", "-n", "3", "--columns", "category", "--filter", "id < 3")
    assert result.exit_code == 0, result.output
    assert "kg.titles: 3 rows" in result.output
    shown = sorted(line.strip("│ ") for line in result.output.splitlines() if "│" in line)
    assert shown == ["movie", "series", "short"]


def test_missing_table_lists_closest_names(seeded):
    result = run("show", "kg.title")
    assert isinstance(result.exception, TableNotFoundError)
    assert "closest existing names: kg.titles" in str(result.exception)


def test_gc_command(seeded, mlp_settings):
    orphan = seeded.writer()
    orphan.write(pa.table({"id": [1], "kind": ["movie"]}))
    result = run("gc", "--older-than", "0s", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would delete 1 files; kept 3 committed" in result.output
    result = run("gc", "--older-than", "0s")
    assert "deleted 1 files" in result.output
    assert not os.path.exists(uri_to_path(orphan.files[0].path))
    assert run("gc", "--older-than", "soon").exit_code == 2


def test_parse_duration():
    assert parse_duration("24h") == timedelta(hours=24)
    assert parse_duration("1.5d") == timedelta(days=1.5)
    with pytest.raises(click.BadParameter, match="expected a number and a unit"):
        parse_duration("3 years")


WIDE = pa.schema(
    [
        ("title_id", pa.int64()),
        ("source_key_of_the_record", pa.string()),
        ("normalised_title_of_the_record", pa.string()),
    ]
)


@pytest.fixture
def wide(mlp_home):
    t = Table("kg.wide").create(WIDE)
    t.write(
        pa.table(
            {
                "title_id": [1, 2],
                "source_key_of_the_record": ["imdb:tt0000001-" + "x" * 60, "tmdb:42"],
                "normalised_title_of_the_record": ["the night of the long river " * 3, "moon"],
            },
            schema=WIDE,
        )
    )
    return t


def test_head_piped_is_never_wrapped_or_cut(wide):
    result = run("head", "kg.wide")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if "title_id" in line)
    assert "source_key_of_the_record" in header and "normalised_title_of_the_record" in header
    first = next(line for line in lines if "imdb:" in line)
    assert "imdb:tt0000001-" + "x" * 60 in first and "the night of the long river " * 2 in first


def test_head_formats_json_and_csv(wide):
    rows = json.loads(run("head", "kg.wide", "--format", "json", "-c", "title_id").stdout)
    assert rows == [{"title_id": 1}, {"title_id": 2}]
    csv_lines = run("head", "kg.wide", "--format", "csv", "-n", "1").stdout.splitlines()
    assert csv_lines[0] == "title_id,source_key_of_the_record,normalised_title_of_the_record"
    assert csv_lines[1].startswith("1,imdb:tt0000001-") and len(csv_lines) == 2


def test_head_counts_follow_the_platform_rule(wide):
    refused = run("head", "kg.wide", "-n", "-3")
    assert refused.exit_code == 2
    assert "-3 is not in the range x>=0" in refused.output
    assert json.loads(run("head", "kg.wide", "-n", "0", "--format", "json").stdout) == []


def test_show_keeps_every_snapshot_id_whole(seeded):
    seeded.write(pa.table({"id": [99], "kind": ["movie"]}))
    result = run("show", "kg.titles")
    assert result.exit_code == 0, result.output
    for snapshot in seeded.snapshots():
        assert str(snapshot.snapshot_id) in result.output
    described = json.loads(run("show", "kg.titles", "--format", "json").stdout)
    assert [s["snapshot_id"] for s in described["snapshots"]] == [
        s.snapshot_id for s in seeded.snapshots()
    ]
    assert described["current_snapshot_id"] == seeded.current_snapshot_id
    assert described["rows"] == 31 and described["partition_spec"] == [["kind", "identity"]]
    assert described["schema"][0] == {"column": "id", "type": "int64", "nullable": True}
    csv_lines = run("show", "kg.titles", "--format", "csv").stdout.splitlines()
    assert csv_lines[0] == "snapshot_id,time,operation,added_rows,run"
    assert [int(line.split(",")[0]) for line in csv_lines[1:]] == [
        s.snapshot_id for s in seeded.snapshots()
    ]


def test_ls_formats(seeded):
    assert json.loads(run("ls", "--format", "json").stdout) == [
        {"table": "kg.titles"},
        {"table": "ops.runs"},
    ]
    assert run("ls", "ops", "--format", "csv").stdout.splitlines() == ["table", "ops.runs"]


def test_gc_lists_whole_paths_in_every_format(seeded, mlp_settings):
    orphan = seeded.writer()
    orphan.write(pa.table({"id": [1], "kind": ["movie"]}))
    path = uri_to_path(orphan.files[0].path)
    table_output = run("gc", "--older-than", "0s", "--dry-run").stdout
    assert any(path in line for line in table_output.splitlines())
    rows = json.loads(run("gc", "--older-than", "0s", "--dry-run", "--format", "json").stdout)
    assert rows == [{"path": path, "action": "would delete"}]
    csv_lines = run("gc", "--older-than", "0s", "--format", "csv").stdout.splitlines()
    assert csv_lines == ["path,action", f"{path},deleted"]
