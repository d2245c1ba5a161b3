"""The SQLite file behind the local event log and the orchestrator's records.

Events, consumer offsets, run records, schedule marks and partially satisfied triggers live
in one database so that consuming an event and recording the runs it starts is one
transaction: a crash leaves either both or neither.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlplatform._sqlite import Database

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
    launch_token text,
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


# Columns added after the first release: (table, column, declaration), added when missing.
_ADDED_COLUMNS = (("runs", "launch_token", "text"),)

_DATABASES: dict[Path, Database] = {}


def database_path(home: Path) -> Path:
    """The event log and orchestrator database of a state folder."""
    return home / "events.db"


def open_database(path: Path) -> Database:
    """The database at ``path`` (one `Database` per file and process; created on first use)."""
    path = Path(path)
    database = _DATABASES.get(path)
    if database is None:
        database = Database(path, schema=SCHEMA, row_factory=sqlite3.Row)
        _add_missing_columns(database.connection())
        _DATABASES[path] = database
    return database


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to `SCHEMA` (a process may race us)."""
    for table, column, declaration in _ADDED_COLUMNS:
        columns = {row["name"] for row in db.execute(f"pragma table_info({table})")}
        if column not in columns:
            try:
                db.execute(f"alter table {table} add column {column} {declaration}")
            except sqlite3.OperationalError as error:
                if "duplicate column" not in str(error):
                    raise


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """This thread's connection to the database at ``path`` (see `mlplatform._sqlite`)."""
    yield open_database(path).connection()
