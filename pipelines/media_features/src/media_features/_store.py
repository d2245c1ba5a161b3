"""`FeatureStore`: features of media assets on demand, from the cache or the hosted service.

``get(assets, features)`` works out every node the requested features need (the closure of
the feature graph, per asset), reads what the cache holds — returned at once — and for what
is missing sends one async request per node to the feature service, level by level (a node's
inputs are queued before it), each with the node's cache key as its ``Idempotency-Key``. So
callers that ask for the same missing node at the same time share one job: it is computed
once. With ``wait=True`` it polls the cache until every requested value is there, failed, or
the timeout passes; with ``wait=False`` — or after a timeout — the unfinished ones come
back as `FeatureJob` handles that `wait` or `status` take later: the service finishes and
caches them regardless.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from media_features._assets import AssetIndex, AssetRecord
from media_features._compute import FeatureCache, NodeFailure
from media_features._config import MediaFeaturesConfig, load_config
from media_features._errors import (
    FeatureFailedError,
    FeatureNotReadyError,
    FeatureServiceError,
)
from media_features._registry import FeatureRegistry
from media_features._service import COMPUTE_PATH, REGISTRY_PATH

__all__ = ["FeatureBatch", "FeatureJob", "FeatureResult", "FeatureStore", "JobStatus"]

logger = logging.getLogger(__name__)

URL_VARIABLE = "MLP_FEATURES_URL"
_RESUBMITS = 3
_FAILURE_CHECK_S = 0.1
_JOBS_PER_CHECK = 8


@dataclass(frozen=True)
class FeatureJob:
    """A handle on one node being computed by the service.

    Attributes:
        asset_id: The asset.
        feature: The feature.
        key: The node's cache key (asset version, feature version and lineage included).
        job_id: The service's job id (``GET /jobs/{job_id}``, ``mlp features status``).
    """

    asset_id: str
    feature: str
    key: str
    job_id: str


@dataclass(frozen=True)
class FeatureResult:
    """One requested (asset, feature).

    Attributes:
        status: ``done`` (``value`` holds it), ``failed`` (``error`` names the root cause)
            or ``pending`` (``job`` is the handle).
        cached: The value was in the cache when `FeatureStore.get` was called.
    """

    asset_id: str
    feature: str
    key: str
    status: Literal["done", "failed", "pending"]
    value: Any = None
    error: str | None = None
    job: FeatureJob | None = None
    cached: bool = False


@dataclass
class FeatureBatch:
    """The results of one `FeatureStore.get` (or `wait`), by (asset id, feature)."""

    results: dict[tuple[str, str], FeatureResult] = field(default_factory=dict)

    def __getitem__(self, item: tuple[str, str]) -> FeatureResult:
        return self.results[item]

    def __iter__(self) -> Iterator[FeatureResult]:
        return iter(self.results.values())

    def __len__(self) -> int:
        return len(self.results)

    def value(self, asset_id: str, feature: str) -> Any:
        """The value of one feature.

        Raises:
            FeatureFailedError: It failed (the message names the root cause).
            FeatureNotReadyError: It is still being computed (the message names the job).
        """
        result = self.results[(asset_id, feature)]
        if result.status == "failed":
            raise FeatureFailedError(result.error)
        if result.status == "pending":
            raise FeatureNotReadyError(
                f"{feature} of {asset_id} is still being computed (job {result.job.job_id}); "
                "FeatureStore.wait() or `mlp features status` fetches it later"
            )
        return result.value

    def values(self) -> dict[str, dict[str, Any]]:
        """Values of the finished features: asset id -> feature -> value."""
        out: dict[str, dict[str, Any]] = {}
        for result in self:
            if result.status == "done":
                out.setdefault(result.asset_id, {})[result.feature] = result.value
        return out

    def ordered(self, items: list[tuple[str, str]]) -> FeatureBatch:
        """The same results in the order of ``items`` (the order they were asked for)."""
        return FeatureBatch({item: self.results[item] for item in dict.fromkeys(items)})

    @property
    def complete(self) -> bool:
        """Nothing is pending (each result is done or failed)."""
        return all(result.status != "pending" for result in self)

    @property
    def pending(self) -> list[FeatureJob]:
        """Handles of the unfinished ones."""
        return [result.job for result in self if result.status == "pending"]

    @property
    def failed(self) -> dict[tuple[str, str], str]:
        """(asset id, feature) -> the error, for the failed ones."""
        return {item: r.error for item, r in self.results.items() if r.status == "failed"}


@dataclass(frozen=True)
class JobStatus:
    """A job as the service reports it, with the value once it is done."""

    job_id: str
    status: str
    attempts: int
    error: str | None
    result: dict[str, Any] | None
    value: Any = None


@dataclass
class _Node:
    record: AssetRecord
    feature: str
    key: str
    inputs: list[_Node] = field(default_factory=list)
    job: FeatureJob | None = None
    failure: NodeFailure | None = None

    @property
    def item(self) -> tuple[str, str]:
        return (self.record.asset_id, self.feature)


class FeatureStore:
    """Features of media assets: cached values at once, the rest through the service.

    Args:
        url: The feature service; default ``MLP_FEATURES_URL``, else ``service.url`` of the
            configuration.
        registry: The feature graph (default the built-in `media_features.registry`); it
            must be the one the service runs.
        config: The configuration (default ``features_config.json``).
        settings: Platform settings (cache, catalog, tokens); default `load_settings()`.
        token: Bearer token of the service; default the first of ``hosting.tokens``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        registry: FeatureRegistry | None = None,
        config: MediaFeaturesConfig | None = None,
        settings: Any = None,
        token: str | None = None,
    ) -> None:
        from mlplatform.config import load_settings

        if registry is None:
            from media_features._builtin import registry as builtin

            registry = builtin
        self.registry = registry
        self.config = config or load_config()
        self.settings = settings or load_settings()
        self.url = (url or os.environ.get(URL_VARIABLE) or self.config.service.url).rstrip("/")
        token = token or next(iter(self.settings.hosting.tokens), None)
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=self.config.store.request_timeout_s
        )
        self.cache = FeatureCache(self.config.cache, self.settings)
        self.assets = AssetIndex(
            self.config, refresh_s=self.config.store.assets_refresh_s, settings=self.settings
        )
        self._pool = ThreadPoolExecutor(
            self.config.store.submit_threads, thread_name_prefix="feature-submit"
        )

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client, the threads and the cache connections."""
        self._pool.shutdown(wait=True)
        self._http.close()
        self.cache.close()

    # -- the graph of one request ----------------------------------------------------------

    def _nodes(self, records: list[AssetRecord], features: list[str]) -> dict[str, _Node]:
        order = self.registry.closure(features)
        nodes: dict[str, _Node] = {}
        for record in records:
            by_name: dict[str, _Node] = {}
            for name in order:
                key = self.registry.key(record.asset_id, record.asset_version, name)
                node = nodes.setdefault(key, _Node(record, name, key))
                node.inputs = [by_name[d] for d in self.registry[name].inputs]
                by_name[name] = node
        return nodes

    @staticmethod
    def _needed(requested: list[_Node], cached: dict[str, Any]) -> list[_Node]:
        """The missing nodes the missing requested ones need (themselves included)."""
        needed: dict[str, _Node] = {}
        stack = [node for node in requested if node.key not in cached]
        while stack:
            node = stack.pop()
            if node.key in needed or node.key in cached:
                continue
            needed[node.key] = node
            stack.extend(node.inputs)
        return list(needed.values())

    # -- public API ------------------------------------------------------------------------

    def get(
        self,
        assets: str | Iterable[str],
        features: str | Iterable[str],
        *,
        wait: bool = True,
        timeout: float = 60.0,
    ) -> FeatureBatch:
        """Features of assets: cached values at once, missing ones computed by the service.

        Args:
            assets: Asset ids (their current versions are used).
            features: Feature names.
            wait: Wait until every requested feature is done or failed (at most
                ``timeout`` seconds); False returns at once, missing ones as job handles.
            timeout: Seconds to wait. When it passes, the unfinished ones are returned as
                pending handles; their jobs still complete and are cached.

        Returns:
            A `FeatureBatch` with one result per (asset, feature).

        Raises:
            UnknownAssetError: An asset the assets table does not list.
            UnknownFeatureError: A feature that is not registered.
            FeatureServiceError: The service cannot be reached or refused a request.
        """
        asset_ids = [assets] if isinstance(assets, str) else list(dict.fromkeys(assets))
        names = list(dict.fromkeys(self.registry.check(features)))
        records = self.assets.lookup(asset_ids)
        nodes = self._nodes(records, names)
        requested = [
            nodes[self.registry.key(r.asset_id, r.asset_version, name)]
            for r in records
            for name in names
        ]
        cached = self.cache.values(nodes)
        batch = FeatureBatch()
        for node in requested:
            if node.key in cached:
                batch.results[node.item] = FeatureResult(
                    *node.item, node.key, "done", value=cached[node.key], cached=True
                )
        needed = self._needed(requested, cached)
        if needed:
            self._submit(needed)
            pending = [node for node in requested if node.key not in cached]
            deadline = time.monotonic() + (timeout if wait else 0.0)
            batch = self._collect(batch, pending, needed, deadline, wait=wait)
        return batch.ordered([node.item for node in requested])

    def wait(
        self, jobs: FeatureBatch | Iterable[FeatureJob], *, timeout: float = 60.0
    ) -> FeatureBatch:
        """Wait for job handles (or a batch's pending ones) and return their results.

        Results already done or failed in a batch are kept as they are.
        """
        batch = FeatureBatch()
        if isinstance(jobs, FeatureBatch):
            batch.results = {k: r for k, r in jobs.results.items() if r.status != "pending"}
            jobs = jobs.pending
        pending = []
        for job in jobs:
            record = AssetRecord(job.asset_id, 0, "", "", 0, {})
            node = _Node(record, job.feature, job.key, job=job)
            pending.append(node)
        order = [*batch.results, *(node.item for node in pending)]
        batch = self._collect(batch, pending, pending, time.monotonic() + timeout, wait=True)
        return batch.ordered(order)

    def status(self, job_id: str) -> JobStatus:
        """A job's status as the service reports it, with the value once it is done.

        Raises:
            FeatureServiceError: The service cannot be reached, or knows no such job.
        """
        body = self._request("GET", f"/jobs/{job_id}", expect=(200,))
        result = body.get("result")
        value = None
        if body.get("status") == "done" and isinstance(result, dict) and "key" in result:
            value = self.cache.values([result["key"]]).get(result["key"])
        return JobStatus(
            job_id=body.get("id", job_id),
            status=body.get("status", "unknown"),
            attempts=int(body.get("attempts") or 0),
            error=body.get("error"),
            result=result,
            value=value,
        )

    def service_registry(self) -> dict[str, Any]:
        """The features the service runs (``GET /features/registry``)."""
        return self._request("GET", REGISTRY_PATH, expect=(200,))

    # -- HTTP ------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, expect: tuple[int, ...], **options: Any
    ) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **options)
        except httpx.TransportError as error:
            raise FeatureServiceError(
                f"no feature service answers at {self.url} ({type(error).__name__}); start it "
                f"with `uv run mlp serve pipelines/media_features/service.py --port "
                f"{httpx.URL(self.url).port or 80}` or pass --serve to `mlp features get`"
            ) from None
        if response.status_code not in expect:
            try:
                detail = response.json()
            except ValueError:
                detail = response.text[:300]
            if response.status_code == 404 and path.startswith("/jobs/"):
                raise FeatureServiceError(
                    f"the feature service at {self.url} has no job {path.removeprefix('/jobs/')}"
                    f": {detail.get('error') if isinstance(detail, dict) else detail}"
                )
            raise FeatureServiceError(
                f"{method} {self.url}{path} answered {response.status_code}: {detail}"
            )
        return response.json()

    def _post_node(self, node: _Node) -> FeatureJob:
        """Send one node; a stale job (done without a value, or failed for a reason that
        is not recorded as final) is sent again under a key derived from it."""
        feature = self.registry[node.feature]
        payload = {
            "asset_id": node.record.asset_id,
            "asset_version": node.record.asset_version,
            "feature": node.feature,
            "version": feature.version,
            "key": node.key,
            "sources": {
                s: {"uri": node.record.objects[s].uri, "sha256": node.record.objects[s].sha256}
                for s in feature.sources
            },
        }
        idempotency_key = node.key
        for _ in range(_RESUBMITS):
            body = self._request(
                "POST",
                COMPUTE_PATH,
                expect=(202,),
                json=payload,
                headers={"idempotency-key": idempotency_key},
            )
            job = FeatureJob(node.record.asset_id, node.feature, node.key, body["job_id"])
            status = body.get("status")
            if status == "done" and not self.cache.values([node.key]):
                pass  # the value it made is gone (expired or deleted): compute it again
            elif status == "failed" and not self.cache.failures_of([node.key]):
                pass  # a failure that is not final (retries ran out on a hiccup): again
            else:
                return job
            idempotency_key = f"{node.key}#after-{job.job_id}"
        return job

    def _submit(self, needed: list[_Node]) -> None:
        """Send the needed nodes level by level, ``submit_threads`` at a time: every node of
        a level is queued before any of the next, so when a job starts its inputs are done
        or running, and a job consumer's threads rarely wait for one another.

        A node that failed before, or whose input did, is not sent: it fails with the
        recorded root cause.
        """
        failures = self.cache.failures_of(node.key for node in needed)
        by_level: dict[int, list[_Node]] = {}
        for node in needed:
            by_level.setdefault(self.registry.level(node.feature), []).append(node)
        for level in sorted(by_level):
            sending = []
            for node in by_level[level]:
                broken = next((i.failure for i in node.inputs if i.failure), None)
                if broken is not None:
                    node.failure = broken.caused(node.feature)
                elif node.key in failures:
                    node.failure = failures[node.key]
                else:
                    sending.append(node)
            for node, job in zip(sending, self._pool.map(self._post_node, sending), strict=True):
                node.job = job
            logger.debug("sent %d level-%d nodes to %s", len(sending), level, self.url)

    # -- waiting ---------------------------------------------------------------------------

    def _collect(
        self,
        batch: FeatureBatch,
        pending: list[_Node],
        tracked: list[_Node],
        deadline: float,
        *,
        wait: bool,
    ) -> FeatureBatch:
        """Poll the cache until ``pending`` are resolved or the deadline passes; record
        every requested node in ``batch``.

        A failure recorded for any ``tracked`` node (the requested ones and the inputs sent
        for them) fails its dependents at once, with its root cause. When nothing has
        finished for ``job_check_interval_s``, a few of the jobs are asked for their status
        (a job can fail in a way no feature records, e.g. a lost input).
        """
        options = self.config.store
        delay = options.poll_interval_s
        open_nodes = {node.key: node for node in pending}
        watched = [node for node in tracked if node.failure is None]
        progress = next_failure_check = time.monotonic()
        checked = 0
        while True:
            for key, node in list(open_nodes.items()):
                if node.failure is not None:
                    batch.results[node.item] = FeatureResult(
                        *node.item, key, "failed", error=node.failure.message, job=node.job
                    )
                    del open_nodes[key]
            for key, value in self.cache.values(open_nodes).items():
                node = open_nodes.pop(key)
                batch.results[node.item] = FeatureResult(
                    *node.item, key, "done", value=value, job=node.job
                )
                progress = time.monotonic()
            if not open_nodes:
                return batch
            now = time.monotonic()
            if now >= next_failure_check:
                next_failure_check = now + _FAILURE_CHECK_S
                watched = [node for node in watched if node.failure is None]
                failures = self.cache.failures_of(node.key for node in watched)
                for node in watched:
                    node.failure = failures.get(node.key)
                _propagate(tracked)
                if any(node.failure for node in open_nodes.values()):
                    continue
            if now >= deadline:
                break
            if now - progress >= options.job_check_interval_s:
                stalled = list(open_nodes.values())
                start = checked % len(stalled)
                self._check_jobs((stalled[start:] + stalled[:start])[:_JOBS_PER_CHECK])
                checked += _JOBS_PER_CHECK
                progress = now
                if any(node.failure for node in open_nodes.values()):
                    continue
            time.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 1.5, options.max_poll_interval_s)
        for key, node in open_nodes.items():
            batch.results[node.item] = FeatureResult(*node.item, key, "pending", job=node.job)
        if wait:
            logger.warning(
                "%d feature(s) not ready when the wait ended; returned as pending jobs",
                len(open_nodes),
            )
        return batch

    def _check_jobs(self, nodes: list[_Node]) -> None:
        """Ask the service about the jobs of ``nodes``: a failed job fails its node."""
        for node in nodes:
            if node.job is None:
                continue
            status = self.status(node.job.job_id)
            if status.status == "failed":
                error = status.error or "the job failed"
                what = f"{node.record.asset_id}" + (
                    f" v{node.record.asset_version}" if node.record.asset_version else ""
                )
                node.failure = NodeFailure(what, node.feature, node.feature, error)


def _propagate(nodes: list[_Node]) -> None:
    """Fail every node with a failed input, with the input's root cause."""
    changed = True
    while changed:
        changed = False
        for node in nodes:
            if node.failure is None:
                broken = next((i.failure for i in node.inputs if i.failure), None)
                if broken is not None:
                    node.failure = broken.caused(node.feature)
                    changed = True
