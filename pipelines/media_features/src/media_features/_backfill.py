"""The backfill: compute a set of features for every asset into one cache generation.

`MediaFeatureBackfillFlow` (``flow.py``) runs these: `plan_backfill` pins the assets
table's snapshot, splits the assets into shards and opens a generation of the backfill
namespace; `backfill_shard` (one foreach task per shard) computes the features in the task
itself — reusing every value already cached, on demand or by an earlier backfill — and
writes them into the generation; `publish_backfill` makes the generation current in one
atomic step, so readers see the whole new backfill or the previous one. A node that fails
(a corrupt asset, a raising function) is left out with its dependents, reported in the
summary and recorded in the failures namespace as the service records its own; the other
nodes are written.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from media_features._assets import ensure_assets, load_assets
from media_features._compute import FeatureCache, compute_assets
from media_features._config import MediaFeaturesConfig, load_config
from media_features._objects import ObjectStore
from media_features._registry import FeatureRegistry

__all__ = [
    "BackfillPlan",
    "backfill_shard",
    "check_backfill_features",
    "flow_config",
    "plan_backfill",
    "publish_backfill",
]

logger = logging.getLogger(__name__)


def _registry(registry: FeatureRegistry | None) -> FeatureRegistry:
    if registry is not None:
        return registry
    from media_features._builtin import registry as builtin

    return builtin


def check_backfill_features(
    config: MediaFeaturesConfig, features: str = "", registry: FeatureRegistry | None = None
) -> list[str]:
    """The features to backfill: comma-separated ``features``, else the configuration's.

    Raises:
        UnknownFeatureError: One is not registered.
    """
    names = [name.strip() for name in features.split(",") if name.strip()]
    return _registry(registry).check(names or config.backfill.features)


def flow_config(text: str) -> dict[str, Any]:
    """Metaflow ``Config`` parser: the configuration, validated before any task runs.

    Raises:
        MediaFeaturesError: Invalid configuration.
        UnknownFeatureError: ``backfill.features`` names an unknown feature.
    """
    config = load_config(text)
    check_backfill_features(config)
    return config.model_dump(mode="json")


@dataclass(frozen=True)
class BackfillPlan:
    """What one backfill run computes.

    Attributes:
        snapshot_id: The assets table's snapshot the run reads.
        shards: Asset ids per foreach task (never empty).
        generation: The open generation of the backfill namespace.
    """

    snapshot_id: int | None
    shards: list[list[str]]
    generation: str


def plan_backfill(
    config: MediaFeaturesConfig,
    *,
    shards: int = 0,
    snapshot_id: int | None = None,
    settings: Any = None,
) -> BackfillPlan:
    """Pin the assets snapshot, shard the assets and open a generation.

    Args:
        config: The configuration.
        shards: Number of foreach tasks (0: ``backfill.shards``), at most one per asset.
        snapshot_id: The assets snapshot to read (None or 0: the current one), e.g. from
            the event that announced new assets.
        settings: Platform settings.
    """
    current = ensure_assets(config, settings)
    snapshot_id = snapshot_id or current
    records = load_assets(config, snapshot_id, settings) if snapshot_id else {}
    asset_ids = sorted(records)
    count = max(1, min(shards or config.backfill.shards, len(asset_ids) or 1))
    parts = [list(part) for part in np.array_split(np.array(asset_ids, dtype=object), count)]
    parts = [part for part in parts if part] or [[]]
    cache = FeatureCache(config.cache, settings)
    try:
        generation = cache.backfill.new_generation()
    finally:
        cache.close()
    logger.info(
        "backfill of %d assets (snapshot %s) in %d shard(s), generation %s",
        len(asset_ids),
        snapshot_id,
        len(parts),
        generation,
    )
    return BackfillPlan(snapshot_id, parts, generation)


def backfill_shard(
    config: MediaFeaturesConfig,
    *,
    snapshot_id: int | None,
    asset_ids: list[str],
    features: list[str],
    generation: str,
    registry: FeatureRegistry | None = None,
    settings: Any = None,
) -> dict[str, Any]:
    """Compute ``features`` of one shard of assets into the open ``generation``.

    Returns:
        A summary: ``assets``, ``nodes`` (written), ``computed``, ``reused``, ``seconds``
        and ``failed`` (node key -> the failure's message).
    """
    from mlplatform.config import load_settings

    registry = _registry(registry)
    started = time.perf_counter()
    records = load_assets(config, snapshot_id, settings) if snapshot_id else {}
    shard = [records[asset_id] for asset_id in asset_ids if asset_id in records]
    cache = FeatureCache(config.cache, settings)
    computed: list[str] = []

    def on_computed(key: str, feature: str) -> None:
        computed.append(key)
        cache.count_computation(key, where="backfill", generation=generation)

    try:
        values, failures = compute_assets(
            registry,
            shard,
            features,
            ObjectStore(settings),
            known=cache.values,
            on_computed=on_computed,
        )
        with cache.backfill.writer(generation) as writer:
            writer.put_many(values)
        # Recorded like the service's failures: callers then fail fast with the same cause.
        ttl = (settings or load_settings()).hosting.job_ttl_s
        for key, failure in failures.items():
            cache.fail(key, failure, ttl)
    finally:
        cache.close()
    summary = {
        "assets": len(shard),
        "nodes": len(values),
        "computed": len(computed),
        "reused": len(values) - len(computed),
        "failed": {key: failure.message for key, failure in failures.items()},
        "seconds": round(time.perf_counter() - started, 3),
    }
    logger.info(
        "shard of %d assets: %d nodes written (%d computed, %d reused), %d failed in %.2f s",
        summary["assets"],
        summary["nodes"],
        summary["computed"],
        summary["reused"],
        len(summary["failed"]),
        summary["seconds"],
    )
    return summary


def publish_backfill(
    config: MediaFeaturesConfig, generation: str, settings: Any = None
) -> dict[str, Any]:
    """Make the backfill generation current (atomically); returns its id and key count."""
    cache = FeatureCache(config.cache, settings)
    try:
        info = cache.backfill.publish(generation)
    finally:
        cache.close()
    return {"generation": info.id, "keys": info.key_count}
