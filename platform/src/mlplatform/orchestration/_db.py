"""The SQLite file behind the local event log and the orchestrator's records.

Events, consumer offsets, run records, schedule marks and partially satisfied triggers live
in one database so that consuming an event and recording the runs it starts is one
transaction: a crash leaves either both or neither.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
create table if not exists events (
    seq integer primary key autoincrement,
    id text not null unique,
    name text not null,
    payload text not null,
    ts real not null,
    source text not null
);
create index if not exists events_name on events(name);
create table if not exists offsets (
    consumer text primary key,
    seq integer not null
);
create table if not exists runs (
    id integer primary key autoincrement,
    request_key text not null,
    attempt integer not null,
    flow text not null,
    flow_file text not null,
    branch text,
    event_id text not null,
    event_name text not null,
    trigger_kind text not null,
    triggers text not null,
    parameters text not null,
    status text not null,
    run_id text,
    created_at real not null,
    not_before real not null,
    started_at real,
    finished_at real,
    duration_s real,
    error text,
    unique (request_key, attempt)
);
create index if not exists runs_status on runs(status);
create table if not exists schedule_marks (
    schedule_key text primary key,
    checked_until real not null
);
create table if not exists partial_triggers (
    flow_file text not null,
    branch text not null,
    dependency integer not null,
    event_id text not null,
    primary key (flow_file, branch, dependency)
);
"""


_CONNECTIONS: dict[tuple[Path, int, int], sqlite3.Connection] = {}


def database_path(home: Path) -> Path:
    """The event log and orchestrator database of a state folder."""
    return home / "events.db"


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("pragma journal_mode=wal")
    # FULL: a committed event survives a power cut, not only a crash of the process.
    connection.execute("pragma synchronous=full")
    connection.executescript(SCHEMA)
    return connection


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """Yield this process and thread's connection to the database (creating the file).

    Connections are kept open: closing the last connection to a WAL database checkpoints
    it, which would cost a disk flush per event. WAL lets flows publish while the
    orchestrator reads; the busy timeout makes concurrent writers wait instead of failing.
    """
    key = (Path(path), os.getpid(), threading.get_ident())
    connection = _CONNECTIONS.get(key)
    if connection is None or not Path(path).exists():
        if connection is not None:
            connection.close()
        connection = _CONNECTIONS[key] = _open(Path(path))
    yield connection


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run a block as one immediate (write-locking) transaction."""
    connection.execute("begin immediate")
    try:
        yield connection
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")
