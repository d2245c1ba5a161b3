"""End-to-end runs of EntityResolutionFlow through metaflow.Runner on the local profile."""

import base64
import json
import re
from pathlib import Path

import knowledge_graph as kg
import pytest
from metaflow import Runner

from mlplatform.data import Table

# `slow`: the runs `mlp nightly` makes too (both example configs); deselected by default.
pytestmark = [pytest.mark.integration]

FLOW = str(Path(__file__).resolve().parents[1] / "flow.py")
PERSON_CONFIG = str(Path(FLOW).with_name("person_match_config.json"))
OUTPUTS = ("kg.title_candidate_pairs", "kg.title_matches", "kg.title_entities")


def _snapshots(name):
    return len(Table(name).snapshots())


def _rows(name):
    from mlplatform.data import DataFrame

    return DataFrame.load(name).num_rows


def _run(tmp_path, config=None, **parameters):
    options = {"config": [("match_config", config)]} if config else {}
    runner = Runner(FLOW, show_output=False, cwd=str(tmp_path), **options)
    return runner.run(**parameters)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_flow_resolves_sample_and_reruns_add_one_snapshot_each(mlp_home, tmp_path):
    with _run(tmp_path, sample_records=1_500, match_tasks=2) as running:
        assert running.status == "successful", running.stderr
        run = running.run
        metrics = run.data.metrics
        assert "seeding it with 1500 generated records" in running.stderr + running.stdout
        assert len(list(run["match"])) == 2  # foreach over two shards
    assert metrics["f1"] >= 0.95
    assert metrics["cluster_f1"] >= 0.95
    assert metrics["blocking_recall"] >= 0.98
    assert metrics["candidate_pairs"] > 0
    assert metrics["pairs_per_second_per_core"] > 0
    assert metrics["compare_pairs_per_second_per_core"] > metrics["pairs_per_second_per_core"]
    assert set(metrics) >= {"precision", "recall", "f1", "cluster_f1", "blocking_recall"}
    for name in OUTPUTS:
        assert _snapshots(name) == 1, name
    first_rows = {name: _rows(name) for name in OUTPUTS}
    assert first_rows["kg.title_entities"] == metrics["entities"]
    assert first_rows["kg.title_matches"] == metrics["matches"]
    assert _rows("kg.title_records") == 1_500

    with _run(tmp_path, sample_records=1_500, match_tasks=2) as running:
        assert running.status == "successful", running.stderr
        assert running.run.data.metrics["f1"] == metrics["f1"]
    for name in OUTPUTS:
        assert _snapshots(name) == 2, name  # a re-run adds one snapshot ...
        assert _rows(name) == first_rows[name], name  # ... and no duplicated rows
    assert _snapshots("kg.title_records") == 1  # the seed happens once

    from mlplatform.data import DataFrame

    entities = DataFrame.load("kg.title_entities").to_arrow()
    assert sum(entities.column("size").to_pylist()) == 1_500
    assert len(set(entities.column("entity_id").to_pylist())) == entities.num_rows


@pytest.mark.timeout(900)
def test_empty_input_finishes_with_zero_entities(mlp_home, tmp_path):
    Table("kg.title_records").create(kg.TITLE_RECORD_SCHEMA)  # exists, holds nothing
    with _run(tmp_path) as running:
        assert running.status == "successful", running.stderr
        metrics = running.run.data.metrics
        log = running.stderr + running.stdout
    assert metrics["entities"] == 0
    assert metrics["candidate_pairs"] == 0
    assert "precision" not in metrics and "f1" not in metrics  # no truth: absent, not zero
    assert "zero entities" in log
    assert _rows("kg.title_entities") == 0
    assert _snapshots("kg.title_entities") == 1


@pytest.mark.timeout(600)
def test_config_naming_a_missing_column_fails_before_any_task(mlp_home, tmp_path):
    document = json.loads(Path(FLOW).with_name("match_config.json").read_text())
    document["fields"][0]["column"] = "titel"
    bad = tmp_path / "bad_config.json"
    bad.write_text(json.dumps(document))
    runner = Runner(FLOW, show_output=False, cwd=str(tmp_path), config=[("match_config", str(bad))])
    # The Config parser runs while the command line is parsed: before any task.
    with pytest.raises(kg.MatchConfigError, match=r"'titel'.*did you mean \['title'\]"):
        runner.run()
    assert not Table("kg.title_records").exists()  # nothing ran: not even the seed
    assert not (mlp_home / "metaflow" / "EntityResolutionFlow").exists()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_person_config_resolves_its_sample_and_charts_the_weights(mlp_home, tmp_path):
    with _run(tmp_path, config=PERSON_CONFIG, sample_records=800) as running:
        assert running.status == "successful", running.stderr
        run = running.run
        metrics = run.data.metrics
        log = running.stderr + running.stdout
    # The card as the evaluate task stored it (this process's Metaflow client was configured
    # before mlp_home pointed the datastore here, so read the file itself).
    cards = list(mlp_home.glob(f"metaflow/**/{run.id}/steps/evaluate/tasks/*/cards/*.html"))
    assert len(cards) == 1, cards
    encoded = re.search(r'__MF_DATA__\["[^"]+"\] = "([^"]+)"', cards[0].read_text()).group(1)
    card = base64.b64decode(encoded).decode()  # the card's components, as JSON
    assert "seeding it with 800 generated records from 2 sources (people sample" in log
    assert metrics["f1"] >= 0.9 and metrics["cluster_f1"] >= 0.9
    assert metrics["records"] == 800 == _rows("kg.person_records")
    assert _rows("kg.person_entities") == metrics["entities"] < 800
    assert _rows("kg.person_matches") == metrics["matches"] > 0
    assert not Table("kg.title_records").exists()  # nothing of the title example
    model = kg.FellegiSunterModel.from_dict(run.data.model)
    assert model.monotone and model.names[:2] == ["surname", "given_name"]
    assert "# Entity resolution" in card and "## Match weights" in card
    assert "data:image/png;base64," in card and "match weight of each level" in card


@pytest.mark.timeout(600)
def test_own_config_with_a_missing_table_fails_before_any_task(mlp_home, tmp_path):
    document = json.loads(Path(PERSON_CONFIG).read_text())
    del document["sample"]
    document["input_table"] = "crm.customers"
    own = tmp_path / "own_config.json"
    own.write_text(json.dumps(document))
    runner = Runner(FLOW, show_output=False, cwd=str(tmp_path), config=[("match_config", str(own))])
    missing = r"input table crm\.customers does not exist; write it first or run with the sample"
    with pytest.raises(kg.InputDataError, match=missing):
        runner.run()
    assert not (mlp_home / "metaflow" / "EntityResolutionFlow").exists()
