"""The record of every run the orchestrator starts (``mlp runs ls``)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlplatform._time import utc_from_epoch, utc_now
from mlplatform.config import Settings, load_settings
from mlplatform.orchestration._db import connect, database_path

RUN_STATUSES = ("pending", "running", "succeeded", "failed")


@dataclass(frozen=True)
class RunRecord:
    """One attempt at a triggered run.

    Attributes:
        id: Row id in the orchestrator's record.
        flow: Flow name.
        branch: ``@project`` branch the run used (None without ``@project``).
        event_name: Name of the (last) event that triggered it.
        event_id: Id of that event.
        trigger_kind: ``event``, ``run`` (a finish event), ``schedule`` or ``mixed``.
        attempt: 1 for the first try, 2 for the first retry, ...
        status: ``pending``, ``running``, ``succeeded`` or ``failed``.
        run_id: Metaflow run id once the run started.
        parameters: Parameters passed to the run.
        created_at: When the orchestrator accepted the trigger.
        started_at: When the run started.
        finished_at: When it ended.
        duration_s: How long it ran.
        error: Why it failed (the tail of its log, or a mapping error).
    """

    id: int
    flow: str
    branch: str | None
    event_name: str
    event_id: str
    trigger_kind: str
    attempt: int
    status: str
    run_id: str | None
    parameters: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    error: str | None

    @property
    def pathspec(self) -> str | None:
        """``Flow/run_id`` once the run started."""
        return f"{self.flow}/{self.run_id}" if self.run_id else None


def row_record(row: sqlite3.Row) -> RunRecord:
    """A `RunRecord` from a ``runs`` row."""
    return RunRecord(
        id=row["id"],
        flow=row["flow"],
        branch=row["branch"],
        event_name=row["event_name"],
        event_id=row["event_id"],
        trigger_kind=row["trigger_kind"],
        attempt=row["attempt"],
        status=row["status"],
        run_id=row["run_id"],
        parameters=json.loads(row["parameters"]),
        created_at=utc_from_epoch(row["created_at"]) or utc_now(),
        started_at=utc_from_epoch(row["started_at"]),
        finished_at=utc_from_epoch(row["finished_at"]),
        duration_s=row["duration_s"],
        error=row["error"],
    )


def list_runs(
    settings: Settings | None = None,
    *,
    flow: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[RunRecord]:
    """The latest triggered runs, oldest first.

    Args:
        settings: Settings (default: `load_settings()`).
        flow: Only runs of this flow.
        status: Only runs in this status (pending, running, succeeded, failed).
        limit: At most this many (the newest).
    """
    settings = settings or load_settings()
    clauses, args = [], []
    if flow:
        clauses.append("flow = ?")
        args.append(flow)
    if status:
        clauses.append("status = ?")
        args.append(status)
    where = f" where {' and '.join(clauses)}" if clauses else ""
    with connect(database_path(settings.home)) as db:
        rows = db.execute(
            f"select * from runs{where} order by id desc limit ?", (*args, limit)
        ).fetchall()
    return [row_record(row) for row in reversed(rows)]
