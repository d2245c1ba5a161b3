"""Event backends for the contract suite: the local log in tmp_path, and the Argo Events
webhook backend posting to a real HTTP server on a free loopback port that records what it
receives (a stand-in for the webhook event source)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from mlplatform.config import Settings, load_settings
from mlplatform.orchestration import EventLog

# Fields Metaflow's ArgoEvent and our backend add to every posted payload.
_ENVELOPE = {"name", "id", "timestamp", "utc_date", "generated-by-metaflow", "source"}


class Webhook(BaseHTTPRequestHandler):
    """Records each POSTed JSON body in ``received`` and answers ``status``."""

    received: ClassVar[list[dict]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook(monkeypatch, mlp_home) -> Iterator[type[Webhook]]:
    """A webhook on a free loopback port; the profile's event backend is argo, pointing at it."""
    handler = type("RecordingWebhook", (Webhook,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("MLP_ORCHESTRATION__BACKEND", "argo")
    monkeypatch.setenv(
        "MLP_ARGO__EVENTS_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/metaflow-event"
    )
    yield handler
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class BackendUnderTest:
    """A profile whose event backend is ``name``, and what its receiving end got."""

    name: str
    settings: Settings
    delivered: Callable[[], list[tuple[str, str, dict[str, Any]]]]


@pytest.fixture(params=["local", pytest.param("argo", marks=pytest.mark.integration)])
def event_backend(request: pytest.FixtureRequest, mlp_home) -> BackendUnderTest:
    """Each event backend in turn, with ``delivered()``: (name, id, payload) as received."""
    if request.param == "argo":
        hook = request.getfixturevalue("webhook")

        def delivered() -> list[tuple[str, str, dict[str, Any]]]:
            return [
                (
                    body["name"],
                    body["payload"]["id"],
                    {k: v for k, v in body["payload"].items() if k not in _ENVELOPE},
                )
                for body in hook.received
            ]
    else:

        def delivered() -> list[tuple[str, str, dict[str, Any]]]:
            log = EventLog.from_settings(load_settings())
            return [(event.name, event.id, event.payload) for event in log.list(limit=1000)]

    settings = load_settings()
    assert settings.orchestration.backend == request.param
    return BackendUnderTest(request.param, settings, delivered)
