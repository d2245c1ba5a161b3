"""`Service`: functions over a flow's artifacts, served as REST endpoints by a decorator.

```python
svc = Service("title-scores", artifacts="TitleScoresFlow/latest_successful")

@svc.endpoint("/score")                       # sync: the response is the return value
def score(request: ScoreRequest, ctx: Context) -> ScoreResponse:
    return ScoreResponse(score=ctx.artifacts.model.predict(...))

@svc.endpoint("/explain", mode="async")       # async: 202 + a job id, result fetched later
def explain(request: ExplainRequest, ctx: Context) -> Explanation: ...
```

Request and response types come from the handler's type hints (pydantic models; FastAPI
validates bodies and documents them at ``/docs``). A parameter annotated `Context` receives
the service's context: its artifacts, its cache namespace, a logger and the current span.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel

from mlplatform.hosting._errors import ArtifactsError, ServiceDefinitionError

__all__ = ["Artifacts", "Context", "Endpoint", "Service", "load_service", "resolve_artifacts"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Paths the front and the workers answer themselves.
RESERVED_PATHS = ("/healthz", "/readyz", "/metrics", "/jobs", "/docs", "/openapi.json", "/__mlp")
Mode = Literal["sync", "async"]


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a service.

    Attributes:
        path: The URL path, e.g. ``/score``.
        methods: HTTP methods (``POST`` by default).
        mode: ``sync`` (answer now) or ``async`` (queue a job, answer 202).
        handler: The function.
        request_model: The pydantic model of the request body, if the handler takes one.
        response_model: The return annotation, if any.
    """

    path: str
    methods: tuple[str, ...]
    mode: Mode
    handler: Callable[..., Any]
    request_model: type[BaseModel] | None
    response_model: Any

    @property
    def name(self) -> str:
        """The handler's name (the job name of an async endpoint)."""
        return self.handler.__name__


class Artifacts:
    """The artifacts of one Metaflow run, each loaded on first use and then kept.

    Attribute access reads an artifact: ``ctx.artifacts.model``. Loaded once per process.
    """

    def __init__(self, pathspec: str | None) -> None:
        self._pathspec = pathspec
        self._run: Any = None
        self._loaded: dict[str, Any] = {}
        self.load_seconds = 0.0

    @property
    def pathspec(self) -> str | None:
        """``Flow/run_id`` of the run, or None for a service without artifacts."""
        return self._pathspec

    @property
    def version(self) -> str:
        """What identifies this artifact version (the run's pathspec, or ``none``)."""
        return self._pathspec or "none"

    def _data(self) -> Any:
        if self._run is None:
            if self._pathspec is None:
                raise ArtifactsError("this service has no artifacts (Service(artifacts=...))")
            from metaflow import Run, namespace

            namespace(None)
            self._run = Run(self._pathspec)
        return self._run.data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._loaded:
            started = time.perf_counter()
            data = self._data()
            if name not in data:
                available = sorted(artifact.id for artifact in self._run.end_task)
                raise ArtifactsError(
                    f"run {self._pathspec} has no artifact {name!r}; its artifacts are {available}"
                )
            self._loaded[name] = getattr(data, name)
            self.load_seconds += time.perf_counter() - started
            logger.info("loaded artifact %s of %s", name, self._pathspec)
        return self._loaded[name]


@dataclass
class Context:
    """What a handler receives besides its request.

    Attributes:
        service: The service's name.
        artifacts: The run's artifacts (`Artifacts`).
        cache: The service's namespace of the online cache (`mlplatform.cache.Cache`).
        logger: A logger named after the service.
        span: The current OpenTelemetry span.
        request_id: The request's id (also in the request's log line).
        job_id: The async job's id, for an async endpoint; else None.
    """

    service: str
    artifacts: Artifacts
    cache: Any
    logger: logging.Logger
    span: Any
    request_id: str
    job_id: str | None = None


@dataclass
class Service:
    """A named set of endpoints over one run's artifacts.

    Args:
        name: The service's name (a DNS label: lower-case letters, digits, ``-``).
        artifacts: ``"Flow/latest_successful"``, ``"Flow/<run_id>"``, a Metaflow ``Run``, or
            None. Resolved when the service starts; a run that does not exist stops it.
        environment: A named environment (``team/project/name:tag``) the workers run in;
            default the front's own interpreter.
    """

    name: str
    artifacts: Any = None
    environment: str | None = None
    endpoints: dict[tuple[str, str], Endpoint] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ServiceDefinitionError(
                f"service name {self.name!r} is invalid: expected lower-case letters, digits "
                "and '-' (a DNS label, at most 63 characters), e.g. 'title-scores'"
            )
        if self.environment is not None:
            from mlplatform.environments import parse_name

            parse_name(self.environment)

    def endpoint(
        self, path: str, *, methods: Iterable[str] = ("POST",), mode: Mode = "sync"
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Serve the decorated function at ``path``.

        Args:
            path: The URL path (``/score``); not one the front answers itself.
            methods: HTTP methods; an async endpoint is POST only.
            mode: ``sync`` or ``async`` (queued, computed when a worker is free, the result
                kept in the cache and fetched at ``/jobs/{id}``).

        Raises:
            ServiceDefinitionError: A reserved or duplicate path, an unknown mode, or an
                async endpoint without a request body model.
        """
        methods = tuple(method.upper() for method in methods)

        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            where = f"endpoint {path!r} ({handler.__name__})"
            if not isinstance(path, str) or not path.startswith("/"):
                raise ServiceDefinitionError(f"{where}: the path must start with '/'")
            if any(path == r or path.startswith(r + "/") for r in RESERVED_PATHS):
                raise ServiceDefinitionError(
                    f"{where}: {path} is answered by the platform itself; reserved are "
                    f"{list(RESERVED_PATHS)}"
                )
            if mode not in ("sync", "async"):
                raise ServiceDefinitionError(
                    f"{where}: mode must be 'sync' or 'async', not {mode!r}"
                )
            hints = get_type_hints(handler)
            request_model = next(
                (
                    hint
                    for name, hint in hints.items()
                    if name != "return" and isinstance(hint, type) and issubclass(hint, BaseModel)
                ),
                None,
            )
            if mode == "async" and (methods != ("POST",) or request_model is None):
                raise ServiceDefinitionError(
                    f"{where}: an async endpoint is POST only and takes a pydantic request "
                    "model (its payload identifies the job)"
                )
            for method in methods:
                if (method, path) in self.endpoints:
                    raise ServiceDefinitionError(f"{where}: {method} {path} is defined twice")
                self.endpoints[(method, path)] = Endpoint(
                    path, methods, mode, handler, request_model, hints.get("return")
                )
            return handler

        return register

    def async_endpoints(self) -> dict[str, Endpoint]:
        """Async endpoints by handler name (what a job names)."""
        return {e.name: e for e in self.endpoints.values() if e.mode == "async"}


def context_parameter(handler: Callable[..., Any]) -> str | None:
    """The name of the handler's `Context` parameter, if it has one."""
    hints = get_type_hints(handler)
    for name in inspect.signature(handler).parameters:
        if hints.get(name) is Context:
            return name
    return None


def resolve_artifacts(reference: Any) -> str | None:
    """The ``Flow/run_id`` a service's artifacts reference names.

    Raises:
        ArtifactsError: The flow has no (successful) run, or the run does not exist; the
            message names the flow and the run.
    """
    if reference is None:
        return None
    if hasattr(reference, "pathspec") and hasattr(reference, "successful"):
        return str(reference.pathspec)
    if not isinstance(reference, str) or reference.count("/") != 1:
        raise ArtifactsError(
            f"artifacts={reference!r} is not a run: expected 'Flow/latest_successful', "
            "'Flow/<run_id>' or a metaflow Run"
        )
    from metaflow import Flow, Run, namespace
    from metaflow.exception import MetaflowNotFound

    namespace(None)
    flow_name, run_id = reference.split("/")
    try:
        if run_id == "latest_successful":
            run = Flow(flow_name).latest_successful_run
            if run is None:
                raise ArtifactsError(
                    f"artifacts={reference!r}: flow {flow_name} has no successful run yet; "
                    "run it first"
                )
            return str(run.pathspec)
        run = Run(reference)
    except MetaflowNotFound:
        raise ArtifactsError(
            f"artifacts={reference!r}: there is no run {run_id} of flow {flow_name} in this "
            "profile's metadata; check the name and the run id (`Flow/latest_successful` "
            "picks the newest successful run)"
        ) from None
    if not run.successful:
        raise ArtifactsError(
            f"artifacts={reference!r}: run {reference} did not finish successfully; serve a "
            "successful run"
        )
    return str(run.pathspec)


def load_service(path: Path | str) -> Service:
    """Import a service file and return its one `Service`.

    Raises:
        ServiceDefinitionError: The file does not exist, does not import, or defines no or
            several services.
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise ServiceDefinitionError(f"service file {path} does not exist")
    module_name = f"_mlp_service_{abs(hash(str(file)))}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ServiceDefinitionError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except ServiceDefinitionError:
        raise
    except Exception as error:
        raise ServiceDefinitionError(
            f"service file {path} cannot be imported: {type(error).__name__}: {error}"
        ) from None
    services = [value for value in vars(module).values() if isinstance(value, Service)]
    if len(services) != 1:
        raise ServiceDefinitionError(
            f"service file {path} defines {len(services)} Service objects; expected exactly one"
        )
    return services[0]
