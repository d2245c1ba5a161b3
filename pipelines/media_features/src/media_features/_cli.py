"""``mlp features``: get features of an asset, show a feature's graph, follow a job.

    mlp features get ASSET FEATURE... [--no-wait] [--timeout 60] [--url URL] [--serve]
    mlp features graph FEATURE...
    mlp features status JOB

Errors are the pipeline's exceptions, printed by ``mlp`` as one line (exit 2); ``get`` exits
1 when a feature failed (each failure's root cause is printed).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import numpy as np

__all__ = ["features"]

_PREVIEW = 6


def _summary(value: Any) -> str:
    """A short, one-line view of a value (arrays by dtype, shape and first items)."""
    if isinstance(value, np.ndarray):
        floating = np.issubdtype(value.dtype, np.floating)
        flat = value.ravel()[:_PREVIEW]
        items = ", ".join(f"{v:.4g}" if floating else str(v) for v in flat)
        more = ", ..." if value.size > _PREVIEW else ""
        return f"{value.dtype}{list(value.shape)} [{items}{more}]"
    text = json.dumps(value, separators=(", ", ": "))
    return text if len(text) <= 160 else text[:157] + "..."


def _jsonable(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


def _store(url: str | None, serve: bool) -> Any:
    from media_features._store import FeatureStore

    store = FeatureStore(url)
    if serve:
        import httpx

        try:
            httpx.get(f"{store.url}/healthz", timeout=2)
        except httpx.TransportError:
            from media_features._launch import start_service

            port = httpx.URL(store.url).port or 0
            service = start_service(port, detach=True, settings=store.settings)
            click.echo(
                f"started the feature service at {service.url} (pid {service.process.pid}, "
                f"log {service.log}); stop it with `kill {service.process.pid}`",
                err=True,
            )
    return store


@click.group("features")
def features() -> None:
    """Media features on demand: computed by the hosted feature service, cached."""


_url_option = click.option(
    "--url", default=None, help="The feature service (default MLP_FEATURES_URL or the config's)."
)
_format_option = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text"
)


@features.command("get")
@click.argument("asset")
@click.argument("feature_names", metavar="FEATURE...", nargs=-1, required=True)
@click.option("--no-wait", is_flag=True, help="Return job ids at once instead of waiting.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True)
@_url_option
@click.option("--serve", is_flag=True, help="Start the service in the background if it is down.")
@_format_option
def get(
    asset: str,
    feature_names: tuple[str, ...],
    no_wait: bool,
    timeout: float,
    url: str | None,
    serve: bool,
    output_format: str,
) -> None:
    """Get FEATUREs of ASSET: cached ones at once, missing ones computed by the service."""
    with _store(url, serve) as store:
        batch = store.get([asset], list(feature_names), wait=not no_wait, timeout=timeout)
    rows = []
    for result in batch:
        row: dict[str, Any] = {"feature": result.feature, "status": result.status}
        if result.status == "done":
            row["cached"] = result.cached
            row["value"] = _jsonable(result.value)
        elif result.status == "failed":
            row["error"] = result.error
        else:
            row["job_id"] = result.job.job_id
        row["key"] = result.key
        rows.append((result, row))
    if output_format == "json":
        click.echo(json.dumps({"asset": asset, "features": [row for _, row in rows]}))
    else:
        for result, _ in rows:
            if result.status == "done":
                origin = "cached" if result.cached else "computed"
                click.echo(f"{result.feature:<18} {origin:<9} {_summary(result.value)}")
            elif result.status == "failed":
                click.echo(f"{result.feature:<18} failed    {result.error}")
            else:
                click.echo(
                    f"{result.feature:<18} pending   job {result.job.job_id} "
                    f"(`mlp features status {result.job.job_id}`)"
                )
    if batch.failed:
        sys.exit(1)


@features.command("graph")
@click.argument("feature_names", metavar="FEATURE...", nargs=-1, required=True)
def graph(feature_names: tuple[str, ...]) -> None:
    """Print the dependency graph of each FEATURE, down to the asset's sources."""
    from media_features._builtin import registry

    for index, name in enumerate(feature_names):
        if index:
            click.echo()
        click.echo(registry.render(name))


@features.command("status")
@click.argument("job_id", metavar="JOB")
@_url_option
@_format_option
def status(job_id: str, url: str | None, output_format: str) -> None:
    """Show a job of the feature service: its status, and the value once done."""
    with _store(url, serve=False) as store:
        job = store.status(job_id)
    result = job.result or {}
    if output_format == "json":
        body = {
            "job_id": job.job_id,
            "status": job.status,
            "attempts": job.attempts,
            "error": job.error,
            "result": job.result,
            "value": _jsonable(job.value),
        }
        click.echo(json.dumps(body))
        return
    click.echo(f"job {job.job_id}: {job.status} after {job.attempts} attempt(s)")
    if result:
        click.echo(
            f"{result['feature']} v{result['version']} of {result['asset_id']} "
            f"v{result['asset_version']} ({'computed' if result['computed'] else 'was cached'}"
            f" in {result['seconds']:.3f} s)"
        )
    if job.status == "done":
        click.echo(f"value: {_summary(job.value)}")
    if job.error:
        click.echo(f"error: {job.error}")
