"""The event backend contract: every backend passes the same tests.

Parametrised over ``local`` (the SQLite event log) and ``argo`` (the Argo Events webhook
backend posting to a recording loopback HTTP server, marked ``integration``) by the
``event_backend`` fixture in conftest.py.
"""

from __future__ import annotations

import math

import pytest

from mlplatform._checks import CheckResult
from mlplatform.orchestration import (
    EventBackend,
    EventPayloadError,
    OrchestrationError,
    UnknownBackendError,
    publish,
)
from mlplatform.orchestration._backend import BACKENDS, backend_class, check, open_backend
from mlplatform.orchestration._finish import publish_finish_event


def test_the_profile_opens_the_backend_it_names(event_backend):
    backend = open_backend(event_backend.settings)
    assert isinstance(backend, EventBackend)
    assert backend.name == event_backend.name
    assert type(backend) is backend_class(event_backend.name)
    assert event_backend.name in backend.describe()


def test_check_reports_the_backend_usable(event_backend):
    result = backend_class(event_backend.name).check(event_backend.settings)
    assert isinstance(result, CheckResult)
    assert result.status == "ok", result.detail
    results = check(event_backend.settings)
    assert [r.name for r in results][:2] == ["finish events", result.name]
    assert all(r.usable for r in results)


def test_publish_delivers_name_id_and_payload(event_backend):
    event = publish(
        "titles_ready",
        {"region": "FR", "rows": 4, "tags": ["a", "b"], "nested": {"ok": True, "none": None}},
        event_id="evt-1",
        source="cli",
        settings=event_backend.settings,
    )
    assert (event.name, event.id, event.source) == ("titles_ready", "evt-1", "cli")
    assert event.payload == {
        "region": "FR",
        "rows": 4,
        "tags": ["a", "b"],
        "nested": {"ok": True, "none": None},
    }
    assert event.timestamp.tzinfo is not None
    assert not event.duplicate
    assert event_backend.delivered() == [("titles_ready", "evt-1", event.payload)]


def test_each_event_gets_its_own_id_by_default(event_backend):
    first = publish("e", {"n": 1}, settings=event_backend.settings)
    second = publish("e", {"n": 1}, settings=event_backend.settings)
    assert first.id != second.id
    assert [event_id for _, event_id, _ in event_backend.delivered()] == [first.id, second.id]


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("bad name!", {}, "event name 'bad name!' is invalid"),
        ("ok", ["a", "list"], "the payload must be a JSON object"),
        ("ok", {"when": object()}, "not JSON-serialisable"),
        ("ok", {"score": math.nan}, "payload field 'score' is nan; NaN and Infinity are not JSON"),
        ("ok", {"deep": [{"x": -math.inf}]}, r"payload field 'deep'\[0\]\['x'\] is -inf"),
    ],
)
def test_malformed_events_are_refused_before_anything_is_sent(
    event_backend, name, payload, expected
):
    with pytest.raises(EventPayloadError, match=expected):
        publish(name, payload, settings=event_backend.settings)
    assert event_backend.delivered() == []


def test_finish_events_are_named_and_shaped_as_on_argo(event_backend):
    [event] = publish_finish_event(
        "TrainFlow",
        "7",
        "end",
        "3",
        {"project_name": "demo", "branch_name": "prod", "project_flow_name": "demo.prod.Train"},
    )
    assert event.name == "metaflow.demo.prod.TrainFlow.end"
    [(name, event_id, payload)] = event_backend.delivered()
    assert (name, event_id) == ("metaflow.demo.prod.TrainFlow.end", "TrainFlow/7/end/3")
    assert payload["flow_name"] == "TrainFlow" and payload["run_id"] == "7"
    assert payload["pathspec"] == "TrainFlow/7/end/3"
    assert payload["branch_name"] == "prod"


def test_an_unknown_backend_name_lists_the_valid_ones():
    assert sorted(BACKENDS) == ["argo", "local"]
    with pytest.raises(UnknownBackendError, match=r"valid names are \['argo', 'local'\]") as raised:
        backend_class("kafka")
    assert isinstance(raised.value, OrchestrationError)
    assert isinstance(raised.value, ValueError)
    assert "orchestration.backend" in str(raised.value)
