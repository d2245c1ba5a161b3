"""The production event backend posts to an Argo Events webhook (a loopback HTTP server here)."""

import pytest

from mlplatform.config import load_settings
from mlplatform.orchestration import EventBackendError, publish
from mlplatform.orchestration._backend import open_backend

pytestmark = pytest.mark.integration


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
        open_backend(load_settings())
