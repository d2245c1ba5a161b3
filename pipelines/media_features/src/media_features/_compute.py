"""Computing nodes: one (asset, feature) at a time, and the cache that holds the results.

The same code computes a node in the hosted service (one node per job), in the backfill
flow and in the benchmark's direct baseline, so all three give the same values.

`FeatureCache` is the feature store's view of the online cache, four namespaces:

- ``on_demand``: values computed by the service, each stored once with `Cache.add`
  (create-if-absent, so of two racing computations one value is kept);
- ``backfill``: values written by `MediaFeatureBackfillFlow` as one generation, published
  atomically; readers look here first;
- ``failures``: why a node failed (the root cause), kept for ``hosting.job_ttl_s`` like
  the job that failed, so dependents and callers fail fast with the same cause;
- ``computations``: one entry per time a feature function ran (the single-flight proof).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from media_features._assets import AssetRecord
from media_features._config import CacheConfig
from media_features._errors import (
    CorruptAssetError,
    FeatureComputationError,
    MediaFeaturesError,
)
from media_features._objects import ObjectStore
from media_features._registry import FeatureRegistry

__all__ = ["FeatureCache", "NodeFailure", "compute_assets", "run_feature"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeFailure:
    """Why one (asset, feature) node failed.

    Attributes:
        asset: ``asset-0003 v1``.
        feature: The node's feature.
        root_feature: The feature whose computation failed (the node's own, or an input's).
        error: The root cause, as raised there.
    """

    asset: str
    feature: str
    root_feature: str
    error: str

    @property
    def message(self) -> str:
        """One line naming the node and the root cause."""
        why = "" if self.root_feature == self.feature else f" because {self.root_feature} failed"
        return f"{self.feature} of {self.asset} failed{why}: {self.error}"

    def caused(self, feature: str) -> NodeFailure:
        """The failure of a dependent ``feature`` of the same asset, with the same root."""
        return NodeFailure(self.asset, feature, self.root_feature, self.error)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeFailure:
        return cls(**{key: str(data[key]) for key in ("asset", "feature", "root_feature", "error")})


class FeatureCache:
    """The cache namespaces of the feature store (see the module's docstring).

    Args:
        config: The namespace names.
        settings: Settings of the cache backend; default `load_settings()`.
    """

    def __init__(self, config: CacheConfig, settings: Any = None) -> None:
        from mlplatform.cache import Cache

        self.config = config
        self.on_demand = Cache(config.on_demand_namespace, settings=settings)
        backend = self.on_demand.backend  # one connection pool for the four namespaces
        self.backfill = Cache(config.backfill_namespace, backend=backend)
        self.failures = Cache(config.failures_namespace, backend=backend)
        self.computations = Cache(config.computations_namespace, backend=backend)

    def values(self, keys: Iterable[str]) -> dict[str, Any]:
        """Values of ``keys`` that are cached: backfilled ones first, then computed ones."""
        keys = list(keys)
        if not keys:
            return {}
        found = self.backfill.get_many(keys)
        rest = [key for key in keys if key not in found]
        if rest:
            found |= self.on_demand.get_many(rest)
        return found

    def failures_of(self, keys: Iterable[str]) -> dict[str, NodeFailure]:
        """Recorded failures of ``keys``."""
        keys = list(keys)
        if not keys:
            return {}
        return {k: NodeFailure.from_dict(v) for k, v in self.failures.get_many(keys).items()}

    def store(self, key: str, value: Any) -> bool:
        """Keep a computed value unless one is there already; True if this call stored it."""
        return self.on_demand.add(key, value)

    def fail(self, key: str, failure: NodeFailure, ttl: float) -> None:
        """Record why ``key`` failed, for ``ttl`` seconds."""
        self.failures.put(key, failure.to_dict(), ttl=ttl)

    def count_computation(self, key: str, **details: Any) -> None:
        """Log that the function of ``key`` ran once (who, where, when)."""
        entry = {"pid": os.getpid(), "at": time.time(), **details}
        self.computations.put(f"{key}#{secrets.token_hex(6)}", entry)

    def computation_count(self, key: str) -> int:
        """How many times the function of ``key`` ran."""
        return len(self.computations.keys(f"{key}#"))

    def close(self) -> None:
        """Close the cache connections."""
        self.on_demand.close()


def _plain(value: Any, where: str) -> Any:
    """A value the cache stores: numpy arrays as they are, numpy scalars and tuples made
    plain inside JSON-able structures."""
    if isinstance(value, np.ndarray):
        return value
    return _json_plain(value, where)


def _json_plain(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_json_plain(item, where) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_plain(item, where) for key, item in value.items()}
    raise FeatureComputationError(
        f"{where} returned a value of type {type(value).__qualname__}; a feature returns a "
        "numpy array or JSON-able data (numbers, strings, lists, dicts)"
    )


def run_feature(
    registry: FeatureRegistry, name: str, arguments: Mapping[str, Any], *, what: str
) -> Any:
    """Call feature ``name``'s function on its dependencies' values.

    Args:
        registry: The feature graph.
        name: The feature.
        arguments: A value for every dependency (sources and features).
        what: The asset, for errors (``asset-0003 v1``).

    Raises:
        FeatureComputationError: The function raised, or returned something the cache
            cannot store; the message names the feature, the asset and the exception.
    """
    feature = registry[name]
    where = f"{name} v{feature.version} of {what}"
    try:
        value = feature.function(**{d: arguments[d] for d in feature.depends_on})
    except Exception as error:
        raise FeatureComputationError(f"{where} raised {type(error).__name__}: {error}") from error
    return _plain(value, where)


def compute_assets(
    registry: FeatureRegistry,
    records: Iterable[AssetRecord],
    features: Iterable[str],
    objects: ObjectStore,
    known: Callable[[list[str]], Mapping[str, Any]] = lambda keys: {},
    on_computed: Callable[[str, str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, NodeFailure]]:
    """Compute ``features`` (and what they need) of each asset, in this process.

    A node already in ``known`` is not computed; a node whose input failed fails with the
    input's root cause; other branches still complete.

    Args:
        registry: The feature graph.
        records: The assets.
        features: The features wanted.
        objects: Where the assets' objects are.
        known: Returns the cached values of a list of keys (default: nothing is cached).
        on_computed: Called with (key, feature) after each computed node.

    Returns:
        ``(values, failures)``, both by node key, for every node of the closure.
    """
    order = registry.closure(features)
    values: dict[str, Any] = {}
    failures: dict[str, NodeFailure] = {}
    for record in records:
        what = record.describe()
        keys = {name: registry.key(record.asset_id, record.asset_version, name) for name in order}
        cached = known(list(keys.values()))
        sources: dict[str, Any] = {}
        done: dict[str, Any] = {}
        failed: dict[str, NodeFailure] = {}
        for name in order:
            key = keys[name]
            if key in cached:
                done[name] = values[key] = cached[key]
                continue
            feature = registry[name]
            broken = next((failed[d] for d in feature.inputs if d in failed), None)
            if broken is not None:
                failed[name] = failures[key] = broken.caused(name)
                continue
            try:
                for source in feature.sources:
                    if source not in sources:
                        sources[source] = objects.load_source(
                            source, record.objects[source], what=record.describe(source)
                        )
                arguments = {**sources, **done}
                done[name] = values[key] = run_feature(registry, name, arguments, what=what)
            except (CorruptAssetError, FeatureComputationError) as error:
                failed[name] = failures[key] = NodeFailure(what, name, name, str(error))
                logger.warning("%s", failed[name].message)
                continue
            if on_computed is not None:
                on_computed(key, name)
    return values, failures


def is_deterministic(error: BaseException) -> bool:
    """Whether an error would happen again on a retry (bad data or code, not a hiccup)."""
    return isinstance(error, MediaFeaturesError)
