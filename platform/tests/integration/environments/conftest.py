"""Registry backends for the contract suite: SQLite in tmp_path, and S3 (moto's server as a
stand-in on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlplatform.config import Settings, load_settings
from mlplatform.environments._backend import EnvironmentRegistry, open_registry


@pytest.fixture(params=["local", "s3"])
def registry_settings(request: pytest.FixtureRequest, mlp_home, monkeypatch) -> Settings:
    """Settings of a fresh local profile whose environments backend is the parameter."""
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
        monkeypatch.setenv("MLP_ENVIRONMENTS__BACKEND", "s3")
    settings = load_settings()
    assert settings.environments.backend == request.param
    return settings


@pytest.fixture
def registry(registry_settings: Settings) -> Iterator[EnvironmentRegistry]:
    opened = open_registry(registry_settings)
    yield opened
    opened.close()
