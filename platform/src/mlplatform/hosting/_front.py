"""The front of a local service (``mlp serve``): one process that accepts every request.

It holds requests while workers start (no request fails during a cold start), routes each
to the worker with the fewest requests in flight, adds a worker when in-flight requests per
worker exceed ``target_concurrency``, stops workers that are no longer needed, and goes to
zero workers after ``idle_timeout_s`` without requests (the front stays up). At most
``max_queued`` requests wait for a worker; beyond that it answers 429 with ``Retry-After``.
It answers ``/healthz`` (itself), ``/readyz`` (a worker is ready), ``/metrics`` and
``GET /jobs/{id}`` without a worker, starts job consumers from zero on the queue's depth,
checks bearer tokens, body sizes and time limits, logs one JSON line per request, traces
each request and evaluates the alert rules. SIGTERM drains: accepted requests finish,
workers stop gracefully, accepted async jobs stay in the durable queue.

Workers and consumers are child processes (`mlplatform.hosting._process`) that die with
the front; workers listen on Unix sockets in a private folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
import httpx
from opentelemetry import trace

from mlplatform.config import Settings
from mlplatform.hosting._alerts import AlertEvaluator
from mlplatform.hosting._app import READY_PATH, bearer_ok
from mlplatform.hosting._jobs import JobStore
from mlplatform.hosting._metrics import FrontMetrics
from mlplatform.hosting._service import Service, resolve_artifacts
from mlplatform.hosting._telemetry import die_with_parent, inject_context, log_request, tracer

__all__ = ["Front"]

logger = logging.getLogger(__name__)

_TICK_S = 0.1
_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"te",
    b"trailer",
    b"upgrade",
    b"proxy-authorization",
    b"proxy-authenticate",
    b"host",
    b"content-length",
    b"expect",  # the front has read the whole body: a worker must not answer 100 Continue
}
_UNAUTHENTICATED = ("/healthz", "/readyz")


class QueueFull(Exception):
    """More requests wait for a worker than ``max_queued`` allows."""


class NoWorker(Exception):
    """No worker became ready in time."""


@dataclass
class Child:
    """A worker or consumer process of the front."""

    kind: str  # "http" | "job"
    number: int
    process: subprocess.Popen
    started: float
    socket: Path | None = None
    client: WorkerClient | None = None
    ready: bool = False
    stopping: bool = False
    in_flight: int = 0
    last_active: float = field(default_factory=time.monotonic)

    @property
    def label(self) -> str:
        return f"{self.kind}-{self.number} (pid {self.process.pid})"


class Front:
    """The ASGI application of ``mlp serve``.

    Args:
        service_file: The service's Python file.
        service: The service defined there (already imported).
        settings: Settings; ``hosting.*`` sizes and limits the front.
        python: The interpreter of workers and consumers (a named environment's, or this).
    """

    def __init__(
        self, service_file: Path, service: Service, settings: Settings, python: str | None = None
    ) -> None:
        self.service_file = Path(service_file).resolve()
        self.service = service
        self.settings = settings
        self.options = settings.hosting
        self.python = python or sys.executable
        self.artifacts = resolve_artifacts(service.artifacts)
        self.jobs = JobStore(service.name, settings) if service.async_endpoints() else None
        self.metrics = FrontMetrics(service.name)
        self.routes = {endpoint.path for endpoint in service.endpoints.values()}
        self.workers: list[Child] = []
        self.consumers: list[Child] = []
        self._held: deque[asyncio.Future[Child]] = deque()
        self._numbers = 0
        self._last_request = time.monotonic()
        self._last_job_seen = 0.0
        self._sockets = Path(tempfile.mkdtemp(prefix="mlp-serve-"))
        self._tasks: list[asyncio.Task[Any]] = []
        self._http: httpx.AsyncClient | None = None
        self._tokens = tuple(token.encode() for token in self.options.tokens)
        self._oldest_job_age = 0.0
        self.alerts = AlertEvaluator(
            service.name,
            self.options.alerts,
            self.options.alert_webhook_url,
            {
                "error_rate": self.metrics.error_rate,
                "p99_latency_s": self.metrics.p99_latency,
                "queue_age_s": lambda: self._oldest_job_age,
            },
            on_fire=lambda rule: self.metrics.alerts.labels(rule).inc(),
        )

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._handle(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as error:  # the server reports it and exits
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        """Recover unfinished jobs, start ``min_workers``, then the control loop."""
        self._http = httpx.AsyncClient()
        if self.jobs is not None:
            await asyncio.to_thread(self.jobs.recover)
        for _ in range(self.options.min_workers):
            self._start_worker()
        self._tasks.append(asyncio.create_task(self._control_loop(), name="mlp-control"))
        logger.info(
            "serving %s (%s) with %s: %d to %d workers",
            self.service.name,
            self.artifacts or "no artifacts",
            self.python,
            self.options.min_workers,
            self.options.workers,
        )

    async def stop(self) -> None:
        """Stop the control loop, then every worker and consumer gracefully."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for child in [*self.workers, *self.consumers]:
            self._stop_child(child)
        deadline = time.monotonic() + self.options.request_timeout_s + 5
        for child in [*self.workers, *self.consumers]:
            while child.process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if child.process.poll() is None:
                logger.warning("%s did not stop in time; killing it", child.label)
                child.process.kill()
            if child.client is not None:
                await child.client.aclose()
        for future in self._held:
            if not future.done():
                future.set_exception(NoWorker("the service is stopping"))
        if self._http is not None:
            await self._http.aclose()
        if self.jobs is not None:
            self.jobs.close()
        shutil.rmtree(self._sockets, ignore_errors=True)

    # -- one request -------------------------------------------------------------------

    async def _handle(self, scope: dict, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        path, method = scope["path"], scope["method"]
        route = (
            path
            if path in self.routes
            else ("/jobs/{id}" if path.startswith("/jobs/") else "other")
        )
        worker: Child | None = None
        sent = 0
        span_name = f"{method} {route}"
        with tracer().start_as_current_span(span_name, kind=trace.SpanKind.SERVER) as span:
            span.set_attribute("mlp.request_id", request_id)
            try:
                if path == "/healthz":
                    status, headers, body = 200, [], self._health()
                elif path == "/readyz":
                    ready = any(w.ready and not w.stopping for w in self.workers)
                    status, headers, body = (200 if ready else 503), [], {"ready": ready}
                elif not self._authorised(scope):
                    status = 401
                    headers = [(b"www-authenticate", b"Bearer")]
                    body = {"error": "missing or invalid bearer token"}
                elif path == "/metrics":
                    status, headers = 200, [(b"content-type", b"text/plain; version=0.0.4")]
                    body = self.metrics.exposition()
                elif method == "GET" and path.startswith("/jobs/") and self.jobs is not None:
                    status, headers, body = await self._job(path.removeprefix("/jobs/"))
                else:
                    self._last_request = time.monotonic()
                    status, headers, body, worker = await self._forward(scope, receive, request_id)
            except Exception as error:  # never leave a client without an answer
                logger.exception("request %s failed in the front", request_id)
                status, headers, body = 500, [], {"error": f"the front failed: {error}"}
            span.set_attribute("http.status_code", status)
            sent = await _respond(send, status, headers, body, request_id)
        seconds = time.perf_counter() - started
        self.metrics.observe(route, status, seconds)
        log_request(
            request_id=request_id,
            method=method,
            route=route,
            path=path,
            status=status,
            latency_ms=round(seconds * 1000, 3),
            worker=worker.label if worker else None,
            bytes=sent,
        )

    def _health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "service": self.service.name,
            "artifacts": self.artifacts,
            "workers": sum(1 for w in self.workers if w.ready),
            "held": len(self._held),
        }

    def _authorised(self, scope: dict) -> bool:
        if not self._tokens or scope["path"] in _UNAUTHENTICATED:
            return True
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        return bearer_ok(header, self._tokens)

    async def _job(self, job_id: str) -> tuple[int, list, Any]:
        from mlplatform.hosting._app import job_response

        response = await asyncio.to_thread(job_response, self.jobs, job_id)
        return response.status_code, [], response.body

    async def _forward(
        self, scope: dict, receive: Any, request_id: str
    ) -> tuple[int, list, Any, Child | None]:
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        limit = self.options.max_body_bytes
        if declared is not None and int(declared) > limit:
            return (
                413,
                [],
                {"error": f"the body is {int(declared)} bytes; the limit is {limit}"},
                None,
            )
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return 413, [], {"error": f"the body is over the limit of {limit} bytes"}, None
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        headers.append((b"x-request-id", request_id.encode()))
        for name, value in inject_context({}).items():
            headers.append((name.encode(), value.encode()))
        # The path as the client sent it (still percent-encoded), and its query.
        target = scope.get("raw_path") or scope["path"].encode()
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        for attempt in (1, 2):
            try:
                worker = await self._acquire()
            except QueueFull:
                return (
                    429,
                    [(b"retry-after", b"1")],
                    {
                        "error": f"{len(self._held)} requests already wait for a worker "
                        f"(hosting.max_queued = {self.options.max_queued}); retry after 1 s"
                    },
                    None,
                )
            except NoWorker as error:
                return 503, [(b"retry-after", b"5")], {"error": str(error)}, None
            self.metrics.in_flight.inc()
            try:
                async with asyncio.timeout(self.options.request_timeout_s):
                    response = await worker.client.request(
                        scope["method"], target, headers, bytes(body)
                    )
                break
            except TimeoutError:
                return (
                    504,
                    [],
                    {
                        "error": f"the service did not answer within hosting.request_timeout_s = "
                        f"{self.options.request_timeout_s:g} s"
                    },
                    worker,
                )
            except WorkerConnectError:
                # The request never reached the worker (it had just died): another one may
                # take it safely.
                await self._lost(worker)
                if attempt == 2:
                    return (
                        503,
                        [(b"retry-after", b"1")],
                        {"error": "no worker could take the request (they stopped); retry it"},
                        worker,
                    )
            except WorkerDisconnected as error:
                await self._lost(worker)
                exit_code = worker.process.poll()
                why = (
                    f"exited with code {exit_code}"
                    if exit_code is not None
                    else f"failed ({error})"
                )
                return (
                    502,
                    [],
                    {
                        "error": f"the worker handling this request ({worker.label}) {why} before "
                        "answering; it is being replaced: retry the request"
                    },
                    worker,
                )
            finally:
                worker.in_flight -= 1
                worker.last_active = time.monotonic()
                self.metrics.in_flight.dec()
                self._release_held()
        out_headers = [(k, v) for k, v in response.headers if k not in _HOP_BY_HOP]
        return response.status, out_headers, response.body, worker

    async def _lost(self, worker: Child) -> int | None:
        """Take a worker that broke a request out of rotation at once; its exit code, if it
        exits within half a second (it is usually dying), else it is killed."""
        worker.ready = False
        for _ in range(10):
            if worker.process.poll() is not None:
                return worker.process.returncode
            await asyncio.sleep(0.05)
        worker.process.kill()
        return None

    def _pick(self) -> Child | None:
        """The ready worker with the fewest requests in flight; None to wait instead, when
        all are at the target and another worker is starting."""
        ready = [w for w in self.workers if w.ready and not w.stopping]
        if not ready:
            return None
        best = min(ready, key=lambda w: w.in_flight)
        starting = any(not w.ready and not w.stopping for w in self.workers)
        if best.in_flight >= self.options.target_concurrency and starting:
            return None
        return best

    async def _acquire(self) -> Child:
        """A worker for one request, its slot taken (``in_flight``); waits while none is
        free, as one of at most ``max_queued``."""
        worker = self._pick()
        if worker is not None:
            worker.in_flight += 1
            return worker
        if len(self._held) >= self.options.max_queued:
            raise QueueFull
        future: asyncio.Future[Child] = asyncio.get_running_loop().create_future()
        self._held.append(future)
        self.metrics.held.set(len(self._held))
        self._scale()  # start a worker now rather than at the next tick
        try:
            return await asyncio.wait_for(future, timeout=self.options.worker_start_timeout_s)
        except TimeoutError:
            raise NoWorker(
                f"no worker became ready within hosting.worker_start_timeout_s = "
                f"{self.options.worker_start_timeout_s:g} s; see the service's log"
            ) from None
        finally:
            with contextlib.suppress(ValueError):
                self._held.remove(future)
            self.metrics.held.set(len(self._held))

    def _release_held(self) -> None:
        """Give held requests the workers that have room (a worker became ready, or a
        request ended)."""
        while self._held:
            worker = self._pick()
            if worker is None:
                return
            future = self._held.popleft()
            if not future.done():
                worker.in_flight += 1
                future.set_result(worker)

    # -- processes ---------------------------------------------------------------------

    def _spawn(self, kind: str, arguments: list[str]) -> subprocess.Popen:
        command = [
            self.python,
            "-m",
            "mlplatform.hosting._process",
            kind,
            "--service",
            str(self.service_file),
        ]
        if self.artifacts:
            command += ["--artifacts", self.artifacts]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        return subprocess.Popen(
            [*command, *arguments],
            env=env,
            preexec_fn=die_with_parent,
            cwd=self.service_file.parent,
        )

    def _start_worker(self) -> Child:
        self._numbers += 1
        socket = self._sockets / f"worker-{self._numbers}.sock"
        process = self._spawn("worker", ["--socket", str(socket)])
        child = Child("http", self._numbers, process, time.monotonic(), socket)
        child.client = WorkerClient(socket)
        self.workers.append(child)
        self.metrics.cold_starts.labels("http").inc()
        self._tasks.append(asyncio.create_task(self._await_ready(child)))
        logger.info("starting %s", child.label)
        return child

    async def _await_ready(self, child: Child) -> None:
        deadline = child.started + self.options.worker_start_timeout_s
        while time.monotonic() < deadline and child.process.poll() is None and not child.stopping:
            try:
                async with asyncio.timeout(1.0):
                    response = await child.client.request("GET", READY_PATH.encode())
                if response.status == 200:
                    child.ready = True
                    seconds = time.monotonic() - child.started
                    self.metrics.cold_start_seconds.labels("http").observe(seconds)
                    logger.info("%s ready in %.2f s", child.label, seconds)
                    self._release_held()
                    return
            except (WorkerConnectError, WorkerDisconnected, TimeoutError):
                pass
            await asyncio.sleep(0.02)
        if child.process.poll() is None and not child.stopping:
            logger.error(
                "%s was not ready within %g s; stopping it",
                child.label,
                self.options.worker_start_timeout_s,
            )
            self._stop_child(child)

    def _start_consumer(self) -> Child:
        self._numbers += 1
        child = Child(
            "job", self._numbers, self._spawn("consumer", []), time.monotonic(), ready=True
        )
        self.consumers.append(child)
        self.metrics.cold_starts.labels("job").inc()
        logger.info("starting %s for queued jobs", child.label)
        return child

    def _stop_child(self, child: Child) -> None:
        if child.stopping or child.process.poll() is not None:
            return
        child.stopping = True
        # uvicorn drains on SIGTERM; huey's consumer finishes running jobs on SIGINT.
        child.process.send_signal(signal.SIGTERM if child.kind == "http" else signal.SIGINT)
        logger.info("stopping %s", child.label)

    # -- control -----------------------------------------------------------------------

    async def _control_loop(self) -> None:
        next_slow = 0.0
        while True:
            self._reap()
            self._scale()
            now = time.monotonic()
            if now >= next_slow:  # once a second: jobs, gauges, alerts
                next_slow = now + 1.0
                await self._scale_consumers()
                self._gauges()
                await self.alerts.evaluate(self._http)
            await asyncio.sleep(_TICK_S)

    def _reap(self) -> None:
        for group in (self.workers, self.consumers):
            for child in list(group):
                code = child.process.poll()
                if code is None:
                    continue
                group.remove(child)
                if child.client is not None:
                    self._tasks.append(asyncio.create_task(child.client.aclose()))
                if not child.stopping:
                    self.metrics.worker_exits.labels(child.kind).inc()
                    logger.error(
                        "%s exited with code %s; it is replaced as needed", child.label, code
                    )

    def _scale(self) -> None:
        """Start or stop workers so that in-flight requests per worker stay near the target.

        A worker that served within ``scale_down_delay_s`` is kept; after
        ``idle_timeout_s`` without requests the service goes down to ``min_workers``.
        """
        options = self.options
        now = time.monotonic()
        alive = [w for w in self.workers if not w.stopping]
        demand = sum(w.in_flight for w in alive) + len(self._held)
        if demand == 0 and now - self._last_request >= options.idle_timeout_s:
            desired = 0
        else:
            recent = sum(1 for w in alive if now - w.last_active < options.scale_down_delay_s)
            desired = max(math.ceil(demand / options.target_concurrency), recent, min(demand, 1))
        desired = min(max(desired, options.min_workers), options.workers)
        for _ in range(desired - len(alive)):
            self._start_worker()
        idle = sorted(
            (w for w in alive if w.ready and w.in_flight == 0), key=lambda w: w.last_active
        )
        for child in idle[: max(0, len(alive) - desired)]:
            self._stop_child(child)

    async def _scale_consumers(self) -> None:
        """Start job consumers from zero on queue depth, as `_scale` does workers on load.

        One consumer per ``hosting.jobs_per_consumer`` waiting jobs, up to
        ``hosting.max_job_consumers`` (default 1); all stop after ``idle_timeout_s`` with
        nothing queued or running.
        """
        if self.jobs is None:
            return
        pending = await asyncio.to_thread(self.jobs.pending)
        now = time.monotonic()
        alive = [c for c in self.consumers if not c.stopping]
        if pending:
            self._last_job_seen = now
            desired = min(
                math.ceil(pending / self.options.jobs_per_consumer),
                self.options.max_job_consumers or 1,
            )
            for _ in range(desired - len(alive)):
                self._start_consumer()
        elif alive and now - self._last_job_seen > self.options.idle_timeout_s:
            running = await asyncio.to_thread(
                lambda: any(r.status == "running" for r in self.jobs.records())
            )
            if not running:
                for child in alive:
                    self._stop_child(child)
        self._oldest_job_age = (
            await asyncio.to_thread(self.jobs.oldest_queued_age) if pending else 0.0
        )
        self.metrics.jobs_queued.set(pending)
        self.metrics.oldest_job.set(self._oldest_job_age)

    def _gauges(self) -> None:
        for kind, group in (("http", self.workers), ("job", self.consumers)):
            ready = sum(1 for c in group if c.ready and not c.stopping)
            starting = sum(1 for c in group if not c.ready and not c.stopping)
            self.metrics.workers.labels(kind, "ready").set(ready)
            self.metrics.workers.labels(kind, "starting").set(starting)


# -- forwarding to workers ---------------------------------------------------------------
#
# Why not httpx: the front forwards every request, and httpx's async client cost about 1 ms
# of CPU per request on our 2-core machine (1.7 ms without sniffio installed, since httpcore
# then retries that failed import on every request: encode/httpcore discussion 1102), against
# about 60 µs for one keep-alive HTTP/1.1 exchange over the Unix socket below; with httpx the
# front, not the worker, bounded `mlp serve` at a fifth of bare uvicorn's throughput. This
# client speaks only what the front needs to the uvicorn workers it starts: HTTP/1.1 with
# keep-alive on a Unix socket, whole bodies both ways. Responses are parsed by httptools,
# uvicorn's own parser (content-length or chunked bodies, keep-alive rules). httpx stays for
# everything else the front sends (the alert webhook).

_KEEP_ALIVE_S = 4.0  # reuse idle connections for less than uvicorn's keep-alive (5 s)


class WorkerConnectError(Exception):
    """The worker's socket took no connection: the request never reached the worker."""


class WorkerDisconnected(Exception):
    """The worker closed the connection (or garbled it) before it finished its answer."""


@dataclass
class WorkerResponse:
    """A worker's whole answer to one request (header names in lower case)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection to a worker; one request at a time."""

    def __init__(self, on_lost: Any) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.open = True
        self.reusable = False
        self.idle_since = 0.0
        self._on_lost = on_lost
        self._answer: asyncio.Future[WorkerResponse] | None = None
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    def exchange(self, request: bytes) -> asyncio.Future[WorkerResponse]:
        """Send a whole request; the future is its whole answer."""
        self._status, self._headers, self._body, self.reusable = 0, [], [], False
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._answer

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(WorkerDisconnected(f"the worker's answer is not valid HTTP: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._on_lost(self)
        self._fail(WorkerDisconnected(f"connection closed ({exc or 'end of stream'})"))

    # httptools' callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:  # an interim answer: the real one follows
            self._headers, self._body = [], []
            return
        answer, self._answer = self._answer, None
        self.reusable = self.parser.should_keep_alive()
        if answer is not None and not answer.done():
            answer.set_result(WorkerResponse(self._status, self._headers, b"".join(self._body)))

    def _fail(self, error: Exception) -> None:
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_exception(error)


class WorkerClient:
    """HTTP/1.1 requests to one worker over its Unix socket, on kept-alive connections.

    Args:
        socket: The worker's socket.
        max_connections: Requests at once; more wait for a connection.
        max_idle: Idle connections kept for reuse.
    """

    def __init__(self, socket: Path, max_connections: int = 256, max_idle: int = 64) -> None:
        self.socket = str(socket)
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self._max_idle = max_idle

    async def request(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
        body: bytes = b"",
    ) -> WorkerResponse:
        """Send one request and return the whole answer.

        Raises:
            WorkerConnectError: No connection could be made (nothing was sent).
            WorkerDisconnected: The connection broke before the whole answer came.
        """
        parts = [method.encode(), b" ", target, b" HTTP/1.1\r\nhost: worker\r\n"]
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        parts.append(b"content-length: %d\r\n\r\n" % len(body))
        parts.append(body)
        async with self._slots:
            connection = self._reuse() or await self._connect()
            try:
                response = await connection.exchange(b"".join(parts))
            except BaseException:  # broken, timed out or cancelled: its state is unknown
                connection.close()
                raise
            if connection.reusable and connection.open and len(self._idle) < self._max_idle:
                connection.idle_since = time.monotonic()
                self._idle.append(connection)
            else:
                connection.close()
            return response

    def _reuse(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()  # the most recently used first
            if connection.open and now - connection.idle_since < _KEEP_ALIVE_S:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_unix_connection(
                lambda: _Connection(self._forget), self.socket
            )
        except OSError as error:  # no socket yet, or nothing listens on it any more
            raise WorkerConnectError(f"cannot connect to {self.socket}: {error}") from None
        return connection

    def _forget(self, connection: _Connection) -> None:
        with contextlib.suppress(ValueError):
            self._idle.remove(connection)

    async def aclose(self) -> None:
        """Close the idle connections (those in use close when their request ends)."""
        while self._idle:
            self._idle.pop().close()


async def _respond(send: Any, status: int, headers: list, body: Any, request_id: str) -> int:
    if isinstance(body, dict | list):
        payload = json.dumps(body).encode()
        headers = [*headers, (b"content-type", b"application/json")]
    else:
        payload = bytes(body)
    headers = [
        *headers,
        (b"content-length", str(len(payload)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
    return len(payload)


def _route_label(path: str, routes: set[str]) -> str:
    """A bounded set of labels: the service's routes, the front's own, else ``other``."""
    if path in routes or path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
        return path
    return "/jobs/{id}" if path.startswith("/jobs/") else "other"
