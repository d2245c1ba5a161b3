"""The FastAPI application a worker serves: a service's endpoints, typed by their hints.

Sync endpoints answer with the handler's return value. Async endpoints validate the body,
create (or find) the job and answer 202 with its id and ``Location: /jobs/{id}``. Bodies are
validated by FastAPI from the handler's pydantic model (a bad body gets 422 naming the
field); OpenAPI is at ``/docs`` and ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import inspect
import logging
import threading
import uuid
from typing import Any, get_type_hints

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from opentelemetry import trace
from starlette.concurrency import run_in_threadpool

from mlplatform.hosting._errors import HostingError, JobNotFoundError
from mlplatform.hosting._jobs import JobStore
from mlplatform.hosting._service import Artifacts, Context, Endpoint, Service, context_parameter
from mlplatform.hosting._telemetry import extract_context, inject_context, tracer

__all__ = ["bearer_ok", "build_app", "call_handler", "job_response", "request_parameter"]

READY_PATH = "/__mlp/ready"

logger = logging.getLogger(__name__)


def request_parameter(endpoint: Endpoint) -> str | None:
    """The name of the handler's request-body parameter, if it has one."""
    if endpoint.request_model is None:
        return None
    hints = get_type_hints(endpoint.handler)
    return next(
        (
            name
            for name, hint in hints.items()
            if name != "return" and hint is endpoint.request_model
        ),
        None,
    )


def call_handler(endpoint: Endpoint, payload: Any, context: Context) -> Any:
    """Run an endpoint's handler on a validated payload (what a job consumer does)."""
    arguments: dict[str, Any] = {}
    body = request_parameter(endpoint)
    if body is not None:
        arguments[body] = endpoint.request_model.model_validate(payload)
    ctx = context_parameter(endpoint.handler)
    if ctx is not None:
        arguments[ctx] = context
    return endpoint.handler(**arguments)


def job_response(jobs: JobStore, job_id: str) -> JSONResponse:
    """``GET /jobs/{id}``: the job's status, and its result once done."""
    try:
        record = jobs.get(job_id)
    except JobNotFoundError as error:
        return JSONResponse({"error": str(error)}, status_code=404)
    body = {
        "id": record.id,
        "endpoint": record.endpoint,
        "status": record.status,
        "attempts": record.attempts,
    }
    if record.status == "done":
        body["result"] = record.result
    if record.error:
        body["error"] = record.error
    return JSONResponse(body)


def build_app(
    service: Service, settings: Any, artifacts: Artifacts, *, guard: bool = False
) -> FastAPI:
    """The worker's app for ``service`` with its artifacts.

    Args:
        guard: Check bearer tokens and body sizes in the worker itself: for workers that
            serve without the local front (Knative), which otherwise does it.
    """
    from mlplatform.cache import Cache

    app = FastAPI(title=service.name, version=artifacts.version, description="mlp service")
    cache = Cache(f"hosting.{service.name}", settings=settings)
    jobs = _LazyJobStore(service.name, settings) if service.async_endpoints() else None
    service_logger = logging.getLogger(f"mlplatform.hosting.service.{service.name}")

    # A coroutine, so that FastAPI does not run it in its thread pool (a thread hop per
    # request: about a tenth of a worker's CPU time per request, measured).
    async def context(request: Request) -> Context:
        return Context(
            service=service.name,
            artifacts=artifacts,
            cache=cache,
            logger=service_logger,
            span=trace.get_current_span(),
            request_id=request.headers.get("x-request-id") or uuid.uuid4().hex,
        )

    app.add_middleware(_Traced)
    if guard:
        app.add_middleware(_Guard, options=settings.hosting)  # added last: outermost

    @app.get(READY_PATH, include_in_schema=False)
    def ready() -> dict[str, Any]:
        return {
            "ready": True,
            "service": service.name,
            "artifacts": artifacts.pathspec,
            "endpoints": sorted({e.path for e in service.endpoints.values()}),
        }

    @app.exception_handler(HostingError)
    async def platform_error(request: Request, error: HostingError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=500)

    unique = {id(endpoint): endpoint for endpoint in service.endpoints.values()}
    for endpoint in unique.values():  # one Endpoint may serve several methods
        if endpoint.mode == "sync":
            route = _sync_route(endpoint, context)
        else:
            route = _async_route(endpoint, jobs, artifacts)
        app.add_api_route(
            endpoint.path,
            route,
            methods=list(endpoint.methods),
            response_model=endpoint.response_model if endpoint.mode == "sync" else None,
            status_code=200 if endpoint.mode == "sync" else 202,
            name=endpoint.name,
        )
    if jobs is not None:
        app.add_api_route(
            "/jobs/{job_id}", lambda job_id: job_response(jobs.get(), job_id), methods=["GET"]
        )
    return app


def _sync_route(endpoint: Endpoint, context: Any) -> Any:
    handler = endpoint.handler
    ctx = context_parameter(handler)
    signature = inspect.signature(handler)
    if ctx is not None:
        parameters = [
            p.replace(default=Depends(context)) if name == ctx else p
            for name, p in signature.parameters.items()
        ]
        signature = signature.replace(parameters=parameters)

    # A handler's exception is the request's 500 (with the error in the body and the
    # traceback in the log), not an error of the server, which would drop the connection.
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def route(*args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(*args, **kwargs)
            except Exception as error:
                return _failed(endpoint, error)

    else:

        @functools.wraps(handler)
        def route(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except Exception as error:
                return _failed(endpoint, error)

    route.__signature__ = signature  # type: ignore[attr-defined]
    return route


def _failed(endpoint: Endpoint, error: Exception) -> JSONResponse:
    logger.exception("%s %s failed", endpoint.methods[0], endpoint.path)
    return JSONResponse(
        {"error": f"{endpoint.path} failed: {type(error).__name__}: {error}"}, status_code=500
    )


class _LazyJobStore:
    """The worker's `JobStore`, opened on first use.

    Opening it imports huey, and huey imports the redis client: about 0.6 s of CPU that a
    worker's cold start need not pay before its first request to a sync endpoint.
    """

    def __init__(self, service: str, settings: Any) -> None:
        self._service, self._settings = service, settings
        self._store: JobStore | None = None
        self._lock = threading.Lock()  # GET /jobs/{id} runs in FastAPI's thread pool

    def get(self) -> JobStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = JobStore(self._service, self._settings)
        return self._store

    async def opened(self) -> JobStore:
        """`get` from the event loop: the first open runs in the thread pool."""
        return self._store or await run_in_threadpool(self.get)


def _async_route(endpoint: Endpoint, jobs: _LazyJobStore, artifacts: Artifacts) -> Any:
    model = endpoint.request_model

    async def route(body: Any, request: Request) -> JSONResponse:
        headers = inject_context({})
        # Committed by the store's committer thread with the jobs that arrive meanwhile
        # (group commit); the event loop serves other requests until it is stored.
        store = await jobs.opened()
        record, created = await asyncio.wrap_future(
            store.accept(
                endpoint.path,
                body.model_dump(mode="json"),
                idempotency_key=request.headers.get("idempotency-key"),
                artifacts_version=artifacts.version,
                traceparent=headers.get("traceparent"),
            )
        )
        location = f"/jobs/{record.id}"
        return JSONResponse(
            {
                "job_id": record.id,
                "status": record.status,
                "location": location,
                "created": created,
            },
            status_code=202,
            headers={"Location": location},
        )

    route.__name__ = endpoint.name
    route.__doc__ = endpoint.handler.__doc__
    # The body's type is the endpoint's model: FastAPI validates it (422) and documents it.
    route.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model),
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
        ]
    )
    return route


class _Traced:
    """ASGI middleware: a server span per request, child of the caller's ``traceparent``.

    A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
    ``BaseHTTPMiddleware`` runs every request through a task group and memory streams, which
    cost about a third of a worker's CPU time per request (measured on the example's
    ``/predict``).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parent = extract_context(
            {
                name.decode("latin-1"): value.decode("latin-1")
                for name, value in scope["headers"]
                if name in _TRACE_HEADERS
            }
        )
        name = f"{scope['method']} {scope['path']}"
        with tracer().start_as_current_span(name, context=parent, kind=trace.SpanKind.SERVER):
            await self.app(scope, receive, send)


# The W3C trace context headers (what `extract_context` reads).
_TRACE_HEADERS = frozenset((b"traceparent", b"tracestate"))


class _Guard:
    """ASGI middleware: bearer tokens and the body size limit (as the local front checks)."""

    def __init__(self, app: Any, options: Any) -> None:
        self.app = app
        self.tokens = tuple(token.encode() for token in options.tokens)
        self.limit = options.max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] == READY_PATH:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.tokens and not bearer_ok(headers.get(b"authorization", b""), self.tokens):
            response = JSONResponse(
                {"error": "missing or invalid bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        if int(headers.get(b"content-length", b"0") or 0) > self.limit:
            response = JSONResponse(
                {"error": f"the body is over the limit of {self.limit} bytes"}, status_code=413
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def bearer_ok(header: bytes, tokens: tuple[bytes, ...]) -> bool:
    """Whether an ``Authorization`` header carries one of ``tokens`` (constant time)."""
    if header[:7].lower() != b"bearer ":
        return False
    given = header[7:].strip()
    return any(hmac.compare_digest(given, token) for token in tokens)
