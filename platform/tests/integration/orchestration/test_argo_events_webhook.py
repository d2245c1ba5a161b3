"""The production event backend posts to an Argo Events webhook (a loopback HTTP server here)."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from mlplatform.orchestration import EventBackendError, publish
from mlplatform.orchestration._events import event_backend

pytestmark = pytest.mark.integration


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook(monkeypatch, mlp_home) -> Iterator[type[_Webhook]]:
    """A webhook on a free loopback port; the profile's event backend is argo, pointing at it."""
    handler = type("Webhook", (_Webhook,), {"received": [], "status": 200})
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


def test_publish_posts_the_event_as_metaflow_sends_it(webhook):
    event = publish("titles_ready", {"region": "FR", "rows": 4}, event_id="evt-1")

    assert event.name == "titles_ready"
    assert event.id == "evt-1"
    (body,) = webhook.received
    assert body["name"] == "titles_ready"
    payload = body["payload"]
    assert payload["region"] == "FR"
    assert payload["rows"] == 4
    assert payload["id"] == "evt-1"  # our id, not ArgoEvent's own uuid
    assert payload["source"] == "api"


def test_a_refusing_webhook_is_a_clear_error(webhook):
    webhook.status = 500
    with pytest.raises(EventBackendError, match="Argo Events did not accept event 'titles_ready'"):
        publish("titles_ready", {"region": "FR"})


def test_argo_backend_without_a_webhook_url_is_a_clear_error(monkeypatch, mlp_home):
    monkeypatch.setenv("MLP_ORCHESTRATION__BACKEND", "argo")
    with pytest.raises(EventBackendError, match=r"needs argo\.events_webhook_url"):
        event_backend()
