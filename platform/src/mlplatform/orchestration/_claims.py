"""Launch claims: what a restarted orchestrator needs to know about the runs it launched.

The orchestrator gives each run it starts a claim file (``MLP_RUN_CLAIM``). The run's
Metaflow runtime takes the claim before its first step (the platform's ``mlp_events``
decorator, in ``runtime_init``): it creates the file atomically with its run id and holds
an exclusive lock on it for as long as it lives; the operating system releases the lock
when the process ends, however it ends (``kill -9`` included).

After a crash the orchestrator looks at the claim of every run it had in flight:

- held: the run is alive; the orchestrator adopts it and waits until the lock is free;
- taken and free: the run has ended; Metaflow's record says how;
- absent: the run never reached its first step. The orchestrator closes the claim (creates
  it first, with no run id) so that a launch that is only slow can never start late, and
  starts the attempt again.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlplatform.orchestration._errors import OrchestrationError

CLAIM_ENV = "MLP_RUN_CLAIM"

# Claims this process holds (a runtime calls `take` once per step decorator); kept open
# so that the lock lives as long as the process.
_HELD: dict[Path, IO[str]] = {}


@dataclass(frozen=True)
class ClaimState:
    """What a claim file says.

    Attributes:
        run_id: The Metaflow run that took the claim; None if the orchestrator closed it
            before any run did.
        alive: The run's runtime process still holds it.
    """

    run_id: str | None
    alive: bool


def claim_path(home: Path, token: str) -> Path:
    """The claim file of the launch ``token`` in a state folder."""
    return home / "run-claims" / f"{token}.json"


def _create(path: Path, content: dict[str, object], *, keep_locked: bool) -> IO[str] | None:
    """Create ``path`` with ``content`` atomically, unless it exists (then return None).

    The file is written under a private name and linked into place, so a reader never sees
    it half written; with ``keep_locked`` the returned handle holds an exclusive lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    handle = staging.open("w+", encoding="utf-8")
    try:
        if keep_locked:
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps(content))
        handle.flush()
        os.fsync(handle.fileno())
        os.link(staging, path)
    except FileExistsError:
        handle.close()
        return None
    finally:
        staging.unlink(missing_ok=True)
    if not keep_locked:
        handle.close()
    return handle


def take(path: Path, run_id: str) -> None:
    """Take the claim for the run ``run_id`` and hold it until this process ends.

    Raises:
        OrchestrationError: The orchestrator closed this launch after a restart (and runs
            the attempt again): this run must not run.
    """
    path = Path(path)
    if path in _HELD:
        return
    handle = _create(path, {"run_id": run_id, "pid": os.getpid()}, keep_locked=True)
    if handle is None:
        raise OrchestrationError(
            f"launch claim {path} was closed by a restarted orchestrator, which starts this "
            f"attempt again; run {run_id} stops here so that the flow runs once"
        )
    _HELD[path] = handle


def inspect(path: Path) -> ClaimState | None:
    """The state of a claim, or None if nobody took or closed it."""
    try:
        with Path(path).open(encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                alive = True
            else:
                alive = False
                fcntl.flock(handle, fcntl.LOCK_UN)
            run_id = json.loads(handle.read()).get("run_id")
    except FileNotFoundError:
        return None
    return ClaimState(run_id=run_id, alive=alive)


def close(path: Path) -> ClaimState:
    """The state of an in-flight launch's claim; a claim nobody took is closed for good."""
    if _create(Path(path), {"run_id": None}, keep_locked=False) is not None:
        return ClaimState(run_id=None, alive=False)
    # Taken before: by the run (or closed by an earlier restart).
    return inspect(path) or ClaimState(run_id=None, alive=False)


def release(path: Path) -> None:
    """Forget the claim of a settled run."""
    Path(path).unlink(missing_ok=True)
