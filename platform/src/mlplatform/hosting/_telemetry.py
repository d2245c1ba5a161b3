"""Request logs, traces and the child processes of a service.

- One JSON line per request on the ``mlplatform.hosting.requests`` logger (request id,
  route, status, latency, worker, bytes).
- OpenTelemetry: a span per request in the front, a child span in the worker (the W3C
  ``traceparent`` header carries the context), and a span per async job linked to the
  request that created it. The exporter comes from ``hosting.tracing``: ``none``,
  ``console`` (spans as JSON on stdout) or ``otlp`` (OTLP/HTTP to ``hosting.otlp_endpoint``).
"""

from __future__ import annotations

import ctypes
import json
import logging
import signal
import sys
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from mlplatform.hosting._settings import HostingSettings

__all__ = [
    "REQUEST_LOG",
    "die_with_parent",
    "extract_context",
    "inject_context",
    "log_request",
    "setup_logging",
    "setup_tracing",
    "tracer",
]

REQUEST_LOG = logging.getLogger("mlplatform.hosting.requests")
_PROPAGATOR = TraceContextTextMapPropagator()
_PR_SET_PDEATHSIG = 1


def setup_logging(level: int = logging.INFO) -> None:
    """Plain lines for the platform's logs, bare JSON lines for the request log."""
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    REQUEST_LOG.handlers[:] = [handler]
    REQUEST_LOG.propagate = False
    REQUEST_LOG.setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per forwarded request


def log_request(**fields: Any) -> None:
    """One JSON line for one request."""
    REQUEST_LOG.info(json.dumps(fields, separators=(",", ":"), default=str))


def setup_tracing(options: HostingSettings, service: str, role: str) -> None:
    """Install the tracer provider the settings ask for (nothing for ``none``)."""
    if options.tracing == "none":
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    resource = Resource.create({"service.name": service, "mlp.role": role})
    provider = TracerProvider(resource=resource)
    if options.tracing == "console":
        provider.add_span_processor(
            SimpleSpanProcessor(
                ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")
            )
        )
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=options.otlp_endpoint))
        )
    trace.set_tracer_provider(provider)


def tracer() -> trace.Tracer:
    """The hosting layer's tracer."""
    return trace.get_tracer("mlplatform.hosting")


def inject_context(headers: dict[str, str]) -> dict[str, str]:
    """Add the current span's ``traceparent`` to outgoing headers."""
    _PROPAGATOR.inject(headers)
    return headers


def extract_context(headers: Mapping[str, str]) -> Any:
    """The trace context an incoming request carries (or an empty one)."""
    return _PROPAGATOR.extract(dict(headers))


def die_with_parent() -> None:
    """For a child process (``preexec_fn``): get SIGKILL when the parent dies, so a
    killed front never leaves workers behind (Linux; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
