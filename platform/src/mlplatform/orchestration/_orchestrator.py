"""The local orchestrator: events and schedules in, `metaflow.Runner` runs out.

One loop (asyncio, one thread: Metaflow's Runner reloads its CLI modules and is not
thread-safe) does four things each turn:

1. evaluates ``@schedule``s against an injectable clock and publishes a tick event when one
   is due (`_schedules`; a schedule missed while the orchestrator was down fires once);
2. for each flow, reads the events after the flow's own offset in the log, records the runs
   they start and moves the offset, in one transaction (nothing is lost, nothing doubled);
3. starts pending runs (`_launch`) up to ``max_concurrent_runs``;
4. records each run's end (`_runs`); a failed run is retried up to ``max_attempts``
   without holding up other runs.

On start it first reconciles the runs a stopped orchestrator left in flight with their
launch claims and Metaflow's record (`_claims`): a run that is still going is adopted and
waited for, one that ended is recorded as it ended, one that never started is started —
each event runs its flows exactly once, across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import signal
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlplatform.config import Settings, load_settings
from mlplatform.orchestration import _claims
from mlplatform.orchestration._db import database_path, open_database
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
from mlplatform.orchestration._launch import (
    Outcome,
    ended_run_outcome,
    launch,
    wait_until_released,
)
from mlplatform.orchestration._local import EventLog
from mlplatform.orchestration._naming import branch_name
from mlplatform.orchestration._runs import RunRecord, RunRequest, RunStore
from mlplatform.orchestration._schedules import Schedules

logger = logging.getLogger(__name__)

_FIRST_START_MARK = "orchestrator"
_IN_FLIGHT = "the orchestrator stopped while this run was in flight"


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
        self.flows_dir = Path(flows_dir).resolve() if flows_dir else options.flows_dir
        self.default_branch = branch_name(branch, production, self.settings.metaflow_user)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.retry_delay_s = options.poll_interval_s if retry_delay_s is None else retry_delay_s
        self.show_output = show_output
        self.db_path = database_path(self.settings.home)
        self.events = EventLog(self.db_path)
        self.runs = RunStore(self.db_path)
        self.schedules = Schedules(self.db_path, self.events)
        self.flows: dict[str, FlowDefinition] = {}
        self.flow_errors: dict[str, FlowDefinitionError] = {}
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._adopted: list[tuple[RunRecord, str]] = []
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
        return self.schedules.fire_due(
            self.flows.values(),
            self.default_branch,
            now,
            startup=startup,
            catch_up=self.settings.orchestration.catch_up_missed_schedules,
        )

    # -- events -> run records ------------------------------------------------------------

    def dispatch(self) -> int:
        """Turn unread events into pending run records, flow by flow.

        Returns:
            How many run records were created.
        """
        if not self._discovered:
            self.discover()
        created = 0
        database = open_database(self.db_path)
        for flow in self.flows.values():
            consumer = _consumer(flow.key)
            while True:
                with database.transaction() as db:
                    batch = self.events.read(consumer, limit=200, db=db)
                    if not batch:
                        break
                    for event in batch:
                        for match in match_event(flow, event, self.default_branch):
                            created += self._accept(db, match)
                    self.events.ack(consumer, batch[-1].seq or 0, db)
        return created

    def _accept(self, db: sqlite3.Connection, match: Match) -> int:
        flow = match.flow
        if match.dependency < 0 or len(flow.dependencies) == 1:
            events: dict[int, Event] | None = {match.dependency: match.event}
        else:
            # Several dependencies: as an Argo sensor, wait until each has an event.
            events = self.runs.complete_trigger(
                db, flow.key, match.branch, match.dependency, match.event, len(flow.dependencies)
            )
            if events is None:
                return 0
        request = self._request(flow, match.branch, events)
        if not self.runs.add(db, request):
            return 0
        status = "failed" if request.error else "pending"
        name = request.last_event.name
        logger.info("%s on %s: %s run of %s", name, match.branch or "-", status, flow.name)
        if request.error:
            self._summary.failed += 1
        return 1

    def _request(
        self, flow: FlowDefinition, branch: str | None, events: dict[int, Event]
    ) -> RunRequest:
        kinds = {"schedule" if index < 0 else flow.dependencies[index].kind for index in events}
        parameters, error = {}, None
        try:
            parameters = run_parameters(flow, events)
        except TriggerMappingError as mapping_error:
            # Retrying cannot fix the event; record the failure, never run with wrong values.
            error = f"not started: {mapping_error}"
            logger.error("%s", error)
        return RunRequest(
            flow=flow.name,
            flow_file=flow.key,
            branch=branch,
            events=[events[index] for index in sorted(events)],
            trigger_kind=kinds.pop() if len(kinds) == 1 else "mixed",
            parameters=parameters,
            error=error,
        )

    # -- runs ------------------------------------------------------------------------------

    def recover(self) -> int:
        """Reconcile the runs a stopped orchestrator left in flight.

        Each run's launch claim and Metaflow's record say what became of it: a run still
        going is adopted (`run` waits for it), one that ended is recorded as it ended (a
        failure is retried per policy), one that never started is pending again.

        Returns:
            How many in-flight runs were reconciled.
        """
        in_flight = self.runs.in_flight()
        for record in in_flight:
            # Records from before launch claims have none: Metaflow's record alone decides.
            state = _claims.close(self._claim(record)) if record.launch_token else None
            if state is not None and state.run_id is None:
                logger.info(
                    "%s attempt %d never started; queued again", record.flow, record.attempt
                )
                self.runs.requeue(record)
            elif state is not None and state.alive:
                self.runs.set_run_id(record.id, state.run_id)
                self._adopted.append((record, state.run_id))
                logger.info(
                    "adopted %s/%s, still running after a restart", record.flow, state.run_id
                )
            else:
                run_id = state.run_id if state else record.run_id
                outcome = ended_run_outcome(self.settings, record.flow, run_id, context=_IN_FLIGHT)
                self._settle(record, outcome)
        return len(in_flight)

    def _claim(self, record: RunRecord) -> Path:
        return _claims.claim_path(self.settings.home, record.launch_token or "")

    def _start_due(self) -> None:
        limit = self.settings.orchestration.max_concurrent_runs
        loop = asyncio.get_running_loop()
        while self._adopted:
            record, run_id = self._adopted.pop()
            self._inflight[record.id] = loop.create_task(self._follow(record, run_id))
        while len(self._inflight) < limit:
            record = self.runs.start_next(exclude=self._inflight)
            if record is None:
                return
            self._summary.started += 1
            self._inflight[record.id] = loop.create_task(self._execute(record))

    async def _execute(self, record: RunRecord) -> None:
        flow = self.flows.get(record.flow_file)
        if flow is None:
            reason = self.flow_errors.get(record.flow_file, f"it is not in {self.flows_dir}")
            error = f"flow file {record.flow_file} no longer loads or was removed; {reason}"
            self._settle(
                record, Outcome("failed", None, f"FlowDefinitionError: {error}", retry=False)
            )
            return
        try:
            outcome = await launch(
                flow,
                record,
                claim=self._claim(record),
                show_output=self.show_output,
                on_started=lambda run_id: self.runs.set_run_id(record.id, run_id),
                # Metaflow's Runner takes over SIGINT (it kills its runs, then carries on);
                # take it back so Ctrl-C stops the orchestrator, which stops its runs.
                after_runner=self._handle_signals,
            )
        except asyncio.CancelledError:
            # Stopping: the run was stopped too; queue a retry so the event is not lost.
            self._settle(record, Outcome("failed", None, f"interrupted: {_IN_FLIGHT}"))
            raise
        self._settle(record, outcome)

    async def _follow(self, record: RunRecord, run_id: str) -> None:
        """Wait for an adopted run to end, then record how it ended."""
        try:
            await wait_until_released(
                self._claim(record), self.settings.orchestration.poll_interval_s
            )
        except asyncio.CancelledError:
            # Not started here, so not stopped here: the next start adopts it again.
            logger.warning("leaving adopted run %s/%s running", record.flow, run_id)
            raise
        context = f"{_IN_FLIGHT} (adopted after a restart)"
        self._settle(record, ended_run_outcome(self.settings, record.flow, run_id, context=context))

    def _settle(self, record: RunRecord, outcome: Outcome) -> None:
        max_attempts = self.settings.orchestration.max_attempts
        retried = outcome.status == "failed" and outcome.retry and record.attempt < max_attempts
        self.runs.settle(
            record,
            outcome.status,
            run_id=outcome.run_id,
            error=outcome.error,
            duration_s=outcome.duration_s,
            retry_in_s=self.retry_delay_s * record.attempt if retried else None,
        )
        if record.launch_token:
            _claims.release(self._claim(record))
        if outcome.status == "succeeded":
            self._summary.succeeded += 1
            logger.info("%s/%s succeeded", record.flow, outcome.run_id)
        else:
            self._summary.failed += 1
            logger.error(
                "%s run %s failed (attempt %d/%d)%s: %s",
                record.flow,
                outcome.run_id or record.run_id or "(not started)",
                record.attempt,
                max_attempts,
                "; will retry" if retried else "",
                outcome.error,
            )

    # -- the loop --------------------------------------------------------------------------

    def _idle(self) -> bool:
        if self._inflight or self._adopted or self.runs.has_pending():
            return False
        head = self.events.head()
        return all((self.events.offset(_consumer(key)) or 0) >= head for key in self.flows)

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
        logger.warning("stopping: runs started here are stopped and queued to run again")
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
            for record_id, candidate in list(self._inflight.items()):
                if candidate is task:
                    del self._inflight[record_id]
            if not task.cancelled() and task.exception() is not None:
                logger.error("orchestrator task failed: %r", task.exception())
