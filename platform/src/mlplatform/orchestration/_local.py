"""The local event backend: a durable event log in SQLite with per-consumer offsets.

Events are appended once per id (publishing the same event again is a no-op; the same id
with another name or payload is an `EventConflictError`). Each consumer has an offset: it
reads the events after it and acknowledges them (at-least-once: an event is delivered
again until acknowledged). The orchestrator's records live in the same database
(`mlplatform.orchestration._db`), so consuming an event and recording its runs is one
transaction.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplatform._checks import CheckResult, sqlite_probe
from mlplatform._time import utc_from_epoch, utc_now
from mlplatform.orchestration._backend import EventBackend
from mlplatform.orchestration._db import connect, database_path, open_database
from mlplatform.orchestration._errors import EventConflictError, check_limit
from mlplatform.orchestration._events import Event, payload_hash, validate_event

if TYPE_CHECKING:
    from mlplatform.config import Settings

logger = logging.getLogger(__name__)


def row_event(row: sqlite3.Row) -> Event:
    """An `Event` from a row of the ``events`` table."""
    return Event(
        name=row["name"],
        payload=json.loads(row["payload"]),
        id=row["id"],
        timestamp=utc_from_epoch(row["ts"]),
        source=row["source"],
        seq=row["seq"],
    )


class EventLog(EventBackend):
    """The local backend: a durable event log in SQLite (``<state folder>/events.db``).

    Args:
        path: The database file; see `from_settings` for the profile's one.
    """

    name = "local"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def from_settings(cls, settings: Settings) -> EventLog:
        """The event log of a profile's state folder."""
        return cls(database_path(settings.home))

    @classmethod
    def check(cls, settings: Settings) -> CheckResult:
        return CheckResult("event log", "sqlite", *sqlite_probe(database_path(settings.home)))

    def describe(self) -> str:
        return f"local event log {self.path}"

    def publish(
        self,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        event_id: str | None = None,
        source: str = "api",
    ) -> Event:
        """Append an event; the same event published again under its id is stored once.

        Returns:
            The stored event; for a repeated id, the one stored first, with ``duplicate``.

        Raises:
            EventPayloadError: Bad name or payload; nothing is stored.
            EventConflictError: The id is in the log with another name or payload; the
                stored event is kept.
        """
        clean = validate_event(name, payload)
        event_id = event_id or uuid.uuid4().hex
        with connect(self.path) as db:
            inserted = db.execute(
                "insert or ignore into events (id, name, payload, ts, source) "
                "values (?, ?, ?, ?, ?)",
                (event_id, name, json.dumps(clean, sort_keys=True), utc_now().timestamp(), source),
            ).rowcount
            row = db.execute("select * from events where id = ?", (event_id,)).fetchone()
        stored = row_event(row)
        if inserted:
            logger.debug("published %s (%s) seq %s", name, event_id, stored.seq)
            return stored
        stored_hash, new_hash = payload_hash(stored.payload), payload_hash(clean)
        if stored.name != name or stored_hash != new_hash:
            difference = (
                f"named {stored.name!r}, not {name!r}"
                if stored.name != name
                else "with another payload"
            )
            raise EventConflictError(
                f"event id {event_id!r} is already in the log {difference} (seq {stored.seq}, "
                f"published {stored.timestamp:%Y-%m-%d %H:%M:%S} UTC by {stored.source}; "
                f"payload sha256 {stored_hash} stored, {new_hash} refused). An id names one "
                "event: publish the new one under a new id, or leave the id out"
            )
        logger.info("event %s (%s) is already in the log; nothing stored", name, event_id)
        return replace(stored, duplicate=True)

    def get(self, event_id: str) -> Event | None:
        """The event with this id, if it is in the log."""
        with connect(self.path) as db:
            row = db.execute("select * from events where id = ?", (event_id,)).fetchone()
        return row_event(row) if row else None

    def list(self, *, name: str | None = None, limit: int = 50) -> list[Event]:
        """The latest ``limit`` events (optionally of one name), oldest first."""
        check_limit(limit)
        query = "select * from events"
        args: tuple[Any, ...] = ()
        if name:
            query += " where name = ?"
            args = (name,)
        query += " order by seq desc limit ?"
        with connect(self.path) as db:
            rows = db.execute(query, (*args, limit)).fetchall()
        return [row_event(row) for row in reversed(rows)]

    def head(self, db: sqlite3.Connection | None = None) -> int:
        """The sequence number of the newest event (0 for an empty log)."""
        if db is None:
            with connect(self.path) as own:
                return self.head(own)
        return int(db.execute("select coalesce(max(seq), 0) from events").fetchone()[0])

    def offset(self, consumer: str, db: sqlite3.Connection | None = None) -> int | None:
        """The last sequence number ``consumer`` acknowledged, or None if it is unknown."""
        if db is None:
            with connect(self.path) as own:
                return self.offset(consumer, own)
        row = db.execute("select seq from offsets where consumer = ?", (consumer,)).fetchone()
        return None if row is None else int(row[0])

    def register(self, consumer: str, at: int = 0, db: sqlite3.Connection | None = None) -> int:
        """Create a consumer starting after sequence ``at`` (kept if it exists); its offset."""
        if db is None:
            with connect(self.path) as own:
                return self.register(consumer, at, own)
        db.execute("insert or ignore into offsets (consumer, seq) values (?, ?)", (consumer, at))
        return int(self.offset(consumer, db) or 0)

    def read(
        self, consumer: str, *, limit: int = 100, db: sqlite3.Connection | None = None
    ) -> list[Event]:
        """Events after the consumer's offset, oldest first. Nothing is acknowledged.

        Reading again without `ack` returns the same events (at-least-once delivery).
        An unknown consumer starts at the beginning of the log.
        """
        if db is None:
            with connect(self.path) as own:
                return self.read(consumer, limit=limit, db=own)
        after = self.offset(consumer, db) or 0
        rows = db.execute(
            "select * from events where seq > ? order by seq limit ?", (after, limit)
        ).fetchall()
        return [row_event(row) for row in rows]

    def ack(self, consumer: str, seq: int, db: sqlite3.Connection | None = None) -> None:
        """Mark every event up to ``seq`` as handled by ``consumer`` (never moves back)."""
        if db is None:
            with open_database(self.path).transaction() as own:
                return self.ack(consumer, seq, own)
        db.execute(
            "insert into offsets (consumer, seq) values (?, ?) "
            "on conflict(consumer) do update set seq = max(seq, excluded.seq)",
            (consumer, seq),
        )
        return None
