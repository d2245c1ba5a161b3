"""The job store on its own: group commit, a failed commit, the oldest waiting job's age.

Real SQLite files and huey; the Redis queue on a real redis-server. The HTTP path over the
same store is in test_service.py and test_reliability.py.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest

from mlplatform.config import load_settings
from mlplatform.hosting._jobs import JobStore, queue_path


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, mlp_home, monkeypatch) -> Iterator[JobStore]:
    """A job store of service ``svc`` on the parametrised queue (the cache is SQLite)."""
    if request.param == "redis":
        url = request.getfixturevalue("empty_redis")
        monkeypatch.setenv("MLP_HOSTING__QUEUE", "redis")
        monkeypatch.setenv("MLP_HOSTING__REDIS_URL", url)
    opened = JobStore("svc", load_settings())
    yield opened
    opened.close()


def accept(store: JobStore, payload: dict, key: str | None = None):
    return store.accept("/job", payload, idempotency_key=key, artifacts_version="v1")


def test_jobs_accepted_at_once_are_each_stored_and_queued_once(store):
    barrier = threading.Barrier(8)
    outcomes: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        barrier.wait()
        futures = [accept(store, {"client": number, "n": n}) for n in range(20)]
        futures += [accept(store, {"shared": n}, key=f"shared-{n}") for n in range(10)]
        for future in futures:
            record, created = future.result(timeout=30)
            with lock:
                outcomes.append((record.id, created))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == 8 * 30
    ids = {job_id for job_id, _ in outcomes}
    assert len(ids) == 8 * 20 + 10
    assert sorted(job_id for job_id, created in outcomes if created) == sorted(ids)
    assert store.pending() == len(ids)
    assert {record.id for record in store.records()} == ids
    assert all(record.status == "queued" for record in store.records())


def test_jobs_waiting_for_a_busy_commit_are_committed_together(store):
    calls: list[int] = []
    add_many = store.cache.add_many

    def counted(items, **options):
        items = list(items)
        calls.append(len(items))
        return add_many(items, **options)

    store.cache.add_many = counted
    # Another writer holds the cache file: the first commit waits, the next jobs queue up.
    holder = sqlite3.connect(store.settings.home / "cache.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    futures = [accept(store, {"n": 0})]
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    futures += [accept(store, {"n": n}) for n in range(1, 51)]
    time.sleep(0.2)
    holder.execute("ROLLBACK")
    holder.close()

    assert all(future.result(timeout=30)[1] for future in futures)
    assert calls == [1, 50]
    assert store.pending() == 51


def test_a_failed_commit_fails_its_jobs_and_recover_queues_what_was_stored(mlp_home):
    store = JobStore("svc", load_settings())
    try:
        # The queue's table is gone: the records commit, the queue's insert fails.
        with sqlite3.connect(queue_path(store.settings, "svc")) as queue_file:
            queue_file.execute("DROP TABLE task")
        future = accept(store, {"n": 1})
        with pytest.raises(sqlite3.OperationalError, match="no such table: task"):
            future.result(timeout=30)
        (record,) = store.records()
        assert record.status == "queued"

        store.queue.storage.initialize_schema()  # what a service's next start does
        assert store.recover() == 1
        assert store.pending() == 1
        assert store.recover() == 0  # queued once, not again
        record_again, created = accept(store, {"n": 1}).result(timeout=30)
        assert (record_again.id, created) == (record.id, False)
        assert store.pending() == 1
    finally:
        store.close()


def test_the_oldest_waiting_jobs_age_follows_the_queue(store):
    assert store.oldest_queued_age() == 0.0
    first, _ = accept(store, {"n": 1}).result(timeout=30)
    time.sleep(0.05)
    second, _ = accept(store, {"n": 2}).result(timeout=30)
    now = second.created + 10
    assert store.oldest_queued_age(now) == pytest.approx(now - first.created)

    # A consumer takes the first job: the second is now the oldest waiting.
    assert store.queue.dequeue().args == (first.id,)
    first.status = "running"
    store.save(first)
    assert store.oldest_queued_age(now) == pytest.approx(10)
