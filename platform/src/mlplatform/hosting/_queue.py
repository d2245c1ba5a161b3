"""The job queue: huey on SQLite or Redis, plus the one operation huey lacks.

huey enqueues one task per call, and on SQLite each call is its own transaction: a commit
and an fsync per job. A worker that accepts the jobs which arrived together commits their
records in one cache transaction and their queue entries here in one more (group commit,
`mlplatform.hosting._jobs.JobStore.accept`). The storages below are huey's own with
``enqueue_many`` added; everything else (the consumer, retries, dequeue) is huey's.

Imported only when a job store opens (huey imports the redis client: about 0.6 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import Task
from huey.storage import RedisStorage, SqliteStorage

__all__ = ["enqueue_many", "open_queue"]


class _SqliteQueue(SqliteStorage):
    def enqueue_many(self, messages: Sequence[bytes]) -> None:
        """huey's `enqueue` for many tasks, in one transaction."""
        with self.db(commit=True) as cursor:
            cursor.executemany(
                "insert into task (queue, data, priority) values (?, ?, ?)",
                [(self.name, self.to_blob(message), 0) for message in messages],
            )


class _RedisQueue(RedisStorage):
    def enqueue_many(self, messages: Sequence[bytes]) -> None:
        """huey's `enqueue` for many tasks, in one command (LPUSH takes many values)."""
        self.conn.lpush(self.queue_key, *messages)


def open_queue(name: str, *, redis_url: str | None, path: Path) -> Huey:
    """huey on Redis (``redis_url`` given) or on the SQLite file ``path`` (fsync on)."""
    if redis_url is not None:
        return RedisHuey(name, url=redis_url, results=False, storage_class=_RedisQueue)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        name, filename=str(path), results=False, fsync=True, storage_class=_SqliteQueue
    )


def enqueue_many(queue: Huey, tasks: Sequence[Task]) -> None:
    """Put tasks on the queue at once: all of them or, if it raises, none.

    The tasks carry no priority or expiry (the job store's never do), so nothing of huey's
    `Huey.enqueue` is skipped but its signal, which nothing here listens to.
    """
    queue.storage.enqueue_many([queue.serialize_task(task) for task in tasks])
