"""The orchestrator's bookkeeping without running flows: events to run records, schedules."""

import csv
import io
import json
import sqlite3
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from mlplatform.cli import cli
from mlplatform.config import load_settings
from mlplatform.orchestration import EventLog, Orchestrator, OrchestratorBusyError, list_runs
from mlplatform.orchestration._claims import ClaimState, claim_path, inspect
from mlplatform.orchestration._cli import runs as runs_cli
from mlplatform.orchestration._db import SCHEMA, connect

FLOW = textwrap.dedent(
    """
    from metaflow import FlowSpec, Parameter, project, schedule, step, trigger, trigger_on_finish

    {decorators}
    class {name}(FlowSpec):
        region = Parameter("region", default="DE")

        @step
        def start(self):
            self.next(self.end)

        @step
        def end(self):
            pass
    """
)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


def write(folder, name, *decorators):
    path = folder / name.lower() / "flow.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FLOW.format(name=name, decorators="\n".join(decorators)))
    return path


def records(settings):
    return [(r.flow, r.event_name, r.attempt, r.status, r.branch) for r in list_runs(settings)]


def test_events_become_run_records_once_across_a_restart(mlp_settings, tmp_path):
    flows = tmp_path / "flows"
    write(flows, "OnGo", '@trigger(event={"name": "go", "parameters": {"region": "r"}})')
    write(flows, "AfterOnGo", '@trigger_on_finish(flow="OnGo")')
    log = EventLog.from_settings(mlp_settings)
    log.publish("go", {"r": "FR"}, event_id="g1")
    log.publish("unrelated", {})

    first = Orchestrator(mlp_settings, flows_dir=flows)
    assert first.dispatch() == 1
    [record] = list_runs(mlp_settings)
    assert (record.flow, record.event_id, record.status) == ("OnGo", "g1", "pending")
    assert record.parameters == {"region": "FR"}
    assert record.branch is None

    # A restarted orchestrator keeps the offsets: nothing is dispatched twice...
    second = Orchestrator(load_settings(), flows_dir=flows)
    assert second.dispatch() == 0
    # ...and new events are picked up, including a finish event of the upstream flow.
    log.publish("go", {"r": "IT"}, event_id="g2")
    log.publish(
        "metaflow.OnGo.end",
        {"flow_name": "OnGo", "run_id": "7"},
        event_id="OnGo/7/end/2",
        source="metaflow",
    )
    assert second.dispatch() == 2
    assert sorted((r.flow, r.event_id, r.trigger_kind) for r in list_runs(mlp_settings)) == [
        ("AfterOnGo", "OnGo/7/end/2", "run"),
        ("OnGo", "g1", "event"),
        ("OnGo", "g2", "event"),
    ]


def test_redelivered_events_do_not_start_a_second_run(mlp_settings, tmp_path):
    flows = tmp_path / "flows"
    write(flows, "OnGo", '@trigger(event="go")')
    EventLog.from_settings(mlp_settings).publish("go", {}, event_id="g1")
    orchestrator = Orchestrator(mlp_settings, flows_dir=flows)
    orchestrator.dispatch()
    # Simulate a crash before the offset moved: the event is delivered again.
    with connect(mlp_settings.home / "events.db") as db:
        db.execute("update offsets set seq = 0 where consumer = 'flow:ongo/flow.py'")
    assert orchestrator.dispatch() == 0
    assert len(list_runs(mlp_settings)) == 1


def test_flows_added_later_start_at_the_end_of_the_log(mlp_settings, tmp_path):
    flows = tmp_path / "flows"
    write(flows, "Early", '@trigger(event="go")')
    log = EventLog.from_settings(mlp_settings)
    log.publish("go", {}, event_id="before-first-start")
    Orchestrator(mlp_settings, flows_dir=flows).dispatch()
    write(flows, "Late", '@trigger(event="go")')
    later = Orchestrator(mlp_settings, flows_dir=flows)
    later.dispatch()
    # The first start handles events already in the log; a new flow does not replay history.
    assert [r.flow for r in list_runs(mlp_settings)] == ["Early"]
    log.publish("go", {}, event_id="after")
    later.dispatch()
    assert sorted(r.flow for r in list_runs(mlp_settings) if r.event_id == "after") == [
        "Early",
        "Late",
    ]


def test_a_broken_flow_keeps_its_events_until_it_imports_again(mlp_settings, tmp_path):
    flows = tmp_path / "flows"
    write(flows, "Good", '@trigger(event="go")')
    path = write(flows, "Fragile", '@trigger(event="go")')
    Orchestrator(mlp_settings, flows_dir=flows).dispatch()
    text = path.read_text()
    path.write_text("import not_a_module\n" + text)
    broken = Orchestrator(mlp_settings, flows_dir=flows)
    EventLog.from_settings(mlp_settings).publish("go", {}, event_id="while-broken")
    broken.dispatch()
    assert "not_a_module" in str(broken.flow_errors["fragile/flow.py"])
    assert [r.flow for r in list_runs(mlp_settings)] == ["Good"]
    # Fixed: the event published while it was broken still reaches it.
    path.write_text(text)
    fixed = Orchestrator(mlp_settings, flows_dir=flows)
    assert fixed.dispatch() == 1
    assert sorted((r.flow, r.event_id) for r in list_runs(mlp_settings)) == [
        ("Fragile", "while-broken"),
        ("Good", "while-broken"),
    ]


def test_a_trigger_that_cannot_map_is_recorded_as_failed_not_run(mlp_settings, tmp_path):
    flows = tmp_path / "flows"
    path = flows / "req" / "flow.py"
    path.parent.mkdir(parents=True)
    path.write_text(
        FLOW.format(name="Req", decorators='@trigger(event="go")').replace(
            'Parameter("region", default="DE")', 'Parameter("region", required=True)'
        )
    )
    EventLog.from_settings(mlp_settings).publish("go", {"other": 1}, event_id="g1")
    Orchestrator(mlp_settings, flows_dir=flows).dispatch()
    [record] = list_runs(mlp_settings)
    assert record.status == "failed" and record.run_id is None
    assert "no payload field 'region'" in record.error
    assert EventLog.from_settings(mlp_settings).get("g1") is not None
    assert list_runs(mlp_settings, status="pending") == []
    assert [r.id for r in list_runs(mlp_settings, flow="Req", status="failed")] == [record.id]
    listing = CliRunner().invoke(runs_cli, ["ls", "--status", "failed"])
    assert listing.exit_code == 0
    assert "Req" in listing.output and "failed" in listing.output
    assert "no payload field" in listing.output


def test_recover_settles_runs_left_running_and_retries_them(mlp_settings, tmp_path):
    flows = tmp_path / "flows"
    write(flows, "OnGo", '@trigger(event="go")')
    EventLog.from_settings(mlp_settings).publish("go", {}, event_id="g1")
    orchestrator = Orchestrator(mlp_settings, flows_dir=flows, retry_delay_s=0)
    orchestrator.dispatch()
    with connect(mlp_settings.home / "events.db") as db:
        db.execute("update runs set status = 'running', run_id = '123'")
    assert Orchestrator(mlp_settings, flows_dir=flows).recover() == 1
    assert records(mlp_settings) == [
        ("OnGo", "go", 1, "failed", None),
        ("OnGo", "go", 2, "pending", None),
    ]
    assert "stopped while this run was in flight" in list_runs(mlp_settings)[0].error


def test_only_one_orchestrator_per_state_folder(mlp_settings, tmp_path):
    first = Orchestrator(mlp_settings, flows_dir=tmp_path)
    with first._lock(), pytest.raises(OrchestratorBusyError, match="another orchestrator"):
        Orchestrator(mlp_settings, flows_dir=tmp_path).run(once=True)


def test_hourly_schedule_with_a_controllable_clock(mlp_settings, tmp_path):
    flows = tmp_path / "flows"
    write(flows, "Hourly", '@project(name="demo")', "@schedule(hourly=True)")
    clock = FakeClock(datetime(2026, 3, 1, 10, 20, tzinfo=UTC))
    orchestrator = Orchestrator(mlp_settings, flows_dir=flows, clock=clock, branch="ci")
    assert orchestrator.evaluate_schedules(startup=True) == []  # first sight: counts from now
    clock.advance(minutes=30)
    assert orchestrator.evaluate_schedules() == []  # 10:50
    clock.advance(minutes=15)  # 11:05
    [tick] = orchestrator.evaluate_schedules()
    assert tick.name == "mlp.schedule.Hourly"
    assert tick.payload["scheduled_for"] == "2026-03-01T11:00:00+00:00"
    assert tick.payload["branch"] == "test.ci"
    assert orchestrator.evaluate_schedules() == []  # the same hour never fires twice
    assert orchestrator.dispatch() == 1
    [record] = list_runs(mlp_settings)
    assert (record.flow, record.trigger_kind, record.branch) == ("Hourly", "schedule", "test.ci")

    # Down for five hours: on start the missed ticks fire once, with the latest missed time.
    clock.advance(hours=5)  # 16:05
    restarted = Orchestrator(load_settings(), flows_dir=flows, clock=clock, branch="ci")
    [missed] = restarted.evaluate_schedules(startup=True)
    assert missed.payload["scheduled_for"] == "2026-03-01T16:00:00+00:00"
    assert restarted.evaluate_schedules() == []


def test_missed_schedules_can_be_skipped_on_start(mlp_home, tmp_path, monkeypatch):
    flows = tmp_path / "flows"
    write(flows, "Daily", '@schedule(cron="0 6 * * *", timezone="Europe/Berlin")')
    clock = FakeClock(datetime(2026, 3, 1, 4, 0, tzinfo=UTC))  # 05:00 in Berlin
    Orchestrator(load_settings(), flows_dir=flows, clock=clock).evaluate_schedules(startup=True)
    clock.advance(days=2)
    monkeypatch.setenv("MLP_ORCHESTRATION__CATCH_UP_MISSED_SCHEDULES", "false")
    orchestrator = Orchestrator(load_settings(), flows_dir=flows, clock=clock)
    assert orchestrator.evaluate_schedules(startup=True) == []
    clock.advance(hours=1)  # 06:00 Berlin: a regular tick still fires
    [tick] = orchestrator.evaluate_schedules()
    assert tick.payload["scheduled_for"] == "2026-03-03T05:00:00+00:00"


def test_multiple_dependencies_wait_for_all_events(mlp_settings, tmp_path):
    flows = tmp_path / "flows"
    write(flows, "Both", '@trigger(events=["a", "b"])')
    log = EventLog.from_settings(mlp_settings)
    orchestrator = Orchestrator(mlp_settings, flows_dir=flows)
    log.publish("a", {}, event_id="a1")
    log.publish("a", {}, event_id="a2")
    assert orchestrator.dispatch() == 0
    log.publish("b", {}, event_id="b1")
    assert orchestrator.dispatch() == 1
    [record] = list_runs(mlp_settings)
    triggers = json.loads(
        next(iter(connect_rows(mlp_settings, "select triggers from runs")))["triggers"]
    )
    assert [t["id"] for t in triggers] == ["a2", "b1"]
    assert record.trigger_kind == "event"


def connect_rows(settings, query):
    with connect(settings.home / "events.db") as db:
        return db.execute(query).fetchall()


def test_runs_ls_formats_for_people_and_programs(mlp_settings, tmp_path):
    flows = tmp_path / "flows"
    write(flows, "OnGo", '@trigger(event={"name": "go", "parameters": {"region": "r"}})')
    long_id = "go-" + "fedcba9876543210" * 4
    EventLog.from_settings(mlp_settings).publish("go", {"r": "FR"}, event_id=long_id)
    Orchestrator(mlp_settings, flows_dir=flows).dispatch()
    [record] = list_runs(mlp_settings)
    runner = CliRunner()

    table = runner.invoke(cli, ["runs", "ls"])
    assert table.exit_code == 0
    assert long_id in table.stdout and "pending" in table.stdout

    [row] = json.loads(runner.invoke(cli, ["runs", "ls", "--format", "json"]).stdout)
    assert row == {
        "id": record.id,
        "flow": "OnGo",
        "branch": None,
        "event": "go",
        "event_id": long_id,
        "attempt": 1,
        "status": "pending",
        "run": None,
        "started": None,
        "duration_s": None,
        "error": None,
    }
    [csv_row] = csv.DictReader(
        io.StringIO(runner.invoke(cli, ["runs", "ls", "--format", "csv"]).stdout)
    )
    assert (csv_row["flow"], csv_row["event_id"], csv_row["status"]) == ("OnGo", long_id, "pending")


def test_a_run_that_never_started_is_pending_again_after_a_restart(mlp_settings, tmp_path):
    flows = tmp_path / "flows"
    write(flows, "OnGo", '@trigger(event="go")')
    EventLog.from_settings(mlp_settings).publish("go", {}, event_id="g1")
    crashed = Orchestrator(mlp_settings, flows_dir=flows)
    crashed.dispatch()
    # The orchestrator marked the run running, then died before the run took its claim.
    launched = crashed.runs.start_next()
    assert launched.status == "running" and launched.launch_token

    assert Orchestrator(mlp_settings, flows_dir=flows).recover() == 1
    [record] = list_runs(mlp_settings)
    assert (record.attempt, record.status, record.run_id, record.error) == (
        1,
        "pending",
        None,
        None,
    )
    assert record.launch_token is None
    # Its old launch can never start late.
    assert inspect(claim_path(mlp_settings.home, launched.launch_token)) == ClaimState(None, False)


def test_a_database_from_before_launch_claims_gets_the_new_column(mlp_settings):
    path = mlp_settings.home / "events.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as old:
        old.executescript(SCHEMA.replace("    launch_token text,\n", ""))
        old.execute(
            "insert into runs (request_key, attempt, flow, flow_file, branch, event_id, "
            "event_name, trigger_kind, triggers, parameters, status, created_at, not_before) "
            "values ('k', 1, 'Old', 'old/flow.py', null, 'e1', 'go', 'event', '[]', '{}', "
            "'succeeded', 1.0, 1.0)"
        )
    [record] = list_runs(mlp_settings)
    assert (record.flow, record.status, record.launch_token) == ("Old", "succeeded", None)
