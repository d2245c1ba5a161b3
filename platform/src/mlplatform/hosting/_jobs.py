"""Async jobs: a durable queue (huey, on SQLite or Redis) and job records in the cache.

A POST to an async endpoint becomes a job: its id is a hash of the service, the endpoint and
the ``Idempotency-Key`` header (without one: the artifact version and the canonical
payload), and its record is created with `Cache.add` — so however many identical requests
arrive within the result's TTL, one job exists and is computed once. The record (status,
attempts, result or error) lives in the service's cache namespace with that TTL; the queue
holds only job ids.

Accepting is a group commit: `JobStore.accept` hands the job to one committer thread of the
process, which stores the records of every job waiting at that moment in one cache
transaction (`Cache.add_many`) and their ids in one queue transaction, then answers them
all. Alone, a job is committed at once; under load, one commit (and fsync) serves many.
Each job's future resolves only after both commits, so a 202 always means a stored job.

huey removes a task from its queue when a consumer takes it, so a consumer killed mid-job
would lose it; `JobStore.recover` runs when a service starts and queues again every job
whose record says queued or running but that no live consumer holds. A job's result is
written once (``done`` never changes), so a job run twice after a crash still completes
exactly once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlplatform._pids import pid_alive
from mlplatform.hosting._errors import JobNotFoundError

if TYPE_CHECKING:
    from huey import Huey

    from mlplatform.cache import Cache
    from mlplatform.config import Settings

__all__ = ["JobRecord", "JobStore", "job_id_for", "queue_name"]

logger = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed"]
TASK_NAME = "mlp_run_job"


def job_id_for(service: str, endpoint: str, key: str) -> str:
    """A job's id: the same service, endpoint and key always give the same id."""
    return hashlib.sha256(f"{service}\x1f{endpoint}\x1f{key}".encode()).hexdigest()[:32]


def payload_key(artifacts_version: str, payload: Any) -> str:
    """What identifies a request without an ``Idempotency-Key``: artifacts and payload."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"payload:{artifacts_version}:{hashlib.sha256(canonical.encode()).hexdigest()}"


@dataclass
class JobRecord:
    """One async job.

    Attributes:
        id: The job id (``/jobs/{id}``).
        endpoint: The async endpoint's path.
        status: ``queued``, ``running``, ``done`` or ``failed``.
        payload: The validated request body.
        created: When it was accepted (epoch seconds).
        attempts: How many times a consumer started it.
        started: When the latest attempt started.
        finished: When it ended.
        result: The response, when done.
        error: Why it failed (the last attempt's error), when failed or retrying.
        consumer_pid: The process running it, while running.
        traceparent: The W3C trace context of the request that created it.
    """

    id: str
    endpoint: str
    status: JobStatus
    payload: Any
    created: float
    attempts: int = 0
    started: float | None = None
    finished: float | None = None
    result: Any = None
    error: str | None = None
    consumer_pid: int | None = None
    traceparent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The record as stored (and as ``GET /jobs/{id}`` shows it)."""
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "status": self.status,
            "payload": self.payload,
            "created": self.created,
            "attempts": self.attempts,
            "started": self.started,
            "finished": self.finished,
            "result": self.result,
            "error": self.error,
            "consumer_pid": self.consumer_pid,
            "traceparent": self.traceparent,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        """Inverse of `to_dict`."""
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__ if key != "extra"})


def queue_name(service: str) -> str:
    """The huey queue name of a service (its Redis list is ``huey.redis.<name>``)."""
    return f"mlp-{service}"


def queue_path(settings: Settings, service: str) -> Path:
    """The SQLite file of a service's job queue (local profile)."""
    return settings.home / "hosting" / f"{service}.queue.db"


# At most this many jobs in one group commit: a bound on one commit's time.
GROUP_COMMIT_MAX = 256


class JobStore:
    """A service's jobs: records in the cache, ids in the queue.

    Args:
        service: The service's name.
        settings: Settings (cache backend, ``hosting.*``).
        run: What runs a job in this process (``run(job_id)``): given in a consumer; the
            front and the HTTP workers only enqueue.
    """

    def __init__(
        self, service: str, settings: Settings, run: Callable[[str], None] | None = None
    ) -> None:
        from mlplatform.cache import Cache
        from mlplatform.hosting._queue import open_queue

        self.service = service
        self.settings = settings
        self.options = settings.hosting
        self.cache: Cache = Cache(f"hosting.{service}.jobs", settings=settings)
        self.queue: Huey = open_queue(
            queue_name(service),
            redis_url=self.options.redis_url if self.options.queue == "redis" else None,
            path=queue_path(settings, service),
        )
        self._arrivals: queue.SimpleQueue[tuple[JobRecord, Future] | None] = queue.SimpleQueue()
        self._committer: threading.Thread | None = None
        self._committer_lock = threading.Lock()
        # One module-level function in every process, so that huey names the task the same
        # where it is enqueued and where it runs; it runs what this process gave.
        self._runner = run
        self._task = self.queue.task(
            name=TASK_NAME,
            retries=self.options.job_retries,
            retry_delay=self.options.job_retry_delay_s,
            retry_backoff=2,
        )(_run_job)
        _RUNNERS[self.queue.name] = self

    # -- the queue ---------------------------------------------------------------------

    def _enqueue(self, job_ids: list[str]) -> None:
        from mlplatform.hosting._queue import enqueue_many

        enqueue_many(self.queue, [self._task.s(job_id) for job_id in job_ids])

    def pending(self) -> int:
        """Jobs waiting in the queue (not yet taken by a consumer)."""
        return self.queue.pending_count() + self.queue.scheduled_count()

    def _queued_ids(self) -> set[str]:
        ids = set()
        for task in [*self.queue.pending(), *self.queue.scheduled()]:
            if task.args:
                ids.add(task.args[0])
        return ids

    # -- records -----------------------------------------------------------------------

    def accept(
        self,
        endpoint: str,
        payload: Any,
        *,
        idempotency_key: str | None,
        artifacts_version: str,
        traceparent: str | None = None,
    ) -> Future[tuple[JobRecord, bool]]:
        """Accept a job, or find the identical one accepted before; committed in a group.

        Returns:
            A future of ``(record, created)``, resolved once the job is stored and queued:
            ``created`` is False for a repeat (same key or payload within
            ``hosting.job_ttl_s``), which gives the first job as it is now. It raises what
            the commit raised: from the records' commit (e.g.
            `mlplatform.cache.CacheUnavailableError`), nothing of the job was stored; from
            the queue's, its record was, and `recover` queues it when the service starts.
        """
        key = (
            f"key:{idempotency_key}" if idempotency_key else payload_key(artifacts_version, payload)
        )
        job_id = job_id_for(self.service, endpoint, key)
        record = JobRecord(
            job_id, endpoint, "queued", payload, time.time(), traceparent=traceparent
        )
        future: Future[tuple[JobRecord, bool]] = Future()
        self._start_committer()
        self._arrivals.put((record, future))
        return future

    def _start_committer(self) -> None:
        if self._committer is None:
            with self._committer_lock:
                if self._committer is None:
                    self._committer = threading.Thread(
                        target=self._commit_arrivals, name="mlp-job-commit", daemon=True
                    )
                    self._committer.start()

    def _commit_arrivals(self) -> None:
        while (first := self._arrivals.get()) is not None:
            group = [first]
            while len(group) < GROUP_COMMIT_MAX:
                try:
                    arrival = self._arrivals.get_nowait()
                except queue.Empty:
                    break
                if arrival is None:
                    self._arrivals.put(None)  # stop after this group
                    break
                group.append(arrival)
            try:
                outcomes = self._commit([record for record, _ in group])
            except BaseException as error:  # each waiting request gets the reason
                for _, future in group:
                    future.set_exception(error)
            else:
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    future.set_result(outcome)

    def _commit(self, records: list[JobRecord]) -> list[tuple[JobRecord, bool]]:
        """Store new records in one transaction, queue their ids in one more."""
        created = self.cache.add_many(
            [(f"job:{record.id}", record.to_dict()) for record in records],
            ttl=self.options.job_ttl_s,
        )
        new = [record for record, fresh in zip(records, created, strict=True) if fresh]
        if new:
            self._enqueue([record.id for record in new])
            logger.info("%d job(s) queued", len(new))
        return [
            (record, True) if fresh else (self.get(record.id), False)
            for record, fresh in zip(records, created, strict=True)
        ]

    def get(self, job_id: str) -> JobRecord:
        """The job's record.

        Raises:
            JobNotFoundError: No such job (never created, or its TTL ran out).
        """
        data = self.cache.get(f"job:{job_id}")
        if data is None:
            raise JobNotFoundError(
                f"no job {job_id!r} in service {self.service!r}: it never existed or its "
                f"result expired (hosting.job_ttl_s = {self.options.job_ttl_s:g} s)"
            )
        return JobRecord.from_dict(data)

    def save(self, record: JobRecord) -> None:
        """Store a record (its TTL starts again)."""
        self.cache.put(f"job:{record.id}", record.to_dict(), ttl=self.options.job_ttl_s)

    def records(self) -> list[JobRecord]:
        """Every job of the service, oldest first."""
        found = [JobRecord.from_dict(value) for _, value in self.cache.scan("job:")]
        return sorted(found, key=lambda record: record.created)

    def oldest_queued_age(self, now: float | None = None, *, look_ahead: int = 64) -> float:
        """Seconds the oldest waiting job has waited (0 when none waits).

        Reads the records of the next ``look_ahead`` jobs to be taken and of as many retries
        waiting for their delay, not of every job the cache keeps (a day's worth, read
        every second by the front): the queue is first in, first out, so the oldest waiting
        job is among the next ones.
        """
        tasks = [*self.queue.pending(look_ahead), *self.queue.scheduled(look_ahead)]
        found = self.cache.get_many([f"job:{task.args[0]}" for task in tasks if task.args])
        waiting = [value["created"] for value in found.values() if value["status"] == "queued"]
        return (now or time.time()) - min(waiting) if waiting else 0.0

    def recover(self) -> int:
        """Queue again every job left queued or running by a service that stopped.

        A job whose record says running belongs to a consumer that is gone when the service
        starts; one that says queued may have been taken from the queue by it. Both are
        queued again unless the queue still holds them. Returns how many.
        """
        queued = self._queued_ids()
        again = 0
        for record in self.records():
            if record.status not in ("queued", "running") or record.id in queued:
                continue
            if (
                record.status == "running"
                and record.consumer_pid
                and pid_alive(record.consumer_pid)
            ):
                continue
            record.status, record.consumer_pid = "queued", None
            self.save(record)
            self._enqueue([record.id])
            again += 1
        if again:
            logger.warning("queued %d job(s) again that a stopped service had not finished", again)
        return again

    def close(self) -> None:
        """Commit the jobs already accepted, then release the cache's connections."""
        if self._committer is not None:
            self._arrivals.put(None)
            self._committer.join()
            self._committer = None
        self.cache.close()


_RUNNERS: dict[str, JobStore] = {}


def _run_job(job_id: str) -> None:
    """The queue's one task: run the job in the consumer that registered a runner."""
    store = next((s for s in _RUNNERS.values() if s._runner is not None), None)
    if store is None:
        raise RuntimeError(f"job {job_id} reached a process that only enqueues jobs")
    store._runner(job_id)
