"""`current_trigger()` reads the same event locally and on Argo Workflows."""

import json

import pytest

from mlplatform.orchestration import DeployError, current_trigger, deploy
from mlplatform.orchestration._finish import finish_payload
from mlplatform.orchestration._trigger import TRIGGER_ENV, triggers_from_env


def test_local_orchestrator_event(monkeypatch):
    monkeypatch.setenv(
        TRIGGER_ENV,
        json.dumps(
            [{"name": "titles_ready", "payload": {"region": "FR"}, "id": "e1", "timestamp": 5.0}]
        ),
    )
    event = current_trigger()
    assert (event.name, event.id, event.payload, event.type) == (
        "titles_ready",
        "e1",
        {"region": "FR"},
        "event",
    )
    assert event.timestamp.timestamp() == 5.0
    assert event.run_pathspec is None


def test_argo_sensor_payload(monkeypatch):
    # What Metaflow's sensor sets for a flow deployed with @trigger_on_finish.
    body = {
        "name": "metaflow.demo.prod.TrainFlow.end",
        "id": "TrainFlow/argo-x/end/t-1",
        "timestamp": 1700000000,
        "utc_date": "20231114",
        "generated-by-metaflow": True,
        **finish_payload("TrainFlow", "argo-x", "end", "t-1", {"project_name": "demo"}),
    }
    monkeypatch.delenv(TRIGGER_ENV, raising=False)
    monkeypatch.setenv(
        "METAFLOW_ARGO_EVENT_PAYLOAD_run_metaflowdemoprodtrainflowend_abcd", json.dumps(body)
    )
    [event] = triggers_from_env()
    assert event.type == "run"
    assert event.name == "metaflow.demo.prod.TrainFlow.end"
    assert event.run_pathspec == "TrainFlow/argo-x"
    assert event.payload["project_name"] == "demo"
    assert "utc_date" not in event.payload and "generated-by-metaflow" not in event.payload


def test_no_trigger_outside_a_triggered_run(monkeypatch):
    monkeypatch.delenv(TRIGGER_ENV, raising=False)
    assert current_trigger() is None


def test_deploy_refuses_bad_input(tmp_path):
    with pytest.raises(DeployError, match=r"target 'airflow' is unknown.*\['argo'\]"):
        deploy(tmp_path / "flow.py", target="airflow")
    with pytest.raises(DeployError, match="does not exist"):
        deploy(tmp_path / "missing.py", dry_run=True)
