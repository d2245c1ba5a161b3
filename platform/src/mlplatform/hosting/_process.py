"""The processes of a local service: HTTP workers and job consumers.

    python -m mlplatform.hosting._process worker --service FILE (--socket PATH | --port N
        --guard) [--artifacts P]
    python -m mlplatform.hosting._process consumer --service FILE [--artifacts P]

A worker serves the service's FastAPI app with uvicorn on a Unix socket; the front routes
to it. A consumer runs the service's async jobs from the durable queue (huey, with
``hosting.max_job_workers`` threads). Both import the service file, load artifacts lazily,
and die with the front (``PR_SET_PDEATHSIG``) so that nothing outlives a killed service.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any

from mlplatform.hosting._telemetry import setup_logging, setup_tracing, tracer

logger = logging.getLogger(__name__)


def _worker(options: argparse.Namespace) -> None:
    import uvicorn

    from mlplatform.config import load_settings
    from mlplatform.hosting._app import build_app
    from mlplatform.hosting._service import Artifacts, load_service, resolve_artifacts
    from mlplatform.hosting._settings import require_tokens

    settings = load_settings()
    if options.guard:
        require_tokens(settings)  # serving on its own (Knative): production needs tokens
    service = load_service(options.service)
    setup_tracing(settings.hosting, service.name, "worker")
    # Behind the front, --artifacts is the run the front resolved and checked when it
    # started: resolving it again would import Metaflow (about 1 s of CPU) before the worker
    # is ready instead of when its first request reads the artifacts. On its own (Knative)
    # the worker resolves and checks the reference itself.
    pathspec = options.artifacts if options.socket else resolve_artifacts(options.artifacts)
    app = build_app(service, settings, Artifacts(pathspec), guard=options.guard)
    where = {"uds": options.socket} if options.socket else {"host": "0.0.0.0", "port": options.port}
    config = uvicorn.Config(
        app,
        **where,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="none",  # nothing forwards WebSockets to a worker; saves importing websockets
        timeout_graceful_shutdown=int(settings.hosting.request_timeout_s) + 1,
    )
    uvicorn.Server(config).run()


def _consumer(options: argparse.Namespace) -> None:
    from opentelemetry import trace
    from opentelemetry.trace import Link

    from mlplatform.cache import Cache
    from mlplatform.config import load_settings
    from mlplatform.hosting._app import call_handler
    from mlplatform.hosting._jobs import JobStore
    from mlplatform.hosting._service import Artifacts, Context, load_service, resolve_artifacts
    from mlplatform.hosting._telemetry import extract_context

    settings = load_settings()
    service = load_service(options.service)
    setup_tracing(settings.hosting, service.name, "consumer")
    endpoints = {e.path: e for e in service.async_endpoints().values()}
    artifacts = Artifacts(resolve_artifacts(options.artifacts))
    cache = Cache(f"hosting.{service.name}", settings=settings)
    service_logger = logging.getLogger(f"mlplatform.hosting.service.{service.name}")
    retries = settings.hosting.job_retries
    store: JobStore

    def run(job_id: str) -> None:
        record = store.get(job_id)
        if record.status in ("done", "failed"):
            return  # a copy queued again after a restart: already complete
        endpoint = endpoints[record.endpoint]
        record.status, record.started, record.consumer_pid = "running", time.time(), os.getpid()
        record.attempts += 1
        store.save(record)
        parent = extract_context({"traceparent": record.traceparent} if record.traceparent else {})
        links = (
            [Link(trace.get_current_span(parent).get_span_context())] if record.traceparent else []
        )
        with tracer().start_as_current_span(f"job {record.endpoint}", links=links) as span:
            span.set_attribute("mlp.job_id", job_id)
            context = Context(
                service.name, artifacts, cache, service_logger, span, job_id, job_id=job_id
            )
            try:
                result = call_handler(endpoint, record.payload, context)
            except Exception as error:
                final = record.attempts > retries
                record.status = "failed" if final else "queued"
                record.error = f"{type(error).__name__}: {error}"
                record.consumer_pid = None
                record.finished = time.time() if final else None
                store.save(record)
                logger.warning(
                    "job %s attempt %d failed: %s", job_id, record.attempts, record.error
                )
                if not final:
                    raise  # huey queues it again after the retry delay
                return
        record.status, record.finished, record.consumer_pid = "done", time.time(), None
        record.result = _jsonable(result)
        record.error = None
        store.save(record)

    store = JobStore(service.name, settings, run=run)
    # huey polls a SQLite queue, sleeping 0.1 s after an empty poll and 15 % longer after
    # each further one, up to 10 s: a job arriving at an idle consumer waited that long.
    # Polling every 10 ms, backing off to 0.25 s, keeps that wait short for the cost of a
    # few cheap reads a second until the front stops the idle consumer. (On Redis huey
    # blocks on the list instead and does not sleep.)
    consumer = store.queue.create_consumer(
        workers=settings.hosting.max_job_workers,
        worker_type="thread",
        periodic=False,
        initial_delay=0.01,
        max_delay=0.25,
    )
    consumer.run()


def _jsonable(result: Any) -> Any:
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    return result


def main(argv: list[str] | None = None) -> int:
    """Run a worker or a consumer (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="python -m mlplatform.hosting._process")
    parser.add_argument("role", choices=["worker", "consumer"])
    parser.add_argument("--service", required=True)
    parser.add_argument("--socket", help="A Unix socket to listen on (behind the front).")
    parser.add_argument("--port", type=int, default=8080, help="Else a TCP port (Knative).")
    parser.add_argument("--guard", action="store_true", help="Check tokens and body sizes here.")
    parser.add_argument("--artifacts", default=None, help="Flow/run_id or Flow/latest_successful.")
    options = parser.parse_args(argv)
    setup_logging()
    if options.role == "worker":
        _worker(options)
    else:
        _consumer(options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
