"""``mlp app perf_viz``: registered through the entry point group ``mlplatform.commands``."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["app"]


@click.group("app")
def app() -> None:
    """Interactive apps of the pipelines."""


@app.command("perf_viz")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address both listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8501, show_default=True, help="The app's port."
)
@click.option(
    "--service-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="The service's port (0: any free one).",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=1),
    default=90.0,
    show_default=True,
    help="Seconds each may take to start.",
)
@click.option(
    "--log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Log file of both (default <state folder>/perf_viz/app.log).",
)
def perf_viz_app(
    host: str, port: int, service_port: int, timeout_s: float, log: Path | None
) -> None:
    """Start the title performance service and its Streamlit app; print the URL.

    The service answers from the current cache generation (run the flow first:
    uv run pipelines/perf_viz/flow.py run). Ctrl-C stops both.
    """
    import logging

    from mlplatform.config import load_settings
    from perf_viz._launch import run_app

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per readiness probe
    log = log or Path(load_settings().home) / "perf_viz" / "app.log"
    run_app(
        lambda line: click.echo(line),
        log=log,
        host=host,
        port=port,
        service_port=service_port,
        timeout_s=timeout_s,
    )
