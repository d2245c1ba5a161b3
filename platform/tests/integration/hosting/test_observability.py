"""Request logs, metrics, traces across the front, a worker and a job, and alerts that fire
once per episode to a webhook on loopback."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from mlplatform.testing import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

METRICS = [
    "mlp_requests_total",
    "mlp_request_duration_seconds_bucket",
    "mlp_requests_in_flight",
    "mlp_requests_held",
    "mlp_jobs_queued",
    "mlp_jobs_oldest_queued_age_seconds",
    "mlp_workers",
    "mlp_cold_starts_total",
    "mlp_cold_start_seconds_bucket",
]


def json_lines(served) -> list[dict]:
    found = []
    for line in served.lines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return found


def test_one_json_log_line_per_request_and_the_metrics(serve, example):
    served = serve(example / "fault_service.py")
    with served.client() as client:
        answered = client.post("/work", json={"n": 1})
        client.post("/work", json={"n": "x"})
        metrics = client.get("/metrics").text
    requests = [line for line in json_lines(served) if "request_id" in line]
    work = [line for line in requests if line["route"] == "/work"]
    assert [line["status"] for line in work] == [200, 422]
    first = work[0]
    assert first["request_id"] == answered.headers["x-request-id"]
    assert set(first) >= {"request_id", "route", "status", "latency_ms", "worker", "bytes"}
    assert first["worker"].startswith("http-") and first["bytes"] == len(answered.content)
    for name in METRICS:
        assert name in metrics, name
    assert 'mlp_requests_total{route="/work",status="200"} 1.0' in metrics
    assert 'mlp_requests_total{route="/work",status="422"} 1.0' in metrics


def test_a_trace_runs_from_the_front_through_the_worker_to_the_job(serve, example, tmp_path):
    env = {"MLP_HOSTING__TRACING": "console", "FAULTS_LOG": str(tmp_path / "faults.jsonl")}
    served = serve(example / "fault_service.py", env=env)
    with served.client() as client:
        client.post("/work", json={"n": 1})
        job = client.post("/job", json={"n": 2}).json()["job_id"]
        deadline = time.monotonic() + 60
        while client.get(f"/jobs/{job}").json()["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    time.sleep(0.5)  # the consumer's span is written when it ends
    spans = [line for line in json_lines(served) if "context" in line and "name" in line]
    front = next(s for s in spans if s["name"] == "POST /work" and s["parent_id"] is None)
    worker = next(s for s in spans if s["name"] == "POST /work" and s["parent_id"] is not None)
    assert worker["context"]["trace_id"] == front["context"]["trace_id"]
    assert worker["parent_id"] == front["context"]["span_id"]
    submit = next(s for s in spans if s["name"] == "POST /job" and s["parent_id"] is not None)
    job_span = next(s for s in spans if s["name"] == "job /job")
    assert job_span["attributes"]["mlp.job_id"] == job
    assert job_span["links"][0]["context"]["trace_id"] == submit["context"]["trace_id"]


class Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        length = int(self.headers["content-length"])
        Webhook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_alert_fires_once_per_episode_to_the_webhook_and_the_log(serve, example):
    Webhook.received = []
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rules = [{"name": "errors", "metric": "error_rate", "above": 0.5, "for_s": 0}]
    env = {
        "MLP_HOSTING__ALERTS": json.dumps(rules),
        "MLP_HOSTING__ALERT_WEBHOOK_URL": f"http://127.0.0.1:{port}/alerts",
    }
    try:
        served = serve(example / "fault_service.py", env=env)
        with served.client() as client:
            for _ in range(4):
                assert client.post("/error", json={}).status_code == 500
            deadline = time.monotonic() + 30
            while not Webhook.received:
                assert time.monotonic() < deadline, "the alert never reached the webhook"
                time.sleep(0.1)
            for _ in range(4):
                client.post("/error", json={})
            time.sleep(2.5)  # the rules are evaluated every second
            assert 'mlp_alerts_total{rule="errors"} 1.0' in client.get("/metrics").text
    finally:
        server.shutdown()
    assert len(Webhook.received) == 1  # one episode, one alert
    alert = Webhook.received[0]
    assert (alert["alert"], alert["service"], alert["metric"]) == ("errors", "faults", "error_rate")
    assert alert["value"] > 0.5
    assert any("alert errors firing: error_rate" in line for line in served.lines())
