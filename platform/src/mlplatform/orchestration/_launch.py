"""Starting runs with `metaflow.Runner`, waiting for them, and reading Metaflow's record.

A launched run gets its record's parameters, its ``@project`` branch, the triggering
events (``MLP_TRIGGER_EVENTS``; Metaflow's ``--trigger`` for finish events) and a launch
claim (`_claims`), so that an orchestrator restarted after a crash can tell whether the
run is still going, how it ended, or whether it never started.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlplatform.config import Settings, metaflow_config
from mlplatform.orchestration import _claims
from mlplatform.orchestration._errors import FlowDefinitionError
from mlplatform.orchestration._flows import FlowDefinition
from mlplatform.orchestration._naming import FINISH_PREFIX, branch_options
from mlplatform.orchestration._runs import RunRecord
from mlplatform.orchestration._trigger import TRIGGER_ENV

logger = logging.getLogger(__name__)

_ERROR_TAIL_LINES = 25


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended.

    Attributes:
        status: ``succeeded`` or ``failed``.
        run_id: The Metaflow run id, if the run started.
        error: Why it failed.
        duration_s: How long it ran, if known.
        retry: Whether another attempt can help (not for a flow that does not load).
    """

    status: Literal["succeeded", "failed"]
    run_id: str | None
    error: str | None = None
    duration_s: float | None = None
    retry: bool = True


def launch_options(
    flow: FlowDefinition, record: RunRecord
) -> tuple[dict[str, Any], dict[str, str]]:
    """Runner top-level options and environment for ``record``'s run of ``flow``."""
    top_level: dict[str, Any] = {}
    env: dict[str, str] = {}
    if record.branch and flow.project and not flow.fixed_branch:
        top_level, env = branch_options(record.branch)
    env[TRIGGER_ENV] = json.dumps(record.triggers)
    # @trigger_on_finish: Metaflow's own --trigger option sets current.trigger.
    upstream_runs = [
        f"{event['payload']['flow_name']}/{event['payload']['run_id']}"
        for event in record.triggers
        if event["name"].startswith(FINISH_PREFIX)
        and event["payload"].get("flow_name")
        and event["payload"].get("run_id")
    ]
    if upstream_runs and any(d.kind == "run" for d in flow.dependencies):
        top_level["trigger"] = upstream_runs
    return top_level, env


async def launch(
    flow: FlowDefinition,
    record: RunRecord,
    *,
    claim: Path,
    show_output: bool,
    on_started: Callable[[str], None],
    after_runner: Callable[[], None],
) -> Outcome:
    """Run ``record`` through `metaflow.Runner` and wait for it to end.

    Args:
        flow: The flow to run.
        record: Its run record (parameters, branch, triggering events).
        claim: The launch claim the run takes before its first step.
        show_output: Stream the run's output to this process's console.
        on_started: Called with the run id as soon as Metaflow has one.
        after_runner: Called once the Runner exists (it takes over SIGINT; the caller
            takes it back).

    Raises:
        asyncio.CancelledError: Cancelled; the run is stopped first.
    """
    from metaflow import Runner

    started = time.monotonic()
    run_id: str | None = None
    runner = None
    executing = None
    try:
        top_level, env = launch_options(flow, record)
        env[_claims.CLAIM_ENV] = str(claim)
        runner = Runner(
            str(flow.file),
            show_output=show_output,
            env=env,
            cwd=str(flow.file.parent),
            **top_level,
        )
        after_runner()
        executing = await runner.async_run(
            tags=[f"mlp_trigger:{record.event_name}"[:500]], **record.parameters
        )
        run_id = str(executing.run.id)
        on_started(run_id)
        logger.info(
            "started %s/%s (%s, attempt %d)", flow.name, run_id, record.event_name, record.attempt
        )
        await executing.wait()
        elapsed = time.monotonic() - started
        if executing.status == "successful":
            return Outcome("succeeded", run_id, duration_s=elapsed)
        return Outcome("failed", run_id, _log_tail(executing), elapsed)
    except asyncio.CancelledError:
        if executing is not None and executing.returncode is None:
            executing.command_obj.kill()
        raise
    except Exception as error:
        return Outcome(
            "failed",
            run_id,
            f"{type(error).__name__}: {error}",
            time.monotonic() - started,
            retry=not isinstance(error, FlowDefinitionError | TypeError | ValueError),
        )
    finally:
        if runner is not None:
            runner.cleanup()


async def wait_until_released(claim: Path, poll_s: float) -> None:
    """Wait until the run holding ``claim`` has ended."""
    while (state := _claims.inspect(claim)) is not None and state.alive:
        await asyncio.sleep(poll_s)


def ended_run_outcome(
    settings: Settings, flow: str, run_id: str | None, *, context: str
) -> Outcome:
    """The outcome of a run that has ended, from Metaflow's record of it.

    Args:
        settings: The profile whose Metaflow metadata records the run.
        flow: The flow name.
        run_id: The run id (None if it is not known).
        context: What the orchestrator knows, for the error of a run that did not succeed.
    """
    if not run_id:
        return Outcome("failed", None, f"{context}; the run never started")
    try:
        from metaflow import Run

        config = metaflow_config(settings)  # where this profile's runs are recorded
        where = config.get("DATASTORE_SYSROOT_LOCAL") or config["SERVICE_URL"]
        metadata = f"{config['DEFAULT_METADATA']}@{where}"
        run = Run(f"{flow}/{run_id}", _namespace_check=False, _current_metadata=metadata)
        if run.successful:
            return Outcome("succeeded", run_id, duration_s=_duration(run))
        reason = "the run did not finish (its end step never succeeded)"
    except Exception as error:
        logger.warning("cannot read the Metaflow record of %s/%s: %s", flow, run_id, error)
        reason = f"Metaflow has no readable record of it ({type(error).__name__}: {error})"
    return Outcome("failed", run_id, f"{context}; {reason}")


def _duration(run: Any) -> float | None:
    finished = run.finished_at
    return (finished - run.created_at).total_seconds() if finished else None


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
