"""Events: a name, a JSON payload, an id, a timestamp and a source.

Two backends share one small interface. ``local`` is a durable log in SQLite under the state
folder with per-consumer offsets (at-least-once: a consumer sees an event again until it
acknowledges it) and deduplication by event id. ``argo`` posts to the Argo Events webhook
with Metaflow's `ArgoEvent`, so deployed flows' sensors receive it.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from mlplatform._time import utc_from_epoch, utc_now
from mlplatform.config import Settings, load_settings
from mlplatform.orchestration._db import connect, database_path, open_database
from mlplatform.orchestration._errors import EventBackendError, EventPayloadError

logger = logging.getLogger(__name__)

# Argo Events sensors accept these characters in event names (see Metaflow's @trigger checks).
EVENT_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
EVENT_BACKENDS = ("local", "argo")


@dataclass(frozen=True)
class Event:
    """One event.

    Attributes:
        name: Event name, e.g. ``data_ready`` or ``metaflow.TrainFlow.end``.
        payload: JSON object carried by the event; ``@trigger`` maps its fields to parameters.
        id: Unique id; publishing an id that is already in the log is a no-op.
        timestamp: When it was published (UTC).
        source: Who published it: ``api``, ``cli``, ``metaflow`` (finish events), ``schedule``.
        seq: Position in the local log (``None`` for events not read from it).
    """

    name: str
    payload: dict[str, Any]
    id: str
    timestamp: datetime
    source: str = "api"
    seq: int | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamp as epoch seconds, as Metaflow's events carry it)."""
        return {
            "name": self.name,
            "payload": self.payload,
            "id": self.id,
            "timestamp": self.timestamp.timestamp(),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Inverse of `to_dict`."""
        return cls(
            name=str(data["name"]),
            payload=dict(data.get("payload") or {}),
            id=str(data["id"]),
            timestamp=utc_from_epoch(float(data["timestamp"])),
            source=str(data.get("source", "api")),
        )


def validate_event(name: str, payload: Any) -> dict[str, Any]:
    """Check an event's name and payload; return the payload as a plain dict.

    Raises:
        EventPayloadError: The name has characters Argo Events would refuse, or the payload
            is not a JSON object (a dict of JSON-serialisable values).
    """
    if not isinstance(name, str) or not EVENT_NAME.match(name):
        raise EventPayloadError(
            f"event name {name!r} is invalid: expected letters, digits, '_', '.' or '-' "
            "(what Argo Events accepts), e.g. 'data_ready' or 'etl.titles.done'"
        )
    if payload is None:
        return {}
    if not isinstance(payload, Mapping):
        raise EventPayloadError(
            f"event {name!r}: the payload must be a JSON object (field -> value), got "
            f'{type(payload).__name__} {payload!r}; wrap it, e.g. {{"value": ...}}'
        )
    try:
        return json.loads(json.dumps(dict(payload)))
    except (TypeError, ValueError) as error:
        raise EventPayloadError(
            f"event {name!r}: the payload is not JSON-serialisable ({error}); use strings, "
            "numbers, booleans, lists and objects only"
        ) from None


def parse_payload(text: str) -> dict[str, Any]:
    """Parse a ``--payload`` argument into a payload dict.

    Raises:
        EventPayloadError: The text is not valid JSON, or not a JSON object.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise EventPayloadError(
            f"--payload is not valid JSON ({error.msg} at line {error.lineno} column "
            f"{error.colno}): {text!r}. Pass a JSON object, e.g. --payload "
            '\'{"region": "DE", "rows": 10}\''
        ) from None
    if not isinstance(value, dict):
        raise EventPayloadError(
            f"--payload must be a JSON object, got {type(value).__name__} {text!r}; "
            'e.g. --payload \'{"region": "DE"}\''
        )
    return value


def row_event(row: sqlite3.Row) -> Event:
    return Event(
        name=row["name"],
        payload=json.loads(row["payload"]),
        id=row["id"],
        timestamp=utc_from_epoch(row["ts"]),
        source=row["source"],
        seq=row["seq"],
    )


class EventBackend(Protocol):
    """What every event backend can do."""

    def publish(
        self,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        event_id: str | None = None,
        source: str = "api",
    ) -> Event:
        """Publish one event and return it."""
        ...


class EventLog:
    """The local backend: a durable event log in SQLite (``<state folder>/events.db``).

    Args:
        path: The database file; see `for_settings` for the profile's one.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_settings(cls, settings: Settings) -> EventLog:
        """The event log of a profile's state folder."""
        return cls(database_path(settings.home))

    def publish(
        self,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        event_id: str | None = None,
        source: str = "api",
    ) -> Event:
        """Append an event; an id already in the log is not stored twice.

        Returns:
            The stored event (for a duplicate id, the one stored first).

        Raises:
            EventPayloadError: Bad name or payload; nothing is stored.
        """
        clean = validate_event(name, payload)
        event_id = event_id or uuid.uuid4().hex
        ts = datetime.now(UTC).timestamp()
        with connect(self.path) as db:
            db.execute(
                "insert or ignore into events (id, name, payload, ts, source) "
                "values (?, ?, ?, ?, ?)",
                (event_id, name, json.dumps(clean, sort_keys=True), ts, source),
            )
            row = db.execute("select * from events where id = ?", (event_id,)).fetchone()
        stored = row_event(row)
        if stored.name != name or stored.payload != clean:
            logger.warning(
                "event id %s is already in the log as %r; kept that one", event_id, stored
            )
        else:
            logger.debug("published %s (%s) seq %s", name, event_id, stored.seq)
        return stored

    def get(self, event_id: str) -> Event | None:
        """The event with this id, if it is in the log."""
        with connect(self.path) as db:
            row = db.execute("select * from events where id = ?", (event_id,)).fetchone()
        return row_event(row) if row else None

    def list(self, *, name: str | None = None, limit: int = 50) -> list[Event]:
        """The latest ``limit`` events (optionally of one name), oldest first."""
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


class ArgoEventsBackend:
    """The production backend: events go to the Argo Events webhook via Metaflow's ArgoEvent.

    Args:
        webhook_url: The webhook event source's URL (``settings.argo.events_webhook_url``).
    """

    def __init__(self, webhook_url: str) -> None:
        self.webhook_url = webhook_url

    def publish(
        self,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        event_id: str | None = None,
        source: str = "api",
    ) -> Event:
        """Post one event to Argo Events; the sensors of deployed flows receive it.

        Raises:
            EventPayloadError: Bad name or payload.
            EventBackendError: The webhook refused the event or could not be reached.
        """
        from metaflow.integrations import ArgoEvent

        clean = validate_event(name, payload)
        event_id = event_id or uuid.uuid4().hex
        # ArgoEvent puts name, id and timestamp into the payload; our id wins over its uuid.
        body = {**clean, "id": event_id, "source": source}
        try:
            ArgoEvent(name=name, url=self.webhook_url).publish(
                payload=body, force=True, ignore_errors=False
            )
        except Exception as error:
            raise EventBackendError(
                f"Argo Events did not accept event {name!r} at {self.webhook_url}: {error}; "
                "check argo.events_webhook_url and that the webhook event source is running"
            ) from None
        return Event(name=name, payload=clean, id=event_id, timestamp=utc_now(), source=source)


def event_backend(settings: Settings | None = None) -> EventBackend:
    """The event backend the profile names (``orchestration.backend``).

    Raises:
        EventBackendError: ``argo`` without ``argo.events_webhook_url``.
    """
    settings = settings or load_settings()
    backend = settings.orchestration.backend
    if backend == "local":
        return EventLog.for_settings(settings)
    if backend == "argo":
        if not settings.argo.events_webhook_url:
            raise EventBackendError(
                "orchestration.backend = 'argo' needs argo.events_webhook_url (env "
                "MLP_ARGO__EVENTS_WEBHOOK_URL): the Argo Events webhook that receives events"
            )
        return ArgoEventsBackend(settings.argo.events_webhook_url)
    raise EventBackendError(
        f"orchestration.backend = {backend!r} is unknown; valid backends are {EVENT_BACKENDS}"
    )


def publish(
    name: str,
    payload: Mapping[str, Any] | None = None,
    *,
    event_id: str | None = None,
    source: str = "api",
    settings: Settings | None = None,
) -> Event:
    """Publish an event on the active profile's backend.

    Args:
        name: Event name (letters, digits, ``_``, ``.``, ``-``).
        payload: A JSON object; ``@trigger`` maps its fields to flow parameters.
        event_id: Optional unique id (default: a new uuid). Publishing the same id twice to the
            local log stores it once.
        source: Who publishes (free text, shown by ``mlp events ls``).
        settings: Settings to use (default: `load_settings()`).

    Returns:
        The published event.

    Raises:
        EventPayloadError: Bad name or payload; nothing is published.
        EventBackendError: The backend cannot be used or refused the event.
    """
    return event_backend(settings).publish(name, payload, event_id=event_id, source=source)
