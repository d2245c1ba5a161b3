"""`mlp data ls|show|head|gc` through click's test runner."""

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
    assert result.output.split() == ["kg.titles", "ops.runs"]
    assert run("ls", "ops").output.split() == ["ops.runs"]


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
