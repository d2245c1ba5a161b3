"""`current_trigger()`: the event that started the current run, locally and on Argo alike.

Where the event comes from:

- local orchestrator: ``MLP_TRIGGER_EVENTS`` (set for the run; the platform's Metaflow
  extension also exposes it as ``current.trigger``, as Argo's decorator does);
- Argo Workflows: the ``METAFLOW_ARGO_EVENT_PAYLOAD_<type>_<name>`` variables that
  Metaflow's sensor sets from the event body;
- otherwise Metaflow's ``current.trigger`` (e.g. ``--trigger Flow/run_id`` by hand).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from mlplatform._time import utc_from_epoch
from mlplatform.orchestration._naming import FINISH_PREFIX, SCHEDULE_PREFIX

TRIGGER_ENV = "MLP_TRIGGER_EVENTS"
_ARGO_PREFIX = "METAFLOW_ARGO_EVENT_PAYLOAD_"
# Keys Metaflow's ArgoEvent adds to every payload besides the publisher's own fields.
_ENVELOPE = {"name", "id", "timestamp", "utc_date", "generated-by-metaflow"}


@dataclass(frozen=True)
class TriggerEvent:
    """The event that started a run.

    Attributes:
        name: Event name (``data_ready``, ``metaflow.TrainFlow.end``, ...).
        id: Event id (for a finish event, the upstream end task's pathspec).
        timestamp: When the event was published, if known.
        payload: The event's fields (for a finish event: flow_name, run_id, ...).
        type: ``event`` for ``@trigger``, ``run`` for ``@trigger_on_finish``, ``schedule``.
    """

    name: str
    id: str | None
    timestamp: datetime | None
    payload: dict[str, Any] = field(default_factory=dict)
    type: Literal["event", "run", "schedule"] = "event"

    @property
    def run_pathspec(self) -> str | None:
        """``Flow/run_id`` of the upstream run for a finish event, else None."""
        if self.payload.get("flow_name") and self.payload.get("run_id"):
            return f"{self.payload['flow_name']}/{self.payload['run_id']}"
        if self.type == "run" and self.id and self.id.count("/") >= 1:
            return "/".join(self.id.split("/")[:2])
        return None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return utc_from_epoch(float(value))
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _kind(name: str) -> Literal["event", "run", "schedule"]:
    if name.startswith(SCHEDULE_PREFIX):
        return "schedule"
    if name.startswith(FINISH_PREFIX) and name.endswith(".end"):
        return "run"
    return "event"


def triggers_from_env(env: Mapping[str, str] | None = None) -> list[TriggerEvent]:
    """Triggering events named by the environment (local orchestrator or Argo), newest first."""
    env = os.environ if env is None else env
    found: list[TriggerEvent] = []
    if env.get(TRIGGER_ENV):
        for item in json.loads(env[TRIGGER_ENV]):
            found.append(
                TriggerEvent(
                    name=item["name"],
                    id=item.get("id"),
                    timestamp=_timestamp(item.get("timestamp")),
                    payload=dict(item.get("payload") or {}),
                    type=_kind(item["name"]),
                )
            )
    for key, value in env.items():
        if not key.startswith(_ARGO_PREFIX) or value in ("", "null"):
            continue
        try:
            body = json.loads(value)
        except ValueError:
            continue
        if not isinstance(body, dict) or "name" not in body:
            continue
        kind = key[len(_ARGO_PREFIX) :].split("_", 1)[0]
        found.append(
            TriggerEvent(
                name=str(body["name"]),
                id=body.get("id"),
                timestamp=_timestamp(body.get("timestamp")),
                payload={k: v for k, v in body.items() if k not in _ENVELOPE},
                type="run" if kind == "run" else "event",
            )
        )
    found.sort(key=lambda event: event.timestamp or datetime.min.replace(tzinfo=UTC), reverse=True)
    return found


def current_trigger() -> TriggerEvent | None:
    """The event that started the current run (the newest one if several did), or None.

    Works inside a step of a run started by the local orchestrator, by Argo Workflows, or by
    hand with ``--trigger Flow/run_id``; a run started without a trigger gets None.
    """
    found = triggers_from_env()
    if found:
        return found[0]
    from metaflow import current

    trigger = current.get("trigger") if hasattr(current, "get") else None
    event = getattr(trigger, "event", None) if trigger is not None else None
    if event is None:
        return None
    payload: dict[str, Any] = {}
    if event.type == "run" and event.id and event.id.count("/") >= 3:
        flow_name, run_id, step_name, task_id = event.id.split("/")[:4]
        payload = {"flow_name": flow_name, "run_id": run_id, "step_name": step_name}
        payload["task_id"] = task_id
    return TriggerEvent(
        name=event.name,
        id=event.id,
        timestamp=_timestamp(event.timestamp),
        payload=payload,
        type="run" if event.type == "run" else "event",
    )


def metaflow_trigger_meta(events: list[TriggerEvent]) -> list[dict[str, Any]]:
    """The ``Trigger`` metadata Metaflow's Argo decorator builds, for ``current.trigger``."""
    return [
        {
            "timestamp": int(event.timestamp.timestamp()) if event.timestamp else None,
            "id": event.id,
            "name": event.name,
            "type": "run" if event.type == "run" else "event",
        }
        for event in events
    ]
