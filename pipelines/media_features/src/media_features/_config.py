"""The pipeline's configuration, as data: ``features_config.json`` next to ``flow.py``.

Every value has a default here, so the package works without the file; the file states the
values the pipeline runs with (tables, sample size, service, cache namespaces, timings) and
is what a team adapting the pipeline edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from media_features._errors import MediaFeaturesError
from mlplatform.config import load_json_config

__all__ = ["DEFAULT_CONFIG_PATH", "MediaFeaturesConfig", "load_config"]

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "features_config.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SampleConfig(_Model):
    """Size of the seeded synthetic assets (local profile only)."""

    n_assets: int = Field(default=300, ge=1)
    seed: int = 0
    n_frames: int = Field(default=48, ge=8)
    frame_height: int = Field(default=36, ge=8)
    frame_width: int = Field(default=64, ge=8)
    audio_seconds: float = Field(default=12.0, ge=2.0)
    audio_sample_rate: int = Field(default=2000, ge=500)
    artwork_size: int = Field(default=48, ge=8)


class ServiceConfig(_Model):
    """The hosted feature service."""

    name: str = "media-features"
    url: str = "http://127.0.0.1:8018"
    """Where `FeatureStore` and ``mlp features`` find it (``MLP_FEATURES_URL`` wins)."""


class CacheConfig(_Model):
    """Cache namespaces: computed on demand, backfilled (generations), failures, a log."""

    on_demand_namespace: str = "media_features.on_demand"
    backfill_namespace: str = "media_features.backfill"
    failures_namespace: str = "media_features.failures"
    computations_namespace: str = "media_features.computations"


class StoreConfig(_Model):
    """How `FeatureStore` submits and waits."""

    submit_threads: int = Field(default=8, ge=1)
    """Requests sent at once to the service (within one dependency level)."""
    poll_interval_s: float = Field(default=0.005, gt=0)
    max_poll_interval_s: float = Field(default=0.05, gt=0)
    job_check_interval_s: float = Field(default=1.0, gt=0)
    """How often a waiting `get` also asks the service for its jobs' status."""
    assets_refresh_s: float = Field(default=2.0, ge=0)
    """How long the asset index is trusted before the table's snapshot is checked again."""
    request_timeout_s: float = Field(default=30.0, gt=0)


class BackfillConfig(_Model):
    """What `MediaFeatureBackfillFlow` computes."""

    features: list[str] = Field(
        default=[
            "palette",
            "shot_stats",
            "loud_moments",
            "text_embedding",
            "dominant_colors",
            "motion_energy",
            "synopsis_keywords",
        ],
        min_length=1,
    )
    shards: int = Field(default=2, ge=1)


class MediaFeaturesConfig(_Model):
    """The whole configuration (see ``features_config.json``)."""

    assets_table: str = "media.assets"
    sample: SampleConfig = SampleConfig()
    service: ServiceConfig = ServiceConfig()
    cache: CacheConfig = CacheConfig()
    store: StoreConfig = StoreConfig()
    input_wait_s: float = Field(default=30.0, gt=0)
    """How long a node's job waits for inputs that other jobs compute before it is retried."""
    backfill: BackfillConfig = BackfillConfig()


def load_config(source: str | Path | Mapping[str, Any] | None = None) -> MediaFeaturesConfig:
    """Load and validate the configuration.

    Args:
        source: A mapping, a JSON document (a string starting with ``{``), a path, or None
            for ``features_config.json`` next to ``flow.py``.

    Raises:
        MediaFeaturesError: The file is missing or not JSON, or a value is invalid; the
            message names the key.
    """
    return load_json_config(
        DEFAULT_CONFIG_PATH if source is None else source,
        MediaFeaturesConfig,
        name="media features config",
        error=MediaFeaturesError,
        example="pipelines/media_features/features_config.json",
    )
