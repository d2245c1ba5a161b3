"""``mlp serve`` and ``mlp jobs``."""

from __future__ import annotations

import re
from pathlib import Path

import click

from mlplatform._output import emit, format_option
from mlplatform.config import load_settings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def _duration(value: str | None) -> float | None:
    if value is None:
        return None
    match = _DURATION.match(value)
    if not match:
        raise click.BadParameter(
            f"{value!r} is not a duration such as 60s, 5m or 1.5", param_hint="--idle-timeout"
        )
    return float(match.group(1)) * _SECONDS[match.group(2)]


@click.command("serve")
@click.argument("service_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host", default=None, help="Address to listen on (default hosting.host).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port (0: any free one).")
@click.option("--min-workers", type=click.IntRange(min=0), default=None, help="Workers kept warm.")
@click.option("--max-workers", type=click.IntRange(min=1), default=None, help="Most workers.")
@click.option("--idle-timeout", default=None, help="Go to min workers after this idle, e.g. 60s.")
@click.option(
    "--target-concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="In-flight requests per worker.",
)
@click.option(
    "--max-queued", type=click.IntRange(min=0), default=None, help="Held requests before 429."
)
@click.option(
    "--emit", type=click.Choice(["knative"]), default=None, help="Print deployment YAML instead."
)
def serve(
    service_file: Path,
    host: str | None,
    port: int | None,
    min_workers: int | None,
    max_workers: int | None,
    idle_timeout: str | None,
    target_concurrency: int | None,
    max_queued: int | None,
    emit: str | None,
) -> None:
    """Serve SERVICE_FILE's endpoints: a front, workers from zero, durable async jobs.

    With --emit knative, print the Knative Service (and the async workers' objects) to
    deploy it instead.
    """
    from mlplatform.hosting._serve import with_hosting

    settings = with_hosting(
        load_settings(),
        host=host,
        port=port,
        min_workers=min_workers,
        max_workers=max_workers,
        idle_timeout_s=_duration(idle_timeout),
        target_concurrency=target_concurrency,
        max_queued=max_queued,
    )
    if emit == "knative":
        from mlplatform.hosting._knative import knative_manifests
        from mlplatform.hosting._service import load_service

        click.echo(knative_manifests(service_file, load_service(service_file), settings), nl=False)
        return
    from mlplatform.hosting._serve import run_front

    run_front(service_file, settings, announce=lambda line: click.echo(line, err=True))


@click.group("jobs")
def jobs() -> None:
    """Async jobs of the services of the local profile."""


def _stores():
    from mlplatform.cache import list_namespaces
    from mlplatform.hosting._jobs import JobStore

    settings = load_settings()
    for namespace in list_namespaces(settings=settings):
        if namespace.startswith("hosting.") and namespace.endswith(".jobs"):
            yield JobStore(namespace.removeprefix("hosting.").removesuffix(".jobs"), settings)


@jobs.command("ls")
@click.option("--service", default=None, help="Only jobs of this service.")
@click.option("--status", type=click.Choice(["queued", "running", "done", "failed"]), default=None)
@click.option(
    "--limit", type=click.IntRange(min=0), default=50, show_default=True, help="The newest N."
)
@format_option
def jobs_ls(service: str | None, status: str | None, limit: int, output_format: str) -> None:
    """List async jobs: service, id, endpoint, status, attempts, times, error."""
    from mlplatform._time import utc_from_epoch

    rows = []
    for store in _stores():
        if service and store.service != service:
            continue
        for record in store.records():
            if status and record.status != status:
                continue
            rows.append(
                {
                    "service": store.service,
                    "job": record.id,
                    "endpoint": record.endpoint,
                    "status": record.status,
                    "attempts": record.attempts,
                    "created": utc_from_epoch(record.created),
                    "finished": utc_from_epoch(record.finished),
                    "error": record.error,
                }
            )
        store.close()
    rows.sort(key=lambda row: row["created"])
    emit(
        rows[-limit:] if limit else [],
        ["service", "job", "endpoint", "status", "attempts", "created", "finished", "error"],
        output_format,
        keys=["service", "job", "endpoint"],
        empty="no jobs",
    )


@jobs.command("show")
@click.argument("job_id")
def jobs_show(job_id: str) -> None:
    """Show one job: its record, payload and result."""
    import json

    from mlplatform.hosting._errors import JobNotFoundError

    for store in _stores():
        try:
            record = store.get(job_id)
        except JobNotFoundError:
            continue
        finally:
            store.close()
        click.echo(
            json.dumps({"service": store.service, **record.to_dict()}, indent=2, default=str)
        )
        return
    raise JobNotFoundError(
        f"no job {job_id!r} in any service of this profile (`mlp jobs ls` lists them)"
    )
