"""`Cache` on the embedded SQLite backend: settings, files, validation, TTL, processes."""

from __future__ import annotations

import math
import multiprocessing
import re
import sqlite3

import pytest

from mlplatform.cache import (
    Cache,
    CacheError,
    CacheUnavailableError,
    GenerationError,
    InvalidKeyError,
    UnknownBackendError,
    UnsupportedValueError,
    backend_names,
)
from mlplatform.cache._sqlite import SQLiteBackend
from mlplatform.config import ConfigError, load_settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_cache_uses_the_profile_settings_by_default(mlp_home):
    cache = Cache("titles")
    cache.put("k", 1)
    assert cache.backend.name == "sqlite"
    assert cache.backend.path == mlp_home / "cache.db"
    with sqlite3.connect(mlp_home / "cache.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert cache.keep_generations == 3
    assert "sqlite" in repr(cache)
    cache.close()


def test_keep_generations_comes_from_the_settings(mlp_home, monkeypatch):
    monkeypatch.setenv("MLP_CACHE__KEEP_GENERATIONS", "1")
    cache = Cache("titles")
    assert cache.keep_generations == 1
    for number in range(3):
        generation = cache.new_generation()
        with cache.writer(generation) as writer:
            writer.put("n", number)
        cache.publish(generation)
    assert [g.status for g in cache.generations()] == ["current", "previous"]


def test_an_unknown_backend_name_lists_the_valid_ones(mlp_settings):
    assert backend_names() == ["redis", "sqlite"]
    with pytest.raises(UnknownBackendError, match=r"'memcached'.*\['redis', 'sqlite'\]"):
        Cache("titles", backend="memcached", settings=mlp_settings)


def test_redis_without_a_url_is_a_config_error(mlp_settings):
    with pytest.raises(ConfigError, match="MLP_CACHE__REDIS_URL"):
        Cache("titles", backend="redis", settings=mlp_settings)


def test_an_explicit_backend_instance_is_used_and_left_open(tmp_path):
    backend = SQLiteBackend(tmp_path / "own.db")
    with Cache("a", backend=backend) as cache:
        cache.put("k", "v")
    assert Cache("a", backend=backend).get("k") == "v"  # still open
    assert cache.keep_generations == 3
    backend.close()


@pytest.mark.parametrize("namespace", ["", "a:b", "{x}", "with space", "-lead", 5, "x" * 129])
def test_invalid_namespaces_are_refused(tmp_path, namespace):
    with pytest.raises(InvalidKeyError, match="invalid cache namespace"):
        Cache(namespace, backend=SQLiteBackend(tmp_path / "c.db"))


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "empty"),
        (5, "a int"),
        ("a\x00b", "NUL"),
        ("k" * 1025, "1025 characters"),
        (b"k", "bytes"),
    ],
)
def test_invalid_keys_are_refused_by_every_operation(tmp_path, key, problem):
    cache = Cache("titles", backend=SQLiteBackend(tmp_path / "c.db"))
    generation = cache.new_generation()
    operations = [
        lambda: cache.get(key),
        lambda: cache.get_many(["ok", key]),
        lambda: cache.put(key, 1),
        lambda: cache.put_many({"ok": 1, key: 2}),
        lambda: cache.delete(key),
        lambda: cache.writer(generation).put(key, 1),
    ]
    for operation in operations:
        with pytest.raises(InvalidKeyError, match=re.escape(problem)):
            operation()
    assert cache.get("ok") is None  # nothing of a refused batch is stored


@pytest.mark.parametrize("ttl", [0, -1, math.nan, "5", True])
def test_invalid_ttls_are_refused(tmp_path, ttl):
    cache = Cache("titles", backend=SQLiteBackend(tmp_path / "c.db"))
    with pytest.raises(InvalidKeyError, match="invalid TTL"):
        cache.put("k", 1, ttl=ttl)
    with pytest.raises(InvalidKeyError, match="invalid TTL"):
        cache.set_namespace_ttl(ttl)
    assert cache.get("k") is None


@pytest.mark.parametrize("keep", [-1, "2", 1.5, True])
def test_invalid_keep_generations_is_refused(tmp_path, keep):
    with pytest.raises(InvalidKeyError, match="keep_generations must be an int >= 0"):
        Cache("titles", backend=SQLiteBackend(tmp_path / "c.db"), keep_generations=keep)


def test_a_batch_with_an_unsupported_value_stores_nothing(tmp_path):
    cache = Cache("titles", backend=SQLiteBackend(tmp_path / "c.db"))
    with pytest.raises(UnsupportedValueError, match="type set"):
        cache.put_many({"good": 1, "bad": {1, 2}})
    assert cache.get_many(["good", "bad"]) == {}
    with pytest.raises(InvalidKeyError, match="mapping of key -> value"):
        cache.put_many([1, 2, 3])
    with pytest.raises(InvalidKeyError, match="prefix must be a str"):
        list(cache.scan(5))


def test_malformed_generation_ids_are_refused(tmp_path):
    cache = Cache("titles", backend=SQLiteBackend(tmp_path / "c.db"))
    for bad in ("", "a:b", None, 17, "x" * 65):
        with pytest.raises(InvalidKeyError, match="invalid generation id"):
            cache.writer(bad)
    with pytest.raises(InvalidKeyError, match="invalid generation id"):
        cache.rollback(to="a b")


def test_generation_ids_are_unique_sortable_strings(tmp_path):
    cache = Cache("titles", backend=SQLiteBackend(tmp_path / "c.db"))
    ids = [cache.new_generation() for _ in range(20)]
    assert len(set(ids)) == 20
    assert all(re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{8}", gen) for gen in ids)
    assert [g.id for g in cache.generations()] == ids[::-1]


def test_ttls_follow_the_backend_clock(tmp_path):
    clock = FakeClock()
    cache = Cache("titles", backend=SQLiteBackend(tmp_path / "c.db", clock=clock))
    cache.put("ten", 1, ttl=10)
    cache.set_namespace_ttl(100)
    cache.put("default", 2)
    cache.put("forever", 3, ttl=math.inf)
    clock.now += 9.9
    assert cache.get_many(["ten", "default", "forever"]) == {"ten": 1, "default": 2, "forever": 3}
    clock.now += 0.2
    assert cache.get("ten") is None
    assert cache.keys() == ["default", "forever"]
    clock.now += 100
    assert cache.get_many(["ten", "default", "forever"]) == {"forever": 3}
    assert cache.delete("default") is False  # expired counts as missing


def test_a_cache_file_of_another_schema_version_is_refused(tmp_path):
    SQLiteBackend(tmp_path / "c.db").close()
    with sqlite3.connect(tmp_path / "c.db") as db:
        db.execute("UPDATE meta SET value = '99' WHERE name = 'schema'")
    with pytest.raises(CacheError, match="schema version 99"):
        SQLiteBackend(tmp_path / "c.db")


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    (tmp_path / "c.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheUnavailableError, match=r"c\.db.*not a database"):
        SQLiteBackend(tmp_path / "c.db")


def test_an_unwritable_state_folder_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheUnavailableError, match=r"settings\.home"):
        SQLiteBackend(blocker / "state" / "cache.db")


def _read_in_child(path, queue):
    queue.put(Cache("titles", backend=SQLiteBackend(path)).get("k"))


def test_a_forked_child_opens_its_own_connection(tmp_path):
    backend = SQLiteBackend(tmp_path / "c.db")
    cache = Cache("titles", backend=backend)
    cache.put("k", "from parent")  # the parent's connection is open when forking

    def child(queue):
        cache.put("child", "wrote")
        queue.put(cache.get("k"))

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    assert queue.get(timeout=60) == "from parent"
    process.join(timeout=60)
    assert process.exitcode == 0
    assert cache.get("child") == "wrote"


def test_publish_and_discard_report_the_state(tmp_path):
    cache = Cache("titles", backend=SQLiteBackend(tmp_path / "c.db"))
    generation = cache.new_generation(run_id="manual")
    info = cache.publish(generation)
    assert (info.key_count, info.writer_run_id, info.status) == (0, "manual", "current")
    with pytest.raises(GenerationError, match="already exists"):
        cache.backend.create_generation("titles", generation, 0.0, None)


def test_settings_with_a_home_elsewhere_use_their_own_file(tmp_path, mlp_home):
    other = load_settings(env={"MLP_HOME": str(tmp_path / "elsewhere")})
    Cache("titles", settings=other).put("k", "elsewhere")
    assert Cache("titles").get("k") is None
    assert Cache("titles", settings=other).get("k") == "elsewhere"


def test_a_failing_write_stores_nothing_and_says_so(tmp_path):
    cache = Cache("titles", backend=SQLiteBackend(tmp_path / "c.db"))
    cache.put("kept", 1)
    connection = cache.backend._conn()
    connection.execute("PRAGMA query_only = 1")  # every write now fails inside SQLite
    with pytest.raises(CacheUnavailableError, match="nothing of this write was stored"):
        cache.put_many({"a": 1, "b": 2})
    connection.execute("PRAGMA query_only = 0")
    assert not connection.in_transaction
    assert cache.get_many(["kept", "a", "b"]) == {"kept": 1}
    cache.put("a", 3)  # and the cache keeps working
    assert cache.get("a") == 3
