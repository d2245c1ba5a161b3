"""The record of every run the orchestrator starts (``mlp runs ls``), and all of its SQL.

`RunStore` owns the ``runs`` table (one row per attempt) and ``partial_triggers`` (events of
a flow with several dependencies that wait for the others). The orchestrator's other state
has its own owner: offsets are the event log's (`_local`), schedule marks the schedules'
(`_schedules`).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from mlplatform._time import utc_from_epoch, utc_now
from mlplatform.config import Settings, load_settings
from mlplatform.orchestration._db import connect, database_path, open_database
from mlplatform.orchestration._errors import check_limit
from mlplatform.orchestration._events import Event
from mlplatform.orchestration._local import row_event

RunStatus = Literal["pending", "running", "succeeded", "failed"]
RUN_STATUSES: tuple[RunStatus, ...] = ("pending", "running", "succeeded", "failed")


@dataclass(frozen=True)
class RunRecord:
    """One attempt at a triggered run.

    Attributes:
        id: Row id in the orchestrator's record.
        flow: Flow name.
        flow_file: The flow file, relative to the orchestrator's flows folder.
        branch: ``@project`` branch the run used (None without ``@project``).
        event_name: Name of the (last) event that triggered it.
        event_id: Id of that event.
        trigger_kind: ``event``, ``run`` (a finish event), ``schedule`` or ``mixed``.
        triggers: Every event that triggered it (`Event.to_dict` form), oldest dependency first.
        attempt: 1 for the first try, 2 for the first retry, ...
        status: ``pending``, ``running``, ``succeeded`` or ``failed``.
        run_id: Metaflow run id once the run started.
        launch_token: Names this attempt's launch (its claim, see `_claims`) once it starts.
        parameters: Parameters passed to the run.
        created_at: When the orchestrator accepted the trigger.
        started_at: When the run started.
        finished_at: When it ended.
        duration_s: How long it ran.
        error: Why it failed (the tail of its log, or a mapping error).
    """

    id: int
    flow: str
    flow_file: str
    branch: str | None
    event_name: str
    event_id: str
    trigger_kind: str
    triggers: list[dict[str, Any]]
    attempt: int
    status: RunStatus
    run_id: str | None
    launch_token: str | None
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


@dataclass(frozen=True)
class RunRequest:
    """Runs to record for a flow whose trigger is complete.

    Attributes:
        flow: Flow name.
        flow_file: The flow file, relative to the flows folder.
        branch: The run's ``@project`` branch.
        events: The triggering events, oldest dependency first.
        trigger_kind: ``event``, ``run``, ``schedule`` or ``mixed``.
        parameters: The run's parameters.
        error: Why the run cannot start (recorded as failed, never run), or None.
    """

    flow: str
    flow_file: str
    branch: str | None
    events: Sequence[Event]
    trigger_kind: str
    parameters: dict[str, Any]
    error: str | None = None

    @property
    def last_event(self) -> Event:
        """The newest triggering event (the record names it)."""
        return max(self.events, key=lambda event: event.timestamp)

    @property
    def key(self) -> str:
        """One request per flow, branch and set of events: the same events never run twice."""
        ids = "+".join(sorted(event.id for event in self.events))
        return f"{self.flow_file}|{self.branch or ''}|{ids}"


def _record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        flow=row["flow"],
        flow_file=row["flow_file"],
        branch=row["branch"],
        event_name=row["event_name"],
        event_id=row["event_id"],
        trigger_kind=row["trigger_kind"],
        triggers=json.loads(row["triggers"]),
        attempt=row["attempt"],
        status=row["status"],
        run_id=row["run_id"],
        launch_token=row["launch_token"],
        parameters=json.loads(row["parameters"]),
        created_at=utc_from_epoch(row["created_at"]) or utc_now(),
        started_at=utc_from_epoch(row["started_at"]),
        finished_at=utc_from_epoch(row["finished_at"]),
        duration_s=row["duration_s"],
        error=row["error"],
    )


class RunStore:
    """The orchestrator's run records in the state folder's database.

    Methods taking ``db`` run inside the caller's transaction (dispatch records runs and
    moves the event offset in one); the others open their own.

    Args:
        path: The database file (``<state folder>/events.db``).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def from_settings(cls, settings: Settings) -> RunStore:
        """The run records of a profile's state folder."""
        return cls(database_path(settings.home))

    # -- triggers -> records (inside dispatch's transaction) --------------------------------

    def complete_trigger(
        self,
        db: sqlite3.Connection,
        flow_file: str,
        branch: str | None,
        dependency: int,
        event: Event,
        needed: int,
    ) -> dict[int, Event] | None:
        """Keep ``event`` for one dependency of a flow that waits for ``needed`` events.

        Returns:
            Dependency index -> event once every dependency has one (they are then
            forgotten, as an Argo sensor does), else None.
        """
        db.execute(
            "insert into partial_triggers (flow_file, branch, dependency, event_id) "
            "values (?, ?, ?, ?) on conflict(flow_file, branch, dependency) "
            "do update set event_id = excluded.event_id",
            (flow_file, branch or "", dependency, event.id),
        )
        rows = db.execute(
            "select p.dependency, e.* from partial_triggers p "
            "join events e on e.id = p.event_id where p.flow_file = ? and p.branch = ?",
            (flow_file, branch or ""),
        ).fetchall()
        if len(rows) < needed:
            return None
        db.execute(
            "delete from partial_triggers where flow_file = ? and branch = ?",
            (flow_file, branch or ""),
        )
        return {row["dependency"]: row_event(row) for row in rows}

    def add(self, db: sqlite3.Connection, request: RunRequest) -> bool:
        """Record the first attempt of a request (pending, or failed with its error).

        Returns:
            False when the request was recorded before (a redelivered event).
        """
        last = request.last_event
        now = time.time()
        status = "failed" if request.error else "pending"
        cursor = db.execute(
            "insert or ignore into runs (request_key, attempt, flow, flow_file, branch, "
            "event_id, event_name, trigger_kind, triggers, parameters, status, created_at, "
            "not_before, error, finished_at) values (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request.key,
                request.flow,
                request.flow_file,
                request.branch,
                last.id,
                last.name,
                request.trigger_kind,
                json.dumps([event.to_dict() for event in request.events]),
                json.dumps(request.parameters),
                status,
                now,
                now,
                request.error,
                now if request.error else None,
            ),
        )
        return bool(cursor.rowcount)

    # -- launching and settling ---------------------------------------------------------------

    def start_next(self, exclude: Collection[int] = ()) -> RunRecord | None:
        """Mark the pending run that is due first as running, with a new launch token.

        Args:
            exclude: Record ids not to start (already in flight in this process).

        Returns:
            The record now running, or None if no pending run is due.
        """
        busy = tuple(exclude) or (-1,)
        now = time.time()
        with open_database(self.path).transaction() as db:
            row = db.execute(
                "select id from runs where status = 'pending' and not_before <= ? "
                f"and id not in ({','.join('?' * len(busy))}) order by not_before, id limit 1",
                (now, *busy),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "update runs set status = 'running', started_at = ?, launch_token = ? where id = ?",
                (now, uuid.uuid4().hex, row["id"]),
            )
            return _record(db.execute("select * from runs where id = ?", (row["id"],)).fetchone())

    def set_run_id(self, record_id: int, run_id: str) -> None:
        """Note the Metaflow run id of a running record."""
        with connect(self.path) as db:
            db.execute("update runs set run_id = ? where id = ?", (run_id, record_id))

    def settle(
        self,
        record: RunRecord,
        status: Literal["succeeded", "failed"],
        *,
        run_id: str | None,
        error: str | None,
        duration_s: float | None,
        retry_in_s: float | None = None,
    ) -> None:
        """Record the end of a run; with ``retry_in_s``, queue its next attempt that much later.

        The next attempt is recorded once, whoever settles the same attempt again.
        """
        now = time.time()
        with open_database(self.path).transaction() as db:
            db.execute(
                "update runs set status = ?, run_id = coalesce(?, run_id), finished_at = ?, "
                "duration_s = ?, error = ? where id = ?",
                (status, run_id, now, duration_s, error, record.id),
            )
            if retry_in_s is not None:
                db.execute(
                    "insert or ignore into runs (request_key, attempt, flow, flow_file, branch, "
                    "event_id, event_name, trigger_kind, triggers, parameters, status, "
                    "created_at, not_before) select request_key, attempt + 1, flow, flow_file, "
                    "branch, event_id, event_name, trigger_kind, triggers, parameters, "
                    "'pending', ?, ? from runs where id = ?",
                    (now, now + retry_in_s, record.id),
                )

    def requeue(self, record: RunRecord) -> None:
        """Make a running record that never started pending again (same attempt)."""
        with connect(self.path) as db:
            db.execute(
                "update runs set status = 'pending', started_at = null, launch_token = null, "
                "run_id = null where id = ? and status = 'running'",
                (record.id,),
            )

    # -- reading ----------------------------------------------------------------------------

    def in_flight(self) -> list[RunRecord]:
        """Records marked running (by this orchestrator, or one that stopped)."""
        with connect(self.path) as db:
            rows = db.execute("select * from runs where status = 'running' order by id").fetchall()
        return [_record(row) for row in rows]

    def has_pending(self) -> bool:
        """Whether a run waits to start (due now or later)."""
        with connect(self.path) as db:
            return (
                db.execute("select 1 from runs where status = 'pending' limit 1").fetchone()
                is not None
            )

    def list(
        self, *, flow: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[RunRecord]:
        """The latest ``limit`` records (optionally of one flow or status), oldest first."""
        check_limit(limit)
        clauses, args = [], []
        if flow:
            clauses.append("flow = ?")
            args.append(flow)
        if status:
            clauses.append("status = ?")
            args.append(status)
        where = f" where {' and '.join(clauses)}" if clauses else ""
        with connect(self.path) as db:
            rows = db.execute(
                f"select * from runs{where} order by id desc limit ?", (*args, limit)
            ).fetchall()
        return [_record(row) for row in reversed(rows)]


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
    store = RunStore.from_settings(settings or load_settings())
    return store.list(flow=flow, status=status, limit=limit)
