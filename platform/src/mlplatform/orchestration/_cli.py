"""``mlp events``, ``mlp orchestrate``, ``mlp runs`` and ``mlp deploy``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from mlplatform._output import emit, format_option
from mlplatform.config import load_settings
from mlplatform.orchestration._errors import EventBackendError
from mlplatform.orchestration._runs import RUN_STATUSES

logger = logging.getLogger(__name__)

_STATUS_STYLE = {"succeeded": "green", "failed": "red", "running": "cyan", "pending": "yellow"}
_COUNT = click.IntRange(min=0)


@click.group("events")
def events() -> None:
    """Publish and list events (the local event log, or Argo Events in production)."""


@events.command("publish")
@click.argument("name")
@click.option("--payload", default="{}", show_default=True, help="A JSON object.")
@click.option("--id", "event_id", default=None, help="Event id (default: a new uuid).")
def events_publish(name: str, payload: str, event_id: str | None) -> None:
    """Publish event NAME with a JSON --payload.

    Publishing an id again with the same name and payload stores nothing; with another
    payload it is an error.
    """
    from mlplatform.orchestration._events import parse_payload, publish

    event = publish(name, parse_payload(payload), event_id=event_id, source="cli")
    if event.duplicate:
        click.echo(f"already published {event.name} id={event.id} (same payload; nothing stored)")
    else:
        click.echo(f"published {event.name} id={event.id}")


@events.command("ls")
@click.option("--name", default=None, help="Only events of this name.")
@click.option("--limit", type=_COUNT, default=50, show_default=True, help="The newest this many.")
@format_option
def events_ls(name: str | None, limit: int, output_format: str) -> None:
    """List the latest events of the local event log."""
    from mlplatform.orchestration._local import EventLog

    settings = load_settings()
    if settings.orchestration.backend != "local":
        raise EventBackendError(
            "mlp events ls reads the local event log; with orchestration.backend = "
            f"{settings.orchestration.backend!r} list events in Argo Events (its event source "
            "logs or the sensors' triggered workflows)"
        )
    rows = [
        {
            "seq": event.seq,
            "time (UTC)": event.timestamp,
            "name": event.name,
            "id": event.id,
            "source": event.source,
            "payload": event.payload,
        }
        for event in EventLog.from_settings(settings).list(name=name, limit=limit)
    ]
    emit(
        rows,
        ["seq", "time (UTC)", "name", "id", "source", "payload"],
        output_format,
        title="events",
        keys=("seq", "name", "id", "source"),
        empty="no events",
    )


@click.command("orchestrate")
@click.option("--once", is_flag=True, help="Handle what is pending now, then exit.")
@click.option(
    "--until-idle",
    is_flag=True,
    help="Exit when no event is unread and no run is pending or running.",
)
@click.option(
    "--flows-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of flows (default: orchestration.flows_dir, i.e. pipelines/).",
)
@click.option("--branch", default=None, help="@project branch for untargeted runs.")
@click.option("--production", is_flag=True, help="Use the @project production branch.")
@click.option("--show-output", is_flag=True, help="Stream the runs' output.")
def orchestrate(
    once: bool,
    until_idle: bool,
    flows_dir: Path | None,
    branch: str | None,
    production: bool,
    show_output: bool,
) -> None:
    """Run flows on their @trigger, @trigger_on_finish and @schedule (local orchestrator).

    Serves in the foreground until Ctrl-C, unless --once or --until-idle.
    """
    from mlplatform.orchestration._orchestrator import Orchestrator

    if once and until_idle:
        raise click.UsageError("use --once or --until-idle, not both")
    orchestrator = Orchestrator(
        flows_dir=flows_dir, branch=branch, production=production, show_output=show_output
    )
    if flows_dir is not None and not orchestrator.flows_dir.is_dir():
        raise click.BadParameter(f"{flows_dir} is not a folder", param_hint="--flows-dir")
    summary = orchestrator.run(once=once, until_idle=until_idle)
    for key, error in summary.flow_errors.items():
        click.secho(f"not orchestrated: {key}: {error}", fg="red", err=True)
    click.echo(
        f"flows: {', '.join(summary.flows) or 'none'}; runs started {summary.started}, "
        f"succeeded {summary.succeeded}, failed {summary.failed}"
    )
    if summary.interrupted:
        click.echo("stopped: interrupted runs are queued and run again on the next start")
        sys.exit(130)


@click.group("runs")
def runs() -> None:
    """The record of runs the orchestrator started."""


def _last_line(error: str | None) -> str | None:
    """What a table shows of an error (json and csv carry all of it)."""
    lines = (error or "").strip().splitlines()
    return lines[-1] if lines else None


@runs.command("ls")
@click.option("--flow", default=None, help="Only runs of this flow.")
@click.option(
    "--status",
    type=click.Choice(RUN_STATUSES),
    default=None,
    help="Only runs in this status.",
)
@click.option("--limit", type=_COUNT, default=50, show_default=True, help="The newest this many.")
@format_option
def runs_ls(flow: str | None, status: str | None, limit: int, output_format: str) -> None:
    """List triggered runs: event, flow, run id, status, duration, error."""
    from mlplatform.orchestration._runs import list_runs

    table = output_format == "table"
    rows = [
        {
            "id": record.id,
            "flow": record.flow,
            "branch": record.branch,
            "event": record.event_name,
            "event_id": record.event_id,
            "attempt": record.attempt,
            "status": record.status,
            "run": record.pathspec,
            "started": record.started_at,
            "duration_s": record.duration_s,
            "error": _last_line(record.error) if table else record.error,
        }
        for record in list_runs(flow=flow, status=status, limit=limit)
    ]
    emit(
        rows,
        [
            "id",
            "flow",
            "branch",
            "event",
            "event_id",
            "attempt",
            "status",
            "run",
            "started",
            "duration_s",
            "error",
        ],
        output_format,
        title="runs",
        keys=("id", "flow", "event", "event_id", "status", "run"),
        styles={"status": lambda value: _STATUS_STYLE.get(value, "white")},
        empty="no runs",
    )


@click.command("deploy")
@click.argument("flow_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--target", type=click.Choice(["argo"]), default="argo", show_default=True)
@click.option("--dry-run", is_flag=True, help="Compile the WorkflowTemplate JSON only.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the template JSON here (default: standard output).",
)
@click.option("--branch", default=None, help="@project branch.")
@click.option("--production", is_flag=True, help="@project production branch.")
def deploy(
    flow_file: Path,
    target: str,
    dry_run: bool,
    output: Path | None,
    branch: str | None,
    production: bool,
) -> None:
    """Deploy FLOW_FILE to Argo Workflows on the production profile."""
    from mlplatform.orchestration._deploy import deploy as deploy_flow

    result = deploy_flow(
        flow_file,
        target=target,
        dry_run=dry_run,
        output=output,
        branch=branch,
        production=production,
    )
    if dry_run and result.output is None:
        click.echo(json.dumps(result.workflow_template, indent=2, sort_keys=True))
    elif dry_run:
        click.echo(f"wrote the Argo WorkflowTemplate of {flow_file} to {result.output}")
    else:
        click.echo(f"deployed {flow_file} to Argo Workflows")
