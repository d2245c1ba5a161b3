"""Failures are recorded and retried without holding up others; branches stay isolated."""

import shutil
from pathlib import Path

import pytest
from metaflow import Run

from mlplatform.config import load_settings
from mlplatform.orchestration import EventLog, Orchestrator, list_runs

pytestmark = pytest.mark.integration

FLOWS = Path(__file__).resolve().parent / "flows"


def client_run(home: Path, pathspec: str) -> Run:
    return Run(pathspec, _namespace_check=False, _current_metadata=f"local@{home / 'metaflow'}")


@pytest.mark.timeout(900)
def test_failed_runs_are_recorded_and_retried_and_do_not_block_others(
    mlp_home, tmp_path, monkeypatch
):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS / "retry", flows)
    monkeypatch.setenv("MLP_TEST_FLAKY_MARKER", str(tmp_path / "flaky-marker"))
    monkeypatch.setenv("MLP_ORCHESTRATION__MAX_ATTEMPTS", "2")
    settings = load_settings()
    log = EventLog.from_settings(settings)
    event = log.publish("nightly", {"day": "2026-03-01"})

    summary = Orchestrator(settings, flows_dir=flows, retry_delay_s=0).run(until_idle=True)

    outcome = {(r.flow, r.attempt): r for r in list_runs(settings)}
    assert sorted((flow, attempt, r.status) for (flow, attempt), r in outcome.items()) == [
        ("AlwaysFailsFlow", 1, "failed"),
        ("AlwaysFailsFlow", 2, "failed"),
        ("FlakyFlow", 1, "failed"),
        ("FlakyFlow", 2, "succeeded"),
        ("SteadyFlow", 1, "succeeded"),
    ]
    assert (summary.started, summary.succeeded, summary.failed) == (5, 2, 3)
    assert "flaky on purpose" in outcome["FlakyFlow", 1].error
    assert "always fails on purpose" in outcome["AlwaysFailsFlow", 2].error
    for record in outcome.values():
        assert record.event_id == event.id
        assert record.run_id is not None and record.duration_s > 0
    # Failed runs publish no finish event; the retried success does, once.
    names = [e.name for e in log.list()]
    assert names.count("metaflow.FlakyFlow.end") == 1
    assert names.count("metaflow.SteadyFlow.end") == 1
    assert "metaflow.AlwaysFailsFlow.end" not in names
    # The triggering event is still in the log.
    assert log.get(event.id) == event


@pytest.mark.timeout(900)
def test_events_of_a_branch_start_only_that_branchs_flows(mlp_home, tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS / "branches", flows)
    settings = load_settings()
    log = EventLog.from_settings(settings)
    log.publish("mfns.iso.user.alice.ready", {}, event_id="alice")
    log.publish("mfns.iso.prod.ready", {}, event_id="prod")
    log.publish("mfns.other.prod.ready", {}, event_id="other-project")

    Orchestrator(settings, flows_dir=flows).run(until_idle=True)

    started = sorted((r.flow, r.branch, r.event_id, r.status) for r in list_runs(settings))
    assert started == [
        ("AnyBranchFlow", "prod", "prod", "succeeded"),
        ("AnyBranchFlow", "user.alice", "alice", "succeeded"),
        ("ProdOnlyFlow", "prod", "prod", "succeeded"),
    ]
    for record in list_runs(settings):
        run = client_run(mlp_home, record.pathspec)
        assert run.data.branch == record.branch
        assert f"project_branch:{record.branch}" in run.system_tags
    alice = next(r for r in list_runs(settings) if r.branch == "user.alice")
    assert client_run(mlp_home, alice.pathspec).data.trigger_name == "mfns.iso.user.alice.ready"
    finish = sorted(e.name for e in log.list() if e.source == "metaflow")
    assert finish == [
        "metaflow.iso.prod.AnyBranchFlow.end",
        "metaflow.iso.prod.ProdOnlyFlow.end",
        "metaflow.iso.user.alice.AnyBranchFlow.end",
    ]
