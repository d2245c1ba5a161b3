"""Cache backends for the contract suite: SQLite in tmp_path, and a real redis-server
(``empty_redis``, ../conftest.py): each Redis test gets an empty db."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlplatform.cache import Cache
from mlplatform.config import Settings, load_settings


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def cache_settings(
    request: pytest.FixtureRequest, mlp_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings of a fresh local profile whose cache backend is the parameter.

    The backend is chosen through the environment, so subprocesses (readers, writers,
    Metaflow tasks) started by the test use the same cache.
    """
    if request.param == "redis":
        url = request.getfixturevalue("empty_redis")
        monkeypatch.setenv("MLP_CACHE__BACKEND", "redis")
        monkeypatch.setenv("MLP_CACHE__REDIS_URL", url)
    settings = load_settings()
    assert settings.cache.backend == request.param
    return settings


@pytest.fixture
def make_cache(cache_settings: Settings) -> Iterator[Callable[..., Cache]]:
    """Open caches on the parametrised backend; closed at the end of the test."""
    opened: list[Cache] = []

    def make(namespace: str = "titles", **options) -> Cache:
        cache = Cache(namespace, settings=cache_settings, **options)
        opened.append(cache)
        return cache

    yield make
    for cache in opened:
        cache.close()
