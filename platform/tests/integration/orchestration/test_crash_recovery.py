"""Exactly once across restarts: ``mlp orchestrate`` killed with SIGKILL while a run is in flight.

Real processes throughout: the orchestrator is the ``mlp`` console script in a subprocess,
killed by PID; the runs are Metaflow runs it started. SlowFlow holds its start step until the
test releases it, and each flow appends its name to ``finished`` when its end step runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from metaflow import Flow
from metaflow.exception import MetaflowNotFound

from mlplatform.config import load_settings
from mlplatform.orchestration import EventLog, list_runs

pytestmark = pytest.mark.integration

FLOWS = Path(__file__).resolve().parent / "flows" / "crash"
MLP = Path(sys.executable).parent / "mlp"
WAIT_S = 240


def wait_for(condition: Callable[[], object], what: str, process=None, log=None) -> object:
    """Poll ``condition`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            pytest.fail(f"the orchestrator exited ({process.returncode}) before {what}:\n{log}")
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


class Orchestrators:
    """Starts ``mlp orchestrate --until-idle`` subprocesses on one flows folder."""

    def __init__(self, flows: Path, logs: Path) -> None:
        self.flows = flows
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self) -> tuple[subprocess.Popen, Path]:
        log = self.logs / f"orchestrator-{len(self.started)}.log"
        with log.open("w") as handle:
            process = subprocess.Popen(
                [str(MLP), "orchestrate", "--until-idle", "--flows-dir", str(self.flows)],
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        self.started.append(process)
        return process, log

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def crash(mlp_home, tmp_path, monkeypatch):
    """The crash flows in a temporary folder, a marker folder, and an orchestrator starter."""
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("MLP_TEST_CRASH_DIR", str(markers))
    orchestrators = Orchestrators(flows, tmp_path)
    yield markers, orchestrators
    (markers / "release").touch()  # let any run still waiting finish
    orchestrators.stop_all()


def started_tasks(markers: Path) -> list[tuple[int, int]]:
    """(task pid, runtime pid) of each SlowFlow start step that began."""
    path = markers / "started"
    if not path.exists():
        return []
    return [tuple(map(int, line.split())) for line in path.read_text().splitlines() if line]


def finished_flows(markers: Path) -> list[str]:
    path = markers / "finished"
    return path.read_text().splitlines() if path.exists() else []


def metaflow_runs(home: Path, flow: str) -> list[str]:
    """Ids of the Metaflow runs of ``flow`` in the profile's local metadata."""
    where = f"local@{home / 'metaflow'}"
    try:
        return [run.id for run in Flow(flow, _namespace_check=False, _current_metadata=where)]
    except MetaflowNotFound:
        return []


def kill_orchestrator_mid_run(markers: Path, orchestrators: Orchestrators) -> tuple[int, int]:
    """Start an orchestrator, wait until SlowFlow's start step runs, SIGKILL the orchestrator."""
    first, log = orchestrators.start()
    task = wait_for(lambda: started_tasks(markers), "SlowFlow to start", first, log)[0]
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    return task


def runs_listing() -> list[dict]:
    listing = subprocess.run(
        [str(MLP), "runs", "ls", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(listing.stdout)


def assert_ran_once_each_and_listing_is_truthful(home: Path, slow_flow_runs: int = 1) -> None:
    settings = load_settings()
    records = list_runs(settings)
    succeeded = {r.flow: r for r in records if r.status == "succeeded"}
    assert sorted(succeeded) == ["AfterSlowFlow", "SlowFlow"]
    for record in succeeded.values():
        assert record.run_id is not None and record.error is None
        assert record.duration_s is not None and record.duration_s > 0
    assert succeeded["SlowFlow"].run_id in metaflow_runs(home, "SlowFlow")
    assert len(metaflow_runs(home, "SlowFlow")) == slow_flow_runs
    assert metaflow_runs(home, "AfterSlowFlow") == [succeeded["AfterSlowFlow"].run_id]
    finish_events = [e.name for e in EventLog.from_settings(settings).list(limit=1000)]
    assert finish_events.count("metaflow.SlowFlow.end") == 1
    assert finish_events.count("metaflow.AfterSlowFlow.end") == 1
    listed = {row["id"]: row for row in runs_listing()}
    for record in records:
        row = listed[record.id]
        assert (row["flow"], row["status"], row["attempt"]) == (
            record.flow,
            record.status,
            record.attempt,
        )
        assert row["run"] == record.pathspec


@pytest.mark.timeout(600)
def test_a_run_still_in_flight_is_adopted_after_a_restart_not_run_again(mlp_home, crash):
    markers, orchestrators = crash
    EventLog.from_settings(load_settings()).publish("crash_go", {}, event_id="go-1")
    kill_orchestrator_mid_run(markers, orchestrators)

    second, log = orchestrators.start()
    wait_for(lambda: "adopted" in log.read_text(), "the restart to adopt SlowFlow", second, log)
    (markers / "release").touch()
    assert second.wait(timeout=WAIT_S) == 0, log.read_text()

    assert len(started_tasks(markers)) == 1  # never started again
    assert finished_flows(markers) == ["SlowFlow", "AfterSlowFlow"]
    assert [(r.flow, r.attempt, r.status) for r in list_runs(load_settings())] == [
        ("SlowFlow", 1, "succeeded"),
        ("AfterSlowFlow", 1, "succeeded"),
    ]
    assert "runs started 1, succeeded 2, failed 0" in log.read_text()
    assert_ran_once_each_and_listing_is_truthful(mlp_home)


@pytest.mark.timeout(600)
def test_a_run_that_finished_while_the_orchestrator_was_down_is_recorded_as_succeeded(
    mlp_home, crash
):
    markers, orchestrators = crash
    log_of_events = EventLog.from_settings(load_settings())
    log_of_events.publish("crash_go", {}, event_id="go-1")
    kill_orchestrator_mid_run(markers, orchestrators)
    (markers / "release").touch()
    # The orphaned run finishes on its own and publishes its finish event.
    wait_for(
        lambda: [e for e in log_of_events.list() if e.name == "metaflow.SlowFlow.end"],
        "the orphaned SlowFlow run to finish",
    )

    second, log = orchestrators.start()
    assert second.wait(timeout=WAIT_S) == 0, log.read_text()

    assert len(started_tasks(markers)) == 1
    assert finished_flows(markers) == ["SlowFlow", "AfterSlowFlow"]
    assert [(r.flow, r.attempt, r.status) for r in list_runs(load_settings())] == [
        ("SlowFlow", 1, "succeeded"),
        ("AfterSlowFlow", 1, "succeeded"),
    ]
    assert_ran_once_each_and_listing_is_truthful(mlp_home)


@pytest.mark.timeout(600)
def test_a_run_that_died_with_the_orchestrator_is_failed_and_retried_once(mlp_home, crash):
    markers, orchestrators = crash
    EventLog.from_settings(load_settings()).publish("crash_go", {}, event_id="go-1")
    task, runtime = kill_orchestrator_mid_run(markers, orchestrators)
    for pid in (runtime, task):  # the run really dies too
        os.kill(pid, signal.SIGKILL)
    (markers / "release").touch()

    second, log = orchestrators.start()
    assert second.wait(timeout=WAIT_S) == 0, log.read_text()

    assert len(started_tasks(markers)) == 2  # the retry
    assert finished_flows(markers) == ["SlowFlow", "AfterSlowFlow"]
    records = list_runs(load_settings())
    assert [(r.flow, r.attempt, r.status) for r in records] == [
        ("SlowFlow", 1, "failed"),
        ("SlowFlow", 2, "succeeded"),
        ("AfterSlowFlow", 1, "succeeded"),
    ]
    assert "did not finish" in records[0].error
    assert records[0].run_id in metaflow_runs(mlp_home, "SlowFlow")
    assert_ran_once_each_and_listing_is_truthful(mlp_home, slow_flow_runs=2)
