"""Cache backends for the contract suite: SQLite in tmp_path, and a real redis-server.

The redis-server is started once per test session on a free loopback port with persistence
off (``--save '' --appendonly no``) and stopped at the end; each test gets an empty db.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from mlplatform.cache import Cache
from mlplatform.config import Settings, load_settings
from mlplatform.testing import free_port

REDIS_SERVER = "/usr/bin/redis-server"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a redis-server started for this test session."""
    binary = REDIS_SERVER if Path(REDIS_SERVER).exists() else shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not installed; install the Debian package redis-server "
            "(.ci/run does) to run the Redis contract tests"
        )
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = (folder / "redis.log").open("w")
    server = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"redis-server did not start: {(folder / 'redis.log').read_text()}")
            time.sleep(0.05)
    client.close()
    yield url
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def cache_settings(
    request: pytest.FixtureRequest, mlp_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings of a fresh local profile whose cache backend is the parameter.

    The backend is chosen through the environment, so subprocesses (readers, writers,
    Metaflow tasks) started by the test use the same cache.
    """
    if request.param == "redis":
        url = request.getfixturevalue("redis_server")
        with redis.Redis.from_url(url) as client:
            client.flushdb()
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
