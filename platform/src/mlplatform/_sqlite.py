"""One way to use SQLite across threads and processes: the embedded backends' database file.

Every SQLite file of the platform (the cache, the event log and the orchestrator's
records, the environments' registry) goes through `Database`:

- one connection per thread and process, kept open (closing the last connection to a WAL
  database checkpoints it, a disk flush per call otherwise); never used across ``fork()``:
  a child process opens its own on first use;
- WAL journal (readers never block the writer), ``synchronous = FULL`` (a committed write
  survives a power cut, not only a crash of the process), a busy timeout so that concurrent
  writers wait for each other instead of failing;
- explicit transactions only (autocommit otherwise): `Database.transaction` takes the write
  lock up front (``BEGIN IMMEDIATE``), so a read-then-write block cannot deadlock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["DEFAULT_BUSY_TIMEOUT_S", "Database"]

DEFAULT_BUSY_TIMEOUT_S = 30.0

_OPEN: weakref.WeakSet[Database] = weakref.WeakSet()


def _forget_connections_in_child() -> None:
    for database in list(_OPEN):
        database._local = threading.local()


os.register_at_fork(after_in_child=_forget_connections_in_child)


class Database:
    """A SQLite file shared by the threads and processes of one platform state folder.

    Args:
        path: The database file; it and its folder are created on first use.
        schema: SQL run on every new connection (``CREATE TABLE IF NOT EXISTS ...``).
        busy_timeout_s: How long a writer waits for another one's lock before failing.
        row_factory: Optional ``sqlite3`` row factory (e.g. ``sqlite3.Row``).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        schema: str = "",
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        row_factory: type | None = None,
    ) -> None:
        self.path = Path(path)
        self.schema = schema
        self.busy_timeout_s = busy_timeout_s
        self.row_factory = row_factory
        self._local = threading.local()
        _OPEN.add(self)

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout_s,
            isolation_level=None,  # autocommit; transactions are explicit
            check_same_thread=False,
            cached_statements=64,
        )
        if self.row_factory is not None:
            connection.row_factory = self.row_factory
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            if self.schema:
                connection.executescript(self.schema)  # idempotent; safe if processes race
        except BaseException:
            connection.close()
            raise
        return connection

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (again if the file was removed).

        Raises:
            sqlite3.Error, OSError: The file cannot be created or is not a SQLite database.
        """
        connection = getattr(self._local, "connection", None)
        if connection is None or not self.path.exists():
            if connection is not None:
                connection.close()
            connection = self._local.connection = self._open()
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one write transaction (``BEGIN IMMEDIATE``): all of it or nothing.

        Raises:
            sqlite3.OperationalError: The write lock was not free within the busy timeout.
        """
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def open_snapshot(self) -> sqlite3.Connection:
        """A new connection inside one read transaction; close it to end the snapshot.

        Every statement on it sees the database as of its first read, whatever other
        connections commit meanwhile (WAL keeps the older pages for it): for reads that span
        many statements, such as a paged scan. This thread's own connection stays free to
        write.
        """
        connection = self._open()
        connection.execute("BEGIN")  # deferred: the snapshot starts at the first read
        return connection

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local = threading.local()
