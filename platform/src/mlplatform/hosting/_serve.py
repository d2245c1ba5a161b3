"""Serving a service file: settings overrides, the workers' interpreter, the front's server."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import socket
import sys
from pathlib import Path
from typing import Any

from mlplatform.config import Settings
from mlplatform.hosting._service import Service, load_service
from mlplatform.hosting._settings import require_tokens

__all__ = ["hosting_runtime_requirements", "run_front", "with_hosting", "worker_python"]

logger = logging.getLogger(__name__)

# What a worker or consumer process imports besides the service's own code.
_RUNTIME = ("fastapi", "uvicorn", "httptools", "uvloop", "huey", "opentelemetry-sdk", "redis")


def with_hosting(settings: Settings, **overrides: Any) -> Settings:
    """``settings`` with some ``hosting.*`` values replaced (the CLI's options)."""
    values = {key: value for key, value in overrides.items() if value is not None}
    if not values:
        return settings
    hosting = settings.hosting.model_validate({**settings.hosting.model_dump(), **values})
    return dataclasses.replace(settings, sections={**settings.sections, "hosting": hosting})


def hosting_runtime_requirements() -> list[str]:
    """Exact pins of what workers import, as installed here (added to a named environment)."""
    pins = []
    for name in _RUNTIME:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return pins


def worker_python(service: Service, settings: Settings) -> str:
    """The interpreter of the service's workers: its named environment (composed with what
    workers need), or this one."""
    if service.environment is None:
        return sys.executable
    from mlplatform.environments import build, compose

    lock = compose(service.environment, hosting_runtime_requirements(), settings=settings)
    environment = build(lock, settings=settings)
    logger.info("workers of %s run in %s (%s)", service.name, service.environment, environment.path)
    return str(environment.python)


def run_front(service_file: Path, settings: Settings, *, announce: Any = print) -> None:
    """Serve ``service_file`` in the foreground until SIGTERM or Ctrl-C (which drain it)."""
    import uvicorn

    from mlplatform.hosting._front import Front
    from mlplatform.hosting._telemetry import setup_logging, setup_tracing

    setup_logging()
    require_tokens(settings)
    service = load_service(service_file)
    setup_tracing(settings.hosting, service.name, "front")
    front = Front(service_file, service, settings, python=worker_python(service, settings))
    options = settings.hosting
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((options.host, options.port))
    host, port = listener.getsockname()[:2]
    config = uvicorn.Config(
        front,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(options.request_timeout_s) + 1,
        backlog=max(2048, options.max_queued * 2),
    )
    announce(
        f"serving {service.name} on http://{host}:{port} (docs at /docs, health at /healthz); "
        f"{options.min_workers}-{options.workers} workers, "
        f"idle timeout {options.idle_timeout_s:g} s"
    )
    uvicorn.Server(config).run(sockets=[listener])
