"""Events: a name, a JSON payload, an id, a timestamp and a source; `publish` sends one.

The profile's event backend (``orchestration.backend``, see `_backend`) receives them: the
local log in SQLite (`_local`) or the Argo Events webhook (`_argo`). Every backend refuses
the same malformed events, before anything is sent.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlplatform._time import utc_from_epoch
from mlplatform.config import Settings, load_settings
from mlplatform.orchestration._backend import open_backend
from mlplatform.orchestration._errors import EventPayloadError

# Argo Events sensors accept these characters in event names (see Metaflow's @trigger checks).
EVENT_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_NOT_JSON = 'NaN and Infinity are not JSON numbers; send null or a string such as "NaN"'


@dataclass(frozen=True)
class Event:
    """One event.

    Attributes:
        name: Event name, e.g. ``data_ready`` or ``metaflow.TrainFlow.end``.
        payload: JSON object carried by the event; ``@trigger`` maps its fields to parameters.
        id: Unique id; publishing the same event (id, name, payload) again is a no-op.
        timestamp: When it was published (UTC).
        source: Who published it: ``api``, ``cli``, ``metaflow`` (finish events), ``schedule``.
        seq: Position in the local log (``None`` for events not read from it).
        duplicate: True when publishing found this very event already in the local log, so
            nothing was stored.
    """

    name: str
    payload: dict[str, Any]
    id: str
    timestamp: datetime
    source: str = "api"
    seq: int | None = field(default=None, compare=False)
    duplicate: bool = field(default=False, compare=False)

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


def payload_hash(payload: Mapping[str, Any]) -> str:
    """A short fingerprint of a payload: SHA-256 of its canonical JSON, 12 hex digits."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _non_finite(value: Any, path: str = "") -> tuple[str, float] | None:
    """The path and value of the first NaN or infinite float inside ``value``, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{path}[{key!r}]" if path else repr(key))
        if found:
            return found
    return None


def validate_event(name: str, payload: Any) -> dict[str, Any]:
    """Check an event's name and payload; return the payload as a plain dict.

    Raises:
        EventPayloadError: The name has characters Argo Events would refuse, or the payload
            is not a JSON object (a dict of JSON values: no NaN or Infinity).
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
    non_finite = _non_finite(payload)
    if non_finite:
        raise EventPayloadError(
            f"event {name!r}: payload field {non_finite[0]} is {non_finite[1]!r}; {_NOT_JSON}"
        )
    try:
        return json.loads(json.dumps(dict(payload)))
    except (TypeError, ValueError) as error:
        raise EventPayloadError(
            f"event {name!r}: the payload is not JSON-serialisable ({error}); use strings, "
            "numbers, booleans, lists and objects only"
        ) from None


def _refuse_constant(constant: str) -> None:
    raise EventPayloadError(f"--payload has {constant}, which is not JSON: {_NOT_JSON}")


def parse_payload(text: str) -> dict[str, Any]:
    """Parse a ``--payload`` argument into a payload dict.

    Raises:
        EventPayloadError: The text is not valid JSON (``NaN`` and ``Infinity`` are not), or
            not a JSON object.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
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
        event_id: Optional unique id (default: a new uuid). Publishing the same event under
            the same id again stores it once (the returned event has ``duplicate`` set).
        source: Who publishes (free text, shown by ``mlp events ls``).
        settings: Settings to use (default: `load_settings()`).

    Returns:
        The published event.

    Raises:
        EventPayloadError: Bad name or payload; nothing is published.
        EventConflictError: The id is already in the log with another name or payload.
        EventBackendError: The backend cannot be used or refused the event.
    """
    backend = open_backend(settings or load_settings())
    return backend.publish(name, payload, event_id=event_id, source=source)
