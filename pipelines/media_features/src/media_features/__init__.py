"""An on-demand feature store for media assets.

Features are code (``@feature(name, version, depends_on=[...])``) forming a graph over an
asset's sources (video frames, audio, synopsis, artwork). `FeatureStore.get` returns cached
values at once and has the hosted feature service (`feature_service`, one async job per
node) compute the missing ones in dependency order; `MediaFeatureBackfillFlow` (``flow.py``)
computes a set of features for every asset into one cache generation. This façade exports
what ``flow.py``, ``service.py``, the benchmark and the tests use.
"""

from media_features._assets import (
    ASSETS_SCHEMA,
    AssetRecord,
    ensure_assets,
    load_assets,
    register_assets,
)
from media_features._backfill import (
    backfill_shard,
    check_backfill_features,
    flow_config,
    plan_backfill,
    publish_backfill,
)
from media_features._builtin import feature, registry
from media_features._compute import FeatureCache, compute_assets
from media_features._config import MediaFeaturesConfig, load_config
from media_features._errors import (
    CorruptAssetError,
    FeatureComputationError,
    FeatureFailedError,
    FeatureGraphError,
    FeatureNotReadyError,
    FeatureServiceError,
    MediaFeaturesError,
    UnknownAssetError,
    UnknownFeatureError,
)
from media_features._launch import start_service
from media_features._objects import ObjectStore
from media_features._registry import SOURCES, Feature, FeatureRegistry
from media_features._sample import AudioClip, generate_assets
from media_features._service import feature_service
from media_features._store import FeatureBatch, FeatureJob, FeatureResult, FeatureStore

__all__ = [
    "ASSETS_SCHEMA",
    "SOURCES",
    "AssetRecord",
    "AudioClip",
    "CorruptAssetError",
    "Feature",
    "FeatureBatch",
    "FeatureCache",
    "FeatureComputationError",
    "FeatureFailedError",
    "FeatureGraphError",
    "FeatureJob",
    "FeatureNotReadyError",
    "FeatureRegistry",
    "FeatureResult",
    "FeatureServiceError",
    "FeatureStore",
    "MediaFeaturesConfig",
    "MediaFeaturesError",
    "ObjectStore",
    "UnknownAssetError",
    "UnknownFeatureError",
    "backfill_shard",
    "check_backfill_features",
    "compute_assets",
    "ensure_assets",
    "feature",
    "feature_service",
    "flow_config",
    "generate_assets",
    "load_assets",
    "load_config",
    "plan_backfill",
    "publish_backfill",
    "register_assets",
    "registry",
    "start_service",
]
