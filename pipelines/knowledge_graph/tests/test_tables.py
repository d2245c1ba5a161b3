"""The input tables: seeded on a fresh local profile, required in production."""

import knowledge_graph as kg
import pytest

from mlplatform.data import DataFrame, Table, TableNotFoundError


def test_a_fresh_local_profile_seeds_records_and_truth_once(mlp_home, config):
    snapshot_id = kg.ensure_input_table(config, n_records=300, n_sources=3, seed=1)
    records = Table(config.input_table)
    assert snapshot_id == records.current_snapshot_id is not None
    assert DataFrame.load(records).num_rows == 300
    truth = DataFrame.load(config.truth_table).to_arrow()
    assert truth.num_rows == 300 and set(truth.column_names) >= {"source_id", "entity_id"}

    again = kg.ensure_input_table(config, n_records=50, n_sources=2, seed=2)
    assert again == snapshot_id  # the input exists: nothing is seeded again
    assert len(records.snapshots()) == 1 and len(Table(config.truth_table).snapshots()) == 1


def test_production_refuses_a_missing_input(mlp_home, monkeypatch, config):
    for name, value in {
        "MLP_PROFILE": "production",
        "MLP_DATA__CATALOG": "sql",
        "MLP_DATA__CATALOG_URI": f"sqlite:///{mlp_home / 'catalog.db'}",
        "MLP_STORAGE__S3_ROOT": "s3://unused/mlp",
        "MLP_METAFLOW__METADATA_SERVICE_URL": "http://127.0.0.1:9",
        "MLP_CACHE__REDIS_URL": "redis://127.0.0.1:9/0",
    }.items():
        monkeypatch.setenv(name, value)
    missing = r"input table kg\.title_records does not exist in the production profile"
    with pytest.raises(TableNotFoundError, match=missing):
        kg.ensure_input_table(config, n_records=300, n_sources=3, seed=1)
    assert not Table(config.input_table).exists()
    assert not Table(config.truth_table).exists()  # no sample stands in for a producer


def test_a_config_without_a_sample_needs_its_table_written_first(mlp_home, person_config):
    own = person_config.model_copy(update={"sample": None, "input_table": "crm.people"})
    with pytest.raises(kg.InputDataError, match=r"input table crm\.people does not exist; write "
                       r"it first or run with the sample config"):  # fmt: skip
        kg.ensure_input_table(own)
    assert not Table("crm.people").exists()  # nothing seeded: the user's table is theirs
    records = kg.generate_person_records(n_records=40, seed=2).records
    Table("crm.people").create(records.schema).write(records)
    snapshot_id = kg.ensure_input_table(own)
    assert snapshot_id == Table("crm.people").current_snapshot_id
    assert DataFrame.load("crm.people").num_rows == 40


def test_the_person_config_seeds_person_records_and_truth(mlp_home, person_config):
    kg.ensure_input_table(person_config, n_records=120, seed=3)
    records = DataFrame.load(person_config.input_table).to_arrow()
    assert records.schema == kg.PERSON_RECORD_SCHEMA and records.num_rows == 120
    assert set(records.column("source").to_pylist()) == {"registry", "survey"}  # sample.sources
    truth = DataFrame.load(person_config.truth_table).to_arrow()
    assert truth.column_names == ["source", "record_id", "entity_id"] and truth.num_rows == 120
