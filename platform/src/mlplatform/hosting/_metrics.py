"""The front's Prometheus metrics (``GET /metrics``) and the recent-request window that the
alert rules read."""

from __future__ import annotations

import collections
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["FrontMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
WINDOW_S = 60.0


class FrontMetrics:
    """Everything the front counts, in its own registry.

    Metrics: ``mlp_requests_total`` and ``mlp_request_duration_seconds`` by route and status,
    ``mlp_requests_in_flight``, ``mlp_requests_held`` (waiting for a worker),
    ``mlp_jobs_queued``, ``mlp_jobs_oldest_queued_age_seconds``, ``mlp_workers`` by kind
    (``http``, ``job``) and state (``starting``, ``ready``), ``mlp_cold_starts_total`` and
    ``mlp_cold_start_seconds``, ``mlp_worker_exits_total`` by kind, ``mlp_alerts_total`` by rule.
    """

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.requests = Counter(
            "mlp_requests", "Requests answered", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "mlp_request_duration_seconds",
            "Time from a request's arrival to its answer",
            ["route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "mlp_requests_in_flight", "Requests at workers", registry=self.registry
        )
        self.held = Gauge(
            "mlp_requests_held", "Requests waiting for a worker", registry=self.registry
        )
        self.jobs_queued = Gauge("mlp_jobs_queued", "Async jobs waiting", registry=self.registry)
        self.oldest_job = Gauge(
            "mlp_jobs_oldest_queued_age_seconds",
            "Age of the oldest waiting job",
            registry=self.registry,
        )
        self.workers = Gauge(
            "mlp_workers", "Worker processes", ["kind", "state"], registry=self.registry
        )
        self.cold_starts = Counter(
            "mlp_cold_starts", "Workers started", ["kind"], registry=self.registry
        )
        self.cold_start_seconds = Histogram(
            "mlp_cold_start_seconds",
            "From starting a worker to its being ready",
            ["kind"],
            buckets=(0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.worker_exits = Counter(
            "mlp_worker_exits", "Workers that exited unasked", ["kind"], registry=self.registry
        )
        self.alerts = Counter("mlp_alerts", "Alerts fired", ["rule"], registry=self.registry)
        self.info = Gauge("mlp_service_info", "The service", list(labels), registry=self.registry)
        self.info.labels(**labels).set(1)
        self._recent: collections.deque[tuple[float, int, float]] = collections.deque()

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route, str(status)).observe(seconds)
        now = time.monotonic()
        self._recent.append((now, status, seconds))
        while self._recent and self._recent[0][0] < now - WINDOW_S:
            self._recent.popleft()

    def error_rate(self) -> float:
        """Share of 5xx answers over the last minute (0 without requests)."""
        if not self._recent:
            return 0.0
        return sum(1 for _, status, _ in self._recent if status >= 500) / len(self._recent)

    def p99_latency(self) -> float:
        """The 99th percentile latency over the last minute (0 without requests)."""
        if not self._recent:
            return 0.0
        latencies = sorted(seconds for _, _, seconds in self._recent)
        return latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format."""
        return generate_latest(self.registry)
