"""The event backend seam: one abstract class, one module per backend, looked up by short name.

``orchestration.backend`` names the backend: ``local`` (the durable event log in SQLite,
`mlplatform.orchestration._local`) or ``argo`` (the Argo Events webhook,
`mlplatform.orchestration._argo`). `check` is what ``mlp doctor`` asks of the layer.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlplatform._backend import Backend
from mlplatform._checks import CheckResult, Status
from mlplatform._loader import lookup
from mlplatform.orchestration._errors import UnknownBackendError

if TYPE_CHECKING:
    from mlplatform.config import Settings
    from mlplatform.orchestration._events import Event

__all__ = ["BACKENDS", "EventBackend", "backend_class", "check", "open_backend"]

# Short name -> "module:class"; imported only when asked for.
BACKENDS: dict[str, str] = {
    "local": "mlplatform.orchestration._local:EventLog",
    "argo": "mlplatform.orchestration._argo:ArgoEventsBackend",
}


class EventBackend(Backend):
    """Where published events go; every backend refuses the same malformed events."""

    @abstractmethod
    def publish(
        self,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        event_id: str | None = None,
        source: str = "api",
    ) -> Event:
        """Publish one event and return it.

        Args:
            name: Event name (letters, digits, ``_``, ``.``, ``-``).
            payload: A JSON object (no NaN or Infinity).
            event_id: The event's id (default: a new uuid).
            source: Who publishes (``api``, ``cli``, ``metaflow``, ``schedule``, ...).

        Raises:
            EventPayloadError: Bad name or payload; nothing is sent.
            EventBackendError: The backend refused the event or could not be reached.
        """


def backend_class(name: str) -> type[EventBackend]:
    """The class of the event backend called ``name`` (``local`` or ``argo``).

    Raises:
        UnknownBackendError: No backend has that name; the message lists the valid names.
    """
    return lookup(
        BACKENDS,
        name,
        what="event backend",
        setting="orchestration.backend",
        error=UnknownBackendError,
    )


def open_backend(settings: Settings) -> EventBackend:
    """The event backend the profile names (``orchestration.backend``), opened.

    Raises:
        UnknownBackendError: The name is not in `BACKENDS`.
        EventBackendError: The backend misses a setting it needs.
    """
    return backend_class(settings.orchestration.backend).from_settings(settings)


def _finish_events() -> tuple[Status, str]:
    """The platform's step decorator that publishes finish events is attached to every flow."""
    from metaflow import metaflow_config as mf

    if "mlp_events" in mf.DEFAULT_DECOSPECS.split():
        return "ok", "every successful run publishes its finish event"
    return "missing", (
        f"METAFLOW_DEFAULT_DECOSPECS={mf.DEFAULT_DECOSPECS!r} replaces the platform's "
        "'mlp_events' decorator: add mlp_events to it, or runs publish no finish event"
    )


def _flows_folder(settings: Settings) -> CheckResult:
    flows_dir = settings.orchestration.flows_dir
    return CheckResult(
        "flows folder",
        "local",
        "ok" if flows_dir.is_dir() else "missing",
        str(flows_dir) if flows_dir.is_dir() else f"{flows_dir} does not exist yet",
        required=False,
    )


def check(settings: Settings) -> list[CheckResult]:
    """``mlp doctor``: finish events, the event backend, and (local) the flows folder."""
    backend = settings.orchestration.backend
    results = [
        CheckResult("finish events", "mlp_events", *_finish_events()),
        backend_class(backend).check(settings),
    ]
    if backend == "local":  # the local orchestrator serves the local backend only
        results.append(_flows_folder(settings))
    return results
