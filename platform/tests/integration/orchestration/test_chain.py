"""A two-flow chain: an event starts IngestFlow; its finish starts ReportFlow."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from metaflow import Run, Runner

from mlplatform.config import load_settings
from mlplatform.orchestration import EventLog, Orchestrator, list_runs
from mlplatform.orchestration._cli import events, orchestrate, runs

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "flows_example"


def client_run(home: Path, pathspec: str) -> Run:
    # The in-process client read its profile at first import; point it at this test's state.
    return Run(pathspec, _namespace_check=False, _current_metadata=f"local@{home / 'metaflow'}")


@pytest.mark.timeout(600)
def test_cli_publish_orchestrate_until_idle_runs_the_chain(mlp_home):
    cli = CliRunner()
    published = cli.invoke(
        events, ["publish", "titles_ready", "--payload", '{"region": "FR", "rows": 4}']
    )
    assert published.exit_code == 0, published.output

    result = cli.invoke(orchestrate, ["--until-idle", "--flows-dir", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "runs started 2, succeeded 2, failed 0" in result.output

    listing = cli.invoke(runs, ["ls"])
    assert listing.exit_code == 0
    assert "IngestFlow" in listing.output and "ReportFlow" in listing.output
    assert listing.output.count("succeeded") == 2

    ingest, report = list_runs(load_settings())
    assert (ingest.flow, ingest.event_name, ingest.status) == (
        "IngestFlow",
        "titles_ready",
        "succeeded",
    )
    assert ingest.parameters == {"region": "FR", "rows": 4}
    assert ingest.branch == "user.tester"
    assert report.flow == "ReportFlow" and report.status == "succeeded"
    assert report.event_name == "metaflow.mlp_example.user.tester.IngestFlow.end"
    assert report.duration_s > 0 and ingest.started_at <= report.started_at

    upstream = client_run(mlp_home, ingest.pathspec)
    assert upstream.data.titles == [f"FR-title-{n}" for n in range(4)]
    assert upstream.data.trigger_name == "titles_ready"
    assert upstream.data.trigger_payload == {"region": "FR", "rows": 4}
    downstream = client_run(mlp_home, report.pathspec)
    # current.trigger (Metaflow's --trigger) names the upstream run, as on Argo.
    assert downstream.data.upstream_pathspec == ingest.pathspec
    assert downstream.data.upstream_count == 4
    assert downstream.data.trigger_run == ingest.pathspec
    assert downstream.data.branch == "user.tester"
    assert downstream.trigger.event.name == report.event_name

    finish = [e for e in EventLog(mlp_home / "events.db").list() if e.source == "metaflow"]
    assert [e.name for e in finish] == [
        "metaflow.mlp_example.user.tester.IngestFlow.end",
        "metaflow.mlp_example.user.tester.ReportFlow.end",
    ]
    assert finish[0].payload["run_id"] == ingest.run_id
    assert finish[0].id == f"{ingest.pathspec}/end/{finish[0].payload['task_id']}"


@pytest.mark.timeout(600)
def test_a_run_started_with_runner_triggers_its_downstream_flow(mlp_home):
    with Runner(str(EXAMPLE / "ingest_flow.py"), cwd=str(EXAMPLE), show_output=False).run(
        region="NL", rows=2
    ) as running:
        assert running.status == "successful", running.stderr
        upstream_pathspec = running.run.pathspec

    summary = Orchestrator(load_settings(), flows_dir=EXAMPLE).run(until_idle=True)
    assert (summary.started, summary.succeeded, summary.failed) == (1, 1, 0)
    [report] = list_runs(load_settings())
    assert report.flow == "ReportFlow"
    downstream = client_run(mlp_home, report.pathspec)
    assert downstream.data.upstream_pathspec == upstream_pathspec
    assert downstream.data.upstream_count == 2
    # The finish event of a Runner run is published exactly once.
    names = [e.name for e in EventLog(mlp_home / "events.db").list()]
    assert names.count("metaflow.mlp_example.user.tester.IngestFlow.end") == 1
