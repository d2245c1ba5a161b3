"""Reliability of the cache on both backends: killed writers, concurrent readers in other
processes, an unreachable Redis. Subprocesses get the backend through the environment."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mlplatform.cache import Cache, CacheUnavailableError, GenerationError
from mlplatform.config import load_settings
from mlplatform.testing import free_port

WRITER = textwrap.dedent(
    """
    import sys
    from mlplatform.cache import Cache

    namespace, generation = sys.argv[1], sys.argv[2]
    with Cache(namespace).writer(generation, batch_size=500) as writer:
        i = 0
        while True:  # until killed
            writer.put(f"k{i % 300}", {"killed-writer": i})
            if i == 2000:
                print("writing", flush=True)
            i += 1
    """
)

READER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from mlplatform.cache import Cache

    namespace, count = sys.argv[1], int(sys.argv[2])
    ready, stop = Path(sys.argv[3]), Path(sys.argv[4])
    keys = [f"k{i}" for i in range(count)]
    cache = Cache(namespace)
    numbers, problems = [], []
    ready.touch()
    while not stop.exists():
        got = cache.get_many(keys)
        values = set(got.values())
        if len(got) != count or len(values) != 1:
            problems.append(f"mixed or partial read: {len(got)} keys, values {sorted(values)[:5]}")
            break
        numbers.append(values.pop())
    print(json.dumps({"numbers": sorted(set(numbers)), "reads": len(numbers),
                      "in_order": numbers == sorted(numbers), "problems": problems}))
    """
)


SCANNER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from mlplatform.cache import Cache, GenerationError

    namespace, count = sys.argv[1], int(sys.argv[2])
    ready, stop = Path(sys.argv[3]), Path(sys.argv[4])
    cache = Cache(namespace)
    numbers, problems, errors = [], [], []
    ready.touch()
    while not stop.exists():
        try:
            items = list(cache.scan(batch_size=30))
        except GenerationError as error:
            errors.append(str(error))
            continue
        values = {value for _, value in items}
        if len(items) != count or len(values) != 1:
            problems.append(f"partial or mixed: {len(items)} keys, values {sorted(values)[:5]}")
        else:
            numbers.append(values.pop())
    print(json.dumps({"numbers": numbers, "problems": problems[:5], "partial": len(problems),
                      "errors": errors[:3]}))
    """
)


def publish_generation(cache: Cache, values: dict) -> str:
    generation = cache.new_generation()
    with cache.writer(generation) as writer:
        writer.put_many(values)
    cache.publish(generation)
    return generation


def run_alongside(
    script: str, processes: int, count: int, tmp_path: Path, work: Callable[[], None]
) -> list[dict]:
    """Start ``processes`` copies of ``script`` (namespace ``titles``, ``count`` keys), run
    ``work`` once they are all reading, stop them, and return their JSON reports."""
    stop = tmp_path / "stop"
    ready_files = [tmp_path / f"ready-{index}" for index in range(processes)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, "titles", str(count), str(ready), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ready in ready_files
    ]
    try:
        wait_for(lambda: all(path.exists() for path in ready_files), "the readers to start")
        work()
        stop.touch()
        reports = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            reports.append(json.loads(out))
        return reports
    finally:
        stop.touch()
        for child in children:
            child.kill()


def wait_for(condition, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.mark.timeout(120)
def test_a_writer_killed_mid_generation_leaves_the_published_one_intact(make_cache, cache_settings):
    cache = make_cache()
    published = publish_generation(cache, {f"k{i}": {"published": i} for i in range(100)})
    before = list(cache.scan())
    generation = cache.new_generation()

    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, "titles", generation],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = writer.stdout.readline()
        assert line == "writing\n", writer.stderr.read()
        time.sleep(0.2)  # let it get into the middle of another batch
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        writer.kill()
    assert writer.returncode == -signal.SIGKILL

    assert cache.current_generation() == published
    assert list(cache.scan()) == before
    assert cache.get_many([f"k{i}" for i in range(300)]) == dict(before)
    killed = cache.generation_info(generation)
    assert killed.status == "open"
    assert killed.key_count > 0  # some batches landed, invisible to readers
    if cache_settings.cache.backend == "sqlite":
        with sqlite3.connect(cache_settings.home / "cache.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # The store is not wedged: the failed generation can be dropped and a new one published.
    cache.discard(generation)
    assert cache.backend.count("titles", generation) == 0
    publish_generation(cache, {"k0": "after"})
    assert cache.get("k0") == "after"
    assert cache.rollback().id == published
    assert list(cache.scan()) == before


@pytest.mark.timeout(180)
def test_readers_in_other_processes_never_see_a_mix_during_publishes(make_cache, tmp_path: Path):
    count = 200
    cache = make_cache(keep_generations=1)
    publish_generation(cache, {f"k{i}": 0 for i in range(count)})
    pending = []
    for number in range(1, 21):
        generation = cache.new_generation()
        with cache.writer(generation) as writer:
            writer.put_many({f"k{i}": number for i in range(count)})
        pending.append(generation)

    def publish_all() -> None:
        for generation in pending:
            time.sleep(0.03)
            cache.publish(generation)
        time.sleep(0.1)

    reports = run_alongside(READER, 3, count, tmp_path, publish_all)
    for report in reports:
        assert report["problems"] == []
        assert report["in_order"], report["numbers"]
        assert len(report["numbers"]) >= 2, report  # it did read across publishes
    assert cache.get("k0") == 20


@pytest.mark.timeout(300)
def test_scans_in_other_processes_read_one_whole_generation_while_old_ones_are_collected(
    make_cache, tmp_path: Path
):
    # Issue 12: pages of a scan came back empty or short while publishes collected the
    # generation being scanned, and the scan just ended. Collection is on (keep 1).
    count, publishes = 600, 100
    cache = make_cache(keep_generations=1)
    publish_generation(cache, {f"k{i:04d}": 0 for i in range(count)})

    def publish_many() -> None:
        for number in range(1, publishes + 1):
            publish_generation(cache, {f"k{i:04d}": number for i in range(count)})

    reports = run_alongside(SCANNER, 2, count, tmp_path, publish_many)
    for report in reports:
        assert report["partial"] == 0, report["problems"]
        assert report["errors"] == []
        assert report["numbers"] == sorted(report["numbers"])  # never back in time
        assert len(set(report["numbers"])) >= 2, report["numbers"]  # scanned across publishes
    generations = cache.generations()
    assert [info.status for info in generations] == ["current", "previous"]  # others collected
    assert len(list(cache.scan())) == count


# -- Redis unreachable ----------------------------------------------------------------------


def redis_cache(monkeypatch: pytest.MonkeyPatch, url: str, timeout_s: float) -> Cache:
    monkeypatch.setenv("MLP_CACHE__BACKEND", "redis")
    monkeypatch.setenv("MLP_CACHE__REDIS_URL", url)
    monkeypatch.setenv("MLP_CACHE__TIMEOUT_S", str(timeout_s))
    return Cache("titles", settings=load_settings())


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_redis_refusing_connections_gives_a_clear_error(mlp_home, monkeypatch):
    port = free_port()  # nothing listens there
    cache = redis_cache(monkeypatch, f"redis://:s3cret@127.0.0.1:{port}/0", 0.5)
    calls = [
        lambda: cache.get("k"),
        lambda: cache.get_many(["k"]),
        lambda: cache.put("k", 1),
        lambda: cache.new_generation(),
        lambda: cache.publish("20250101T000000-00000000"),
        lambda: list(cache.scan()),
    ]
    for call in calls:
        with pytest.raises(CacheUnavailableError) as raised:
            call()
        message = str(raised.value)
        assert f"127.0.0.1:{port}" in message
        assert "cache.timeout_s = 0.5 s" in message
        assert "MLP_CACHE__REDIS_URL" in message
        assert "s3cret" not in message  # the password is redacted


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_redis_that_never_answers_fails_after_the_timeout_instead_of_hanging(mlp_home, monkeypatch):
    # A socket that accepts connections (the kernel's backlog) but never answers.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        cache = redis_cache(monkeypatch, f"redis://127.0.0.1:{port}/0", 0.3)
        with pytest.raises(CacheUnavailableError, match="TimeoutError"):
            cache.get("k")
        with pytest.raises(CacheUnavailableError, match="did not answer within"):
            cache.put("k", 1)


def test_env_of_subprocesses_selects_the_same_backend(cache_settings):
    # The reliability tests rely on the environment carrying the backend to subprocesses.
    assert os.environ.get("MLP_CACHE__BACKEND", "sqlite") == cache_settings.cache.backend


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_a_redis_scan_paused_past_its_lease_fails_instead_of_returning_part(
    mlp_home, monkeypatch, redis_server
):
    from mlplatform.cache._redis import RedisBackend

    backend = RedisBackend(redis_server, scan_lease_s=0.2)
    cache = Cache("lease", backend=backend, keep_generations=0)
    publish_generation(cache, {f"k{i:03d}": "old" for i in range(100)})
    scan = cache.scan(batch_size=10)
    assert next(scan) == ("k000", "old")
    time.sleep(0.5)  # the lease runs out
    publish_generation(cache, {"k000": "new"})  # collects the old generation
    with pytest.raises(GenerationError, match=r"paused for more than its lease \(0.2 s\)"):
        list(scan)
    backend.close()


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_a_server_that_is_not_redis_gives_a_clear_error(mlp_home, monkeypatch):
    # Issue 12: a Redis URL pointing at another kind of server raised InvalidResponse.
    import threading

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]

        def answer_like_http() -> None:
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:
                    return
                with connection:
                    connection.recv(1024)
                    connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        threading.Thread(target=answer_like_http, daemon=True).start()
        cache = redis_cache(monkeypatch, f"redis://127.0.0.1:{port}/0", 1.0)
        with pytest.raises(CacheUnavailableError, match="not as a Redis server does"):
            cache.get("k")
