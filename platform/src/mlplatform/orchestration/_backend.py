"""The orchestration layer's backends, and what ``mlp doctor`` checks of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlplatform._checks import CheckResult, Status, sqlite_probe, tcp_probe

if TYPE_CHECKING:
    from mlplatform.config import Settings

__all__ = ["check"]


def _finish_events() -> tuple[Status, str]:
    """The platform's step decorator that publishes finish events is attached to every flow."""
    from metaflow import metaflow_config as mf

    if "mlp_events" in mf.DEFAULT_DECOSPECS.split():
        return "ok", "every successful run publishes its finish event"
    return "missing", (
        f"METAFLOW_DEFAULT_DECOSPECS={mf.DEFAULT_DECOSPECS!r} replaces the platform's "
        "'mlp_events' decorator: add mlp_events to it, or runs publish no finish event"
    )


def check(settings: Settings) -> list[CheckResult]:
    """``mlp doctor``: finish events, the event backend, the flows folder."""
    from mlplatform.orchestration._db import database_path

    results = [CheckResult("finish events", "mlp_events", *_finish_events())]
    if settings.orchestration.backend == "local":
        results.append(
            CheckResult("event log", "sqlite", *sqlite_probe(database_path(settings.home)))
        )
        flows_dir = settings.orchestration.flows_dir
        results.append(
            CheckResult(
                "flows folder",
                "local",
                "ok" if flows_dir.is_dir() else "missing",
                str(flows_dir) if flows_dir.is_dir() else f"{flows_dir} does not exist yet",
                required=False,
            )
        )
    elif settings.argo.events_webhook_url:
        results.append(
            CheckResult("argo events", "webhook", *tcp_probe(settings.argo.events_webhook_url, 443))
        )
    else:
        results.append(
            CheckResult(
                "argo events",
                "webhook",
                "missing",
                "argo.events_webhook_url is not set: flows cannot publish events",
                required=False,
            )
        )
    return results
