"""The local orchestrator: events and schedules in, `metaflow.Runner` runs out.

One loop (asyncio, one thread: Metaflow's Runner reloads its CLI modules and is not
thread-safe) does four things each turn:

1. evaluates ``@schedule``s against an injectable clock and publishes a tick event when one
   is due (a schedule missed while the orchestrator was down fires once on start);
2. for each flow, reads the events after the flow's own offset in the log, records the runs
   they start and moves the offset, in one transaction (nothing is lost, nothing doubled);
3. starts pending runs through `metaflow.Runner` up to ``max_concurrent_runs``;
4. records each run's end; a failed run is retried up to ``max_attempts`` without holding
   up other runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from mlplatform.config import Settings, load_settings, metaflow_config
from mlplatform.orchestration._db import connect, database_path, open_database
from mlplatform.orchestration._errors import (
    FlowDefinitionError,
    OrchestratorBusyError,
    TriggerMappingError,
)
from mlplatform.orchestration._events import Event
from mlplatform.orchestration._flows import (
    FlowDefinition,
    Match,
    discover_flows,
    match_event,
    run_parameters,
)
from mlplatform.orchestration._local import EventLog, row_event
from mlplatform.orchestration._naming import FINISH_PREFIX, branch_name, branch_options
from mlplatform.orchestration._trigger import TRIGGER_ENV

logger = logging.getLogger(__name__)

_FIRST_START_MARK = "orchestrator"
_ERROR_TAIL_LINES = 25


@dataclass
class OrchestratorSummary:
    """What one `Orchestrator.run` did."""

    started: int = 0
    succeeded: int = 0
    failed: int = 0
    flows: list[str] = field(default_factory=list)
    flow_errors: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False


def _consumer(key: str) -> str:
    return f"flow:{key}"


def _now_s() -> float:
    return time.time()


class Orchestrator:
    """Runs flows when their events arrive or their schedules are due.

    Args:
        settings: Settings (default: `load_settings()`); state lives in ``settings.home``.
        flows_dir: Folder to discover flows in (default: ``orchestration.flows_dir``).
        branch: ``@project`` branch for runs whose event does not name one (schedules,
            plain events), as ``--branch`` would; default: the user's branch.
        production: Use the production branch for those runs, as ``--production`` would.
        clock: Returns the current time (UTC, timezone-aware) for schedules; tests pass a
            controllable one.
        retry_delay_s: Wait before retrying a failed run (times the attempt number);
            default ``orchestration.poll_interval_s``.
        show_output: Stream the runs' output to this process's console.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        flows_dir: Path | str | None = None,
        branch: str | None = None,
        production: bool = False,
        clock: Callable[[], datetime] | None = None,
        retry_delay_s: float | None = None,
        show_output: bool = False,
    ) -> None:
        self.settings = settings or load_settings()
        options = self.settings.orchestration
        self.flows_dir = (
            Path(flows_dir).resolve() if flows_dir else self.settings.orchestration.flows_dir
        )
        self.default_branch = branch_name(branch, production, self.settings.metaflow_user)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.retry_delay_s = options.poll_interval_s if retry_delay_s is None else retry_delay_s
        self.show_output = show_output
        self.events = EventLog.from_settings(self.settings)
        self.db_path = database_path(self.settings.home)
        self.flows: dict[str, FlowDefinition] = {}
        self.flow_errors: dict[str, FlowDefinitionError] = {}
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._summary = OrchestratorSummary()
        self._discovered = False
        self._main_task: asyncio.Task[Any] | None = None

    # -- discovery ------------------------------------------------------------------------

    def discover(self) -> None:
        """Load the flows and give each (also each broken one) its offset in the event log.

        On the first start on a state folder every flow starts at the beginning of the log,
        so events published before the orchestrator ever ran are handled. Later, a flow
        seen for the first time starts at the end of the log, as a newly deployed sensor
        would; a known flow (even one that failed to import meanwhile) keeps its offset.
        """
        flows, errors = discover_flows(self.flows_dir)
        self.flows = {flow.key: flow for flow in flows}
        self.flow_errors = errors
        with open_database(self.db_path).transaction() as db:
            head = self.events.head(db)
            first_start = self.events.offset(_FIRST_START_MARK, db) is None
            start = 0 if first_start else head
            for key in [*self.flows, *errors]:
                self.events.register(_consumer(key), start, db)
            self.events.register(_FIRST_START_MARK, head, db)
        self._summary.flows = sorted(flow.name for flow in flows)
        self._summary.flow_errors = {key: str(error) for key, error in errors.items()}
        for key, error in errors.items():
            logger.error("flow %s is not orchestrated: %s", key, error)
        logger.info(
            "orchestrating %d flow(s) from %s: %s",
            len(flows),
            self.flows_dir,
            ", ".join(self._summary.flows) or "none",
        )
        self._discovered = True

    # -- schedules ------------------------------------------------------------------------

    def evaluate_schedules(self, *, startup: bool = False) -> list[Event]:
        """Publish a tick event for every schedule that is due at ``clock()``.

        A schedule seen for the first time starts counting now. Several missed ticks fire
        once (with the latest missed time). On ``startup`` missed ticks fire only if
        ``orchestration.catch_up_missed_schedules`` is on.

        Returns:
            The tick events published.
        """
        if not self._discovered:
            self.discover()
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the orchestrator's clock must return timezone-aware datetimes")
        catch_up = self.settings.orchestration.catch_up_missed_schedules
        published = []
        for flow in self.flows.values():
            if flow.schedule is None:
                continue
            branch = flow.run_branch(self.default_branch)
            key = f"{flow.key}|{branch or ''}|{flow.schedule.cron}|{flow.schedule.timezone or ''}"
            with connect(self.db_path) as db:
                row = db.execute(
                    "select checked_until from schedule_marks where schedule_key = ?", (key,)
                ).fetchone()
            due = None
            if row is not None and (catch_up or not startup):
                due = _latest_fire(flow.schedule.cron, flow.schedule.timezone, row[0], now)
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
                    # A deterministic id: publishing the same tick twice stores it once.
                    event_id=f"schedule:{flow.key}:{branch or ''}:{stamp}",
                    source="schedule",
                )
                published.append(event)
                logger.info("schedule of %s due at %s", flow.name, stamp)
            with connect(self.db_path) as db:
                db.execute(
                    "insert into schedule_marks (schedule_key, checked_until) values (?, ?) on "
                    "conflict(schedule_key) do update set checked_until = excluded.checked_until",
                    (key, now.timestamp()),
                )
        return published

    # -- events -> run records ------------------------------------------------------------

    def dispatch(self) -> int:
        """Turn unread events into pending run records, flow by flow.

        Returns:
            How many run records were created.
        """
        if not self._discovered:
            self.discover()
        created = 0
        with connect(self.db_path) as db:
            for flow in self.flows.values():
                consumer = _consumer(flow.key)
                while True:
                    with open_database(self.db_path).transaction():
                        batch = self.events.read(consumer, limit=200, db=db)
                        if not batch:
                            break
                        for event in batch:
                            for match in match_event(flow, event, self.default_branch):
                                created += self._accept(db, match)
                        self.events.ack(consumer, batch[-1].seq or 0, db)
        return created

    def _accept(self, db: sqlite3.Connection, match: Match) -> int:
        flow, branch = match.flow, match.branch
        if match.dependency < 0 or len(flow.dependencies) == 1:
            events = {match.dependency: match.event}
        else:
            # Several dependencies: as an Argo sensor, wait until each has an event.
            db.execute(
                "insert into partial_triggers (flow_file, branch, dependency, event_id) "
                "values (?, ?, ?, ?) on conflict(flow_file, branch, dependency) "
                "do update set event_id = excluded.event_id",
                (flow.key, branch or "", match.dependency, match.event.id),
            )
            rows = db.execute(
                "select p.dependency, e.* from partial_triggers p "
                "join events e on e.id = p.event_id where p.flow_file = ? and p.branch = ?",
                (flow.key, branch or ""),
            ).fetchall()
            if len(rows) < len(flow.dependencies):
                return 0
            events = {row["dependency"]: row_event(row) for row in rows}
            db.execute(
                "delete from partial_triggers where flow_file = ? and branch = ?",
                (flow.key, branch or ""),
            )
        return self._record_request(db, flow, branch, events)

    def _record_request(
        self,
        db: sqlite3.Connection,
        flow: FlowDefinition,
        branch: str | None,
        events: dict[int, Event],
    ) -> int:
        ordered = [events[index] for index in sorted(events)]
        last = max(ordered, key=lambda event: event.timestamp)
        kinds = {"schedule" if index < 0 else flow.dependencies[index].kind for index in events}
        kind = kinds.pop() if len(kinds) == 1 else "mixed"
        request_key = f"{flow.key}|{branch or ''}|{'+'.join(sorted(e.id for e in ordered))}"
        status, error, parameters = "pending", None, {}
        try:
            parameters = run_parameters(flow, events)
        except TriggerMappingError as mapping_error:
            # Retrying cannot fix the event; record the failure, never run with wrong values.
            status, error = "failed", f"not started: {mapping_error}"
            logger.error("%s", error)
        now = _now_s()
        cursor = db.execute(
            "insert or ignore into runs (request_key, attempt, flow, flow_file, branch, "
            "event_id, event_name, trigger_kind, triggers, parameters, status, created_at, "
            "not_before, error, finished_at) values (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request_key,
                flow.name,
                flow.key,
                branch,
                last.id,
                last.name,
                kind,
                json.dumps([event.to_dict() for event in ordered]),
                json.dumps(parameters),
                status,
                now,
                now,
                error,
                now if status == "failed" else None,
            ),
        )
        if cursor.rowcount:
            logger.info("%s on %s: %s run of %s", last.name, branch or "-", status, flow.name)
            if status == "failed":
                self._summary.failed += 1
        return cursor.rowcount

    # -- runs ------------------------------------------------------------------------------

    def recover(self) -> int:
        """Settle runs left ``running`` by an orchestrator that stopped.

        A run whose Metaflow record shows it finished gets that outcome; any other is
        recorded as failed and retried per policy, so its event is never lost.

        Returns:
            How many runs were settled.
        """
        with connect(self.db_path) as db:
            rows = db.execute("select * from runs where status = 'running'").fetchall()
        for row in rows:
            outcome = self._metaflow_outcome(row["flow"], row["run_id"])
            if outcome == "succeeded":
                self._settle(row, "succeeded", row["run_id"], None)
            else:
                self._settle(
                    row,
                    "failed",
                    row["run_id"],
                    "the orchestrator stopped while this run was in flight"
                    + ("" if outcome is None else " and the run did not finish successfully"),
                )
        return len(rows)

    def _metaflow_outcome(self, flow: str, run_id: str | None) -> str | None:
        if not run_id:
            return None
        try:
            from metaflow import Run

            config = metaflow_config(self.settings)  # where this profile's runs are recorded
            where = config.get("DATASTORE_SYSROOT_LOCAL") or config["SERVICE_URL"]
            metadata = f"{config['DEFAULT_METADATA']}@{where}"
            run = Run(f"{flow}/{run_id}", _namespace_check=False, _current_metadata=metadata)
            if run.finished:
                return "succeeded" if run.successful else "failed"
        except Exception as error:
            logger.warning("cannot read the Metaflow record of %s/%s: %s", flow, run_id, error)
        return None

    def _due_run(self, db: sqlite3.Connection) -> sqlite3.Row | None:
        busy = tuple(self._inflight) or (-1,)
        placeholders = ",".join("?" * len(busy))
        return db.execute(
            "select * from runs where status = 'pending' and not_before <= ? "
            f"and id not in ({placeholders}) order by not_before, id limit 1",
            (_now_s(), *busy),
        ).fetchone()

    def _start_due(self) -> None:
        limit = max(1, self.settings.orchestration.max_concurrent_runs)
        with connect(self.db_path) as db:
            while len(self._inflight) < limit:
                with open_database(self.db_path).transaction():
                    row = self._due_run(db)
                    if row is None:
                        return
                    db.execute(
                        "update runs set status = 'running', started_at = ? where id = ?",
                        (_now_s(), row["id"]),
                    )
                self._summary.started += 1
                self._inflight[row["id"]] = asyncio.get_running_loop().create_task(
                    self._execute(row)
                )

    async def _execute(self, row: sqlite3.Row) -> None:
        from metaflow import Runner

        started = time.monotonic()
        run_id: str | None = None
        flow = self.flows.get(row["flow_file"])
        runner = None
        executing = None
        try:
            if flow is None:
                reason = self.flow_errors.get(row["flow_file"], f"it is not in {self.flows_dir}")
                raise FlowDefinitionError(
                    f"flow file {row['flow_file']} no longer loads or was removed; {reason}"
                )
            top_level, env = self._launch_options(flow, row)
            runner = Runner(
                str(flow.file),
                show_output=self.show_output,
                env=env,
                cwd=str(flow.file.parent),
                **top_level,
            )
            # Metaflow's Runner takes over SIGINT (it kills its runs, then carries on);
            # take it back so Ctrl-C stops the orchestrator, which stops its runs.
            self._handle_signals()
            parameters = json.loads(row["parameters"])
            executing = await runner.async_run(
                tags=[f"mlp_trigger:{row['event_name']}"[:500]], **parameters
            )
            run_id = str(executing.run.id)
            with connect(self.db_path) as db:
                db.execute("update runs set run_id = ? where id = ?", (run_id, row["id"]))
            logger.info(
                "started %s/%s (%s, attempt %d)",
                flow.name,
                run_id,
                row["event_name"],
                row["attempt"],
            )
            await executing.wait()
            if executing.status == "successful":
                self._settle(row, "succeeded", run_id, None, time.monotonic() - started)
            else:
                self._settle(
                    row, "failed", run_id, _log_tail(executing), time.monotonic() - started
                )
        except asyncio.CancelledError:
            # The orchestrator is stopping: stop the run too, and queue a retry so the
            # event is not lost (recover() would do the same on the next start).
            if executing is not None and executing.returncode is None:
                executing.command_obj.kill()
            self._settle(
                row,
                "failed",
                run_id,
                "interrupted: the orchestrator stopped while this run was in flight",
                time.monotonic() - started,
            )
            raise
        except Exception as error:
            self._settle(
                row,
                "failed",
                run_id,
                f"{type(error).__name__}: {error}",
                time.monotonic() - started,
                retry=not isinstance(error, FlowDefinitionError | TypeError | ValueError),
            )
        finally:
            if runner is not None:
                runner.cleanup()

    def _launch_options(
        self, flow: FlowDefinition, row: sqlite3.Row
    ) -> tuple[dict[str, Any], dict[str, str]]:
        top_level: dict[str, Any] = {}
        env: dict[str, str] = {}
        branch = row["branch"]
        if branch and flow.project and not flow.fixed_branch:
            top_level, env = branch_options(branch)
        triggers = json.loads(row["triggers"])
        env[TRIGGER_ENV] = json.dumps(triggers)
        # @trigger_on_finish: Metaflow's own --trigger option sets current.trigger.
        upstream_runs = [
            f"{event['payload']['flow_name']}/{event['payload']['run_id']}"
            for event in triggers
            if event["name"].startswith(FINISH_PREFIX)
            and event["payload"].get("flow_name")
            and event["payload"].get("run_id")
        ]
        if upstream_runs and any(d.kind == "run" for d in flow.dependencies):
            top_level["trigger"] = upstream_runs
        return top_level, env

    def _settle(
        self,
        row: sqlite3.Row,
        status: str,
        run_id: str | None,
        error: str | None,
        duration_s: float | None = None,
        *,
        retry: bool = True,
    ) -> None:
        max_attempts = max(1, self.settings.orchestration.max_attempts)
        now = _now_s()
        with open_database(self.db_path).transaction() as db:
            db.execute(
                "update runs set status = ?, run_id = coalesce(?, run_id), finished_at = ?, "
                "duration_s = ?, error = ? where id = ?",
                (status, run_id, now, duration_s, error, row["id"]),
            )
            retried = status == "failed" and retry and row["attempt"] < max_attempts
            if retried:
                db.execute(
                    "insert or ignore into runs (request_key, attempt, flow, flow_file, branch, "
                    "event_id, event_name, trigger_kind, triggers, parameters, status, "
                    "created_at, not_before) select request_key, attempt + 1, flow, flow_file, "
                    "branch, event_id, event_name, trigger_kind, triggers, parameters, "
                    "'pending', ?, ? from runs where id = ?",
                    (now, now + self.retry_delay_s * row["attempt"], row["id"]),
                )
        if status == "succeeded":
            self._summary.succeeded += 1
            logger.info("%s/%s succeeded", row["flow"], run_id)
        else:
            self._summary.failed += 1
            logger.error(
                "%s run %s failed (attempt %d/%d)%s: %s",
                row["flow"],
                run_id or "(not started)",
                row["attempt"],
                max_attempts,
                "; will retry" if retried else "",
                error,
            )

    # -- the loop --------------------------------------------------------------------------

    def _idle(self) -> bool:
        if self._inflight:
            return False
        with connect(self.db_path) as db:
            if db.execute("select 1 from runs where status = 'pending' limit 1").fetchone():
                return False
            head = self.events.head(db)
            return all((self.events.offset(_consumer(key), db) or 0) >= head for key in self.flows)

    def run(self, *, once: bool = False, until_idle: bool = False) -> OrchestratorSummary:
        """Serve in the foreground.

        Args:
            once: Handle what is pending now (events, due schedules, pending runs), wait for
                those runs, and return.
            until_idle: Keep going until no event is unread, no run pending or running
                (runs' finish events are handled too), then return.

        Without either, serve until interrupted (Ctrl-C).

        Raises:
            OrchestratorBusyError: Another orchestrator serves this state folder.
        """
        with self._lock():
            try:
                return asyncio.run(self._serve(once=once, until_idle=until_idle))
            except asyncio.CancelledError:
                return self._summary

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        path = self.settings.home / "orchestrator.lock"
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OrchestratorBusyError(
                    f"another orchestrator is running on {self.settings.home} (lock {path}); "
                    "stop it first, or use another state folder (MLP_HOME)"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _handle_signals(self) -> None:
        task = self._main_task
        if task is None:
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._stop, task)

    def _stop(self, task: asyncio.Task[Any]) -> None:
        logger.warning("stopping: in-flight runs are stopped and queued to run again")
        self._summary.interrupted = True
        task.cancel()

    async def _serve(self, *, once: bool, until_idle: bool) -> OrchestratorSummary:
        self._summary = OrchestratorSummary()
        self._main_task = asyncio.current_task()
        self._handle_signals()
        self.recover()
        self.discover()
        self.evaluate_schedules(startup=True)
        self.dispatch()
        poll = max(0.05, self.settings.orchestration.poll_interval_s)
        try:
            while True:
                if not once:
                    self.evaluate_schedules()
                    self.dispatch()
                self._start_due()
                if once and not self._inflight:
                    break
                if until_idle and self._idle():
                    break
                await self._wait(poll)
        finally:
            if self._inflight:
                for task in self._inflight.values():
                    task.cancel()
                await asyncio.gather(*self._inflight.values(), return_exceptions=True)
                self._inflight.clear()
        return self._summary

    async def _wait(self, timeout: float) -> None:
        if not self._inflight:
            await asyncio.sleep(timeout)
            return
        done, _ = await asyncio.wait(
            list(self._inflight.values()), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            for run_id, candidate in list(self._inflight.items()):
                if candidate is task:
                    del self._inflight[run_id]
            if not task.cancelled() and task.exception() is not None:
                logger.error("orchestrator task failed: %r", task.exception())


def _latest_fire(cron: str, timezone: str | None, after_s: float, now: datetime) -> datetime | None:
    """The latest tick of ``cron`` in ``(after_s, now]``, or None if there is none."""
    zone = ZoneInfo(timezone) if timezone else UTC
    local_now = now.astimezone(zone)
    # croniter.get_prev from an exact tick skips it; start a second later to include it.
    latest = croniter(cron, local_now + timedelta(seconds=1)).get_prev(datetime)
    if latest.timestamp() > after_s and latest <= local_now:
        return latest
    return None


def _log_tail(executing: Any) -> str:
    lines: list[str] = []
    for stream in ("stderr", "stdout"):
        try:
            text = getattr(executing, stream)
        except OSError:
            continue
        lines.extend(line for line in text.splitlines() if line.strip())
    interesting = [line for line in lines if "Error" in line or "error" in line]
    tail = (interesting or lines)[-_ERROR_TAIL_LINES:]
    return "\n".join(tail) or f"the run exited with code {executing.returncode}"
