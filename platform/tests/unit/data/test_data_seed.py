"""`ensure_tables`: seed a missing input in the local profile, refuse it in production."""

import pyarrow as pa
import pytest

from mlplatform.config import load_settings
from mlplatform.data import DataError, DataFrame, Table, TableNotFoundError, ensure_tables

RECORDS = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("kind", pa.string())])
TRUTH = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("entity", pa.string())])


def sample_maker(calls: list[int]):
    def sample():
        calls.append(1)
        return {
            "t.records": pa.table({"id": [1, 2, 3], "kind": ["a", "b", "a"]}, schema=RECORDS),
            "t.truth": pa.table({"id": [1, 2, 3], "entity": ["x", "x", "y"]}, schema=TRUTH),
        }

    return sample


def test_a_missing_input_is_seeded_once_with_its_companions(mlp_home, caplog):
    calls: list[int] = []
    schemas = {"t.records": RECORDS, "t.truth": TRUTH}
    with caplog.at_level("INFO", logger="mlplatform.data._seed"):
        tables = ensure_tables(schemas, sample_maker(calls), partition_by={"t.records": ["kind"]})
    assert calls == [1]
    assert "seeding t.records, t.truth with sample data (local profile)" in caplog.text
    assert DataFrame.load(tables["t.records"]).num_rows == 3
    assert tables["t.records"].partition_by == ["kind"]
    assert DataFrame.load(tables["t.truth"]).to_arrow().column("entity").to_pylist() == [
        "x",
        "x",
        "y",
    ]

    again = ensure_tables(schemas, sample_maker(calls))
    assert calls == [1]  # the input exists: nothing is seeded again
    assert len(Table("t.records").snapshots()) == 1
    assert again["t.records"] == Table("t.records")


def test_companions_are_not_seeded_against_an_existing_input(mlp_home):
    Table("t.records").create(RECORDS).write(pa.table({"id": [7], "kind": ["z"]}, schema=RECORDS))
    calls: list[int] = []
    tables = ensure_tables({"t.records": RECORDS, "t.truth": TRUTH}, sample_maker(calls))
    assert calls == []
    assert not tables["t.truth"].exists()


def test_production_refuses_a_missing_input(mlp_home, monkeypatch):
    monkeypatch.setenv("MLP_DATA__CATALOG_URI", f"sqlite:///{mlp_home / 'catalog.db'}")
    monkeypatch.setenv("MLP_DATA__CATALOG", "sql")
    settings = load_settings()
    production = type(settings)(
        profile="production",
        root=settings.root,
        home=settings.home,
        config_file=settings.config_file,
        sections=settings.sections,
    )
    calls: list[int] = []
    with pytest.raises(TableNotFoundError, match=r"t.records does not exist in the production"):
        ensure_tables({"t.records": RECORDS}, sample_maker(calls), settings=production)
    assert calls == []


def test_a_sample_without_a_needed_table_is_an_error(mlp_home):
    with pytest.raises(DataError, match=r"has no data for tables \['t.truth'\].*nothing was"):
        ensure_tables(
            {"t.records": RECORDS, "t.truth": TRUTH},
            lambda: {"t.records": pa.table({"id": [1], "kind": ["a"]}, schema=RECORDS)},
        )
    assert not Table("t.records").exists()
