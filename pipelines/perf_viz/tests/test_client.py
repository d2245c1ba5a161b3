"""The app's client: real sockets for "down" and "slow", the service's error bodies mapped."""

import socket
import threading
import time

import perf_viz as pv
import pytest
from perf_viz._client import _error

from mlplatform.testing import free_port


def test_nothing_listening_is_unreachable_with_what_to_do():
    client = pv.PerformanceClient(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(pv.ServiceUnreachableError, match=r"is not reachable.*mlp app perf_viz"):
        client.meta()


@pytest.fixture
def silent_server():
    """A real TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.mark.timeout(30)
def test_a_service_that_does_not_answer_in_time_is_slow(silent_server):
    client = pv.PerformanceClient(silent_server, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(pv.ServiceSlowError, match=r"did not answer within 0.5 s"):
        client.meta()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("status", "body", "kind", "says"),
    [
        (404, {"error": "unknown title 'q'", "kind": "unknown_title", "name": "q"},
         pv.UnknownNameError, "unknown title 'q'"),
        (503, {"error": "no data published yet: ...", "kind": "nothing_published"},
         pv.NothingPublishedError, "no data published yet"),
        (422, {"error": "date range ... is outside", "kind": "date_range_outside_data"},
         pv.DateRangeError, "is outside"),
        (422, {"detail": [{"loc": ["body", "metric"], "msg": "Input should be 'views'"}]},
         pv.QueryError, "refused the query: metric: Input should be 'views'"),
        (500, {"error": "boom"}, pv.ServiceError, "answered 500: boom"),
    ],
)  # fmt: skip
def test_error_bodies_become_the_errors_the_app_shows(status, body, kind, says):
    error = _error(status, body, "http://svc")
    assert type(error) is kind and says in str(error)
    if isinstance(error, pv.UnknownNameError):
        assert error.kind == "unknown_title" and error.details == {"name": "q"}
