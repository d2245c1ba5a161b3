"""Shared fixtures of the media_features tests: a small configuration, a profile and a real
feature service shared by a module (starting one takes seconds)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import media_features as mf
import pytest

from mlplatform.testing import Served, start_serving

TESTS = Path(__file__).resolve().parent
TEST_SERVICE = TESTS / "service_for_tests.py"
CONFIG_VARIABLE = "MEDIA_FEATURES_TEST_CONFIG"

SMALL = {
    "sample": {
        "n_assets": 8,
        "seed": 3,
        "n_frames": 24,
        "frame_height": 16,
        "frame_width": 24,
        "audio_seconds": 4.0,
        "audio_sample_rate": 1000,
        "artwork_size": 16,
    },
    "store": {"assets_refresh_s": 0.0, "job_check_interval_s": 0.5},
    "input_wait_s": 20.0,
    "backfill": {"features": ["palette", "shot_stats", "loud_moments"], "shards": 2},
}


@pytest.fixture(scope="session")
def small_config() -> mf.MediaFeaturesConfig:
    """The configuration with 8 small sample assets."""
    return mf.load_config({**mf.load_config().model_dump(mode="json"), **SMALL})


def load_registry(service_file: Path) -> mf.FeatureRegistry:
    """The registry a test service file serves (``service_for_tests.py``: the built-ins
    plus a failing, a dependent and a slow feature)."""
    name = f"_media_features_{service_file.stem}"
    spec = importlib.util.spec_from_file_location(name, service_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.registry


@pytest.fixture
def registry_of():
    """`load_registry`: the registry a service file of the tests serves."""
    return load_registry


@pytest.fixture
def service_env(tmp_path: Path, small_config: mf.MediaFeaturesConfig) -> dict[str, str]:
    """Environment for `mlp_serve` of a test service file: the small configuration, and a
    failing job final at once."""
    config_path = tmp_path / "features_config.json"
    config_path.write_text(small_config.model_dump_json())
    return {CONFIG_VARIABLE: str(config_path), "MLP_HOSTING__JOB_RETRIES": "0"}


@dataclass
class FeatureEnvironment:
    """A profile of its own with a running feature service and a store on it."""

    home: Path
    config: mf.MediaFeaturesConfig
    registry: mf.FeatureRegistry
    served: Served
    store: mf.FeatureStore

    def direct(self, asset_ids: list[str], features: list[str]) -> dict[str, Any]:
        """The values computed in this process, by node key (the reference)."""
        records = [mf.load_assets(self.config)[asset_id] for asset_id in asset_ids]
        values, failures = mf.compute_assets(self.registry, records, features, mf.ObjectStore())
        assert not failures
        return values

    def computations(self, asset_id: str, feature: str) -> int:
        record = mf.load_assets(self.config)[asset_id]
        key = self.registry.key(asset_id, record.asset_version, feature)
        return self.store.cache.computation_count(key)


def isolated_profile(monkeypatch: pytest.MonkeyPatch, root: Path, config: Any) -> Path:
    """Point every setting at a fresh local profile under ``root`` (as `mlp_home` does)."""
    for name in list(os.environ):
        if name.startswith("MLP_"):
            monkeypatch.delenv(name)
    home = root / "mlp"
    (root / "mlp.toml").write_text('profile = "local"\n')
    config_path = root / "features_config.json"
    config_path.write_text(json.dumps(config.model_dump(mode="json")))
    for name, value in {
        "MLP_HOME": str(home),
        "MLP_CONFIG": str(root / "mlp.toml"),
        "METAFLOW_USER": "tester",
        # A failing job is final at once (feature failures are not worth retrying).
        "MLP_HOSTING__JOB_RETRIES": "0",
        "MLP_HOSTING__MAX_JOB_WORKERS": "2",
        CONFIG_VARIABLE: str(config_path),
    }.items():
        monkeypatch.setenv(name, value)
    return home


@pytest.fixture(scope="module")
def features_env(
    tmp_path_factory: pytest.TempPathFactory, small_config: mf.MediaFeaturesConfig
) -> Iterator[FeatureEnvironment]:
    """One profile, one running feature service (``service_for_tests.py``) and one store
    for every test of a module; tests use different assets so that they do not meet."""
    root = tmp_path_factory.mktemp("features")
    with pytest.MonkeyPatch.context() as monkeypatch:
        home = isolated_profile(monkeypatch, root, small_config)
        registry = load_registry(TEST_SERVICE)
        served = start_serving(TEST_SERVICE, root / "serve.log")
        store = mf.FeatureStore(served.url, registry=registry, config=small_config)
        try:
            yield FeatureEnvironment(home, small_config, registry, served, store)
        finally:
            store.close()
            served.stop()
