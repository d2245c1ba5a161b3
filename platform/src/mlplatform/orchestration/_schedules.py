"""``@schedule`` on the local orchestrator's clock: due ticks become events in the log.

Each schedule (flow, branch, cron, timezone) has a mark: how far its ticks were checked
(the ``schedule_marks`` table, whose SQL lives here only). A tick is published as an event
with a deterministic id, so publishing it twice (a crash before the mark moved) stores it
once; the flow's ordinary event dispatch then records its run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import croniter

from mlplatform.orchestration._db import connect
from mlplatform.orchestration._events import Event
from mlplatform.orchestration._flows import FlowDefinition
from mlplatform.orchestration._local import EventLog

logger = logging.getLogger(__name__)


def latest_fire(cron: str, timezone: str | None, after_s: float, now: datetime) -> datetime | None:
    """The latest tick of ``cron`` in ``(after_s, now]``, or None if there is none."""
    zone = ZoneInfo(timezone) if timezone else UTC
    local_now = now.astimezone(zone)
    # croniter.get_prev from an exact tick skips it; start a second later to include it.
    latest = croniter(cron, local_now + timedelta(seconds=1)).get_prev(datetime)
    if latest.timestamp() > after_s and latest <= local_now:
        return latest
    return None


class Schedules:
    """The schedules of the orchestrated flows and their marks.

    Args:
        path: The state folder's database (``events.db``).
        events: The log the ticks are published to.
    """

    def __init__(self, path: Path, events: EventLog) -> None:
        self.path = Path(path)
        self.events = events

    def _mark(self, key: str) -> float | None:
        with connect(self.path) as db:
            row = db.execute(
                "select checked_until from schedule_marks where schedule_key = ?", (key,)
            ).fetchone()
        return None if row is None else float(row[0])

    def _move_mark(self, key: str, now: datetime) -> None:
        with connect(self.path) as db:
            db.execute(
                "insert into schedule_marks (schedule_key, checked_until) values (?, ?) on "
                "conflict(schedule_key) do update set checked_until = excluded.checked_until",
                (key, now.timestamp()),
            )

    def fire_due(
        self,
        flows: Iterable[FlowDefinition],
        default_branch: str,
        now: datetime,
        *,
        startup: bool,
        catch_up: bool,
    ) -> list[Event]:
        """Publish a tick event for every schedule due at ``now``.

        A schedule seen for the first time starts counting at ``now``. Several missed ticks
        fire once (with the latest missed time); on ``startup`` only if ``catch_up``.

        Returns:
            The tick events published.
        """
        published = []
        for flow in flows:
            if flow.schedule is None:
                continue
            branch = flow.run_branch(default_branch)
            schedule = flow.schedule
            key = f"{flow.key}|{branch or ''}|{schedule.cron}|{schedule.timezone or ''}"
            checked_until = self._mark(key)
            due = None
            if checked_until is not None and (catch_up or not startup):
                due = latest_fire(schedule.cron, schedule.timezone, checked_until, now)
            if due is not None:
                stamp = due.astimezone(UTC).isoformat()
                event = self.events.publish(
                    flow.schedule_event_name(),
                    {
                        "flow": flow.name,
                        "flow_file": flow.key,
                        "branch": branch,
                        "scheduled_for": stamp,
                    },
                    event_id=f"schedule:{flow.key}:{branch or ''}:{stamp}",
                    source="schedule",
                )
                published.append(event)
                logger.info("schedule of %s due at %s", flow.name, stamp)
            self._move_mark(key, now)
        return published
