"""The hosted feature service: one async job computes one (asset, feature) node.

``mlp serve pipelines/media_features/service.py`` serves `feature_service()`:

- ``POST /features/compute`` (async): a `NodeRequest`; the caller sends the node's cache
  key as the ``Idempotency-Key`` header, so every request for the same missing node —
  from any number of callers at once — is one job, computed once.
- ``GET /features/registry`` (sync): the service's features, versions and lineage ids, so
  a caller can check that it asks for the code the service runs.

A job first returns at once if the value is cached, fails at once if the node failed
before, then waits for its inputs (callers send nodes in dependency order, so inputs are
queued first and are done or running when a dependent starts; a failed input fails the node
with the input's root cause), loads the sources it reads, runs the function and stores the
value with `Cache.add`. Deterministic failures (a raising function, a corrupt asset, a
version the service does not run) are recorded for dependents and callers; anything else is
left to the hosting layer's retries.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from pydantic import BaseModel, Field

from media_features._compute import FeatureCache, NodeFailure, is_deterministic, run_feature
from media_features._config import MediaFeaturesConfig, load_config
from media_features._errors import (
    FeatureFailedError,
    FeatureServiceError,
    InputsNotReadyError,
    MediaFeaturesError,
)
from media_features._objects import ObjectRef, ObjectStore
from media_features._registry import FeatureRegistry

__all__ = ["COMPUTE_PATH", "REGISTRY_PATH", "NodeRequest", "NodeResult", "feature_service"]

logger = logging.getLogger(__name__)

COMPUTE_PATH = "/features/compute"
REGISTRY_PATH = "/features/registry"


class SourceObject(BaseModel):
    """A stored source object of the asset (URI and SHA-256)."""

    uri: str
    sha256: str = Field(min_length=64, max_length=64)


class NodeRequest(BaseModel):
    """Compute one feature of one asset version."""

    asset_id: str = Field(min_length=1)
    asset_version: int = Field(ge=1)
    feature: str = Field(min_length=1)
    version: int = Field(ge=1)
    key: str = Field(min_length=1)
    """The node's cache key as the caller computed it (checked against the service's)."""
    sources: dict[str, SourceObject] = {}
    """The objects of the sources the feature reads directly."""


class NodeResult(BaseModel):
    """What a finished job returns (the value itself is in the cache under ``key``)."""

    asset_id: str
    asset_version: int
    feature: str
    version: int
    key: str
    computed: bool
    """False when the value was cached already (nothing ran)."""
    seconds: float


class _Runtime:
    """What a worker or consumer process opens once: settings, cache, object store."""

    def __init__(self, config: MediaFeaturesConfig) -> None:
        from mlplatform.config import load_settings

        self.settings = load_settings()
        self.cache = FeatureCache(config.cache, self.settings)
        self.objects = ObjectStore(self.settings)
        self.failure_ttl_s = self.settings.hosting.job_ttl_s


def _wait_for_inputs(
    request: NodeRequest,
    registry: FeatureRegistry,
    runtime: _Runtime,
    wait_s: float,
) -> dict[str, Any]:
    """The values of the node's feature inputs, waiting while other jobs compute them.

    Raises:
        FeatureFailedError: An input failed (the node's failure is recorded, same root).
        InputsNotReadyError: They were not all computed within ``wait_s``.
    """
    feature = registry[request.feature]
    keys = {
        registry.key(request.asset_id, request.asset_version, name): name for name in feature.inputs
    }
    values: dict[str, Any] = {}
    deadline = time.monotonic() + wait_s
    delay = 0.002
    while True:
        missing = [key for key in keys if keys[key] not in values]
        for key, value in runtime.cache.values(missing).items():
            values[keys[key]] = value
        missing = [key for key in missing if keys[key] not in values]
        if not missing:
            return values
        failed = runtime.cache.failures_of(missing)
        if failed:
            failure = next(iter(failed.values())).caused(request.feature)
            runtime.cache.fail(request.key, failure, runtime.failure_ttl_s)
            raise FeatureFailedError(failure.message)
        if time.monotonic() > deadline:
            raise InputsNotReadyError(
                f"{request.feature} of {request.asset_id} v{request.asset_version}: inputs "
                f"{sorted(keys[key] for key in missing)} were not computed within "
                f"{wait_s:g} s (input_wait_s); the job is retried"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)


def compute_node(
    request: NodeRequest,
    registry: FeatureRegistry,
    runtime: _Runtime,
    *,
    wait_s: float,
    job_id: str | None = None,
) -> NodeResult:
    """Compute one node (what the async endpoint runs).

    Raises:
        FeatureFailedError: The node failed now or before (the root cause is recorded).
        InputsNotReadyError: Its inputs are not ready yet (the hosting layer retries).
    """
    started = time.perf_counter()
    what = f"{request.asset_id} v{request.asset_version}"

    def result(computed: bool) -> NodeResult:
        return NodeResult(
            asset_id=request.asset_id,
            asset_version=request.asset_version,
            feature=request.feature,
            version=request.version,
            key=request.key,
            computed=computed,
            seconds=round(time.perf_counter() - started, 6),
        )

    if runtime.cache.values([request.key]):
        return result(False)
    known = runtime.cache.failures_of([request.key]).get(request.key)
    if known is not None:
        raise FeatureFailedError(known.message)
    try:
        feature = registry[request.feature]
        expected = registry.key(request.asset_id, request.asset_version, request.feature)
        if expected != request.key:
            raise FeatureServiceError(
                f"{what}: asked for {request.feature} v{request.version} as {request.key}, "
                f"but this service runs v{feature.version} ({expected}); serve the same "
                "feature code the caller uses"
            )
        inputs = _wait_for_inputs(request, registry, runtime, wait_s)
        sources = {}
        for source in feature.sources:
            given = request.sources.get(source)
            if given is None:
                raise FeatureServiceError(
                    f"{request.feature} of {what} reads {source}, but the request names no "
                    f"{source} object"
                )
            ref = ObjectRef(given.uri, given.sha256)
            sources[source] = runtime.objects.load_source(source, ref, what=f"{what} {source}")
        value = run_feature(registry, request.feature, {**sources, **inputs}, what=what)
    except (FeatureFailedError, InputsNotReadyError):
        raise
    except Exception as error:
        if is_deterministic(error):
            failure = NodeFailure(what, request.feature, request.feature, str(error))
            runtime.cache.fail(request.key, failure, runtime.failure_ttl_s)
            raise FeatureFailedError(failure.message) from error
        raise
    runtime.cache.count_computation(request.key, job_id=job_id, where="service")
    runtime.cache.store(request.key, value)
    return result(True)


def feature_service(
    registry: FeatureRegistry | None = None, config: MediaFeaturesConfig | None = None
) -> Any:
    """The hosted feature service over ``registry`` (default the built-in features).

    Returns:
        A `mlplatform.hosting.Service`; a service file assigns it to a module variable.
    """
    from mlplatform.hosting import Context, Service

    if registry is None:
        from media_features._builtin import registry as builtin

        registry = builtin
    config = config or load_config()
    service = Service(config.service.name)
    lock = threading.Lock()
    runtimes: list[_Runtime] = []

    def runtime() -> _Runtime:
        with lock:
            if not runtimes:
                runtimes.append(_Runtime(config))
            return runtimes[0]

    def compute_feature(request: NodeRequest, ctx: Context) -> NodeResult:
        """Compute one (asset, feature) node and cache its value."""
        try:
            return compute_node(
                request, registry, runtime(), wait_s=config.input_wait_s, job_id=ctx.job_id
            )
        except MediaFeaturesError as error:
            ctx.logger.warning("%s", error)
            raise

    def describe_registry() -> dict[str, Any]:
        """The features this service computes: version, lineage id, dependencies."""
        return {
            name: {
                "version": registry[name].version,
                "lineage": registry.lineage(name),
                "depends_on": list(registry[name].depends_on),
            }
            for name in registry.names()
        }

    # Annotations are read by the hosting layer; Context must be the real class here.
    compute_feature.__annotations__ = {"request": NodeRequest, "ctx": Context, "return": NodeResult}
    service.endpoint(COMPUTE_PATH, mode="async")(compute_feature)
    service.endpoint(REGISTRY_PATH, methods=("GET",))(describe_registry)
    return service
