"""Run every pipeline's nightly hook, each in its own process group, and collect the results.

``run_nightly`` takes the profile's nightly lock (``<home>/nightly.lock``: one run at a time;
a lock left by a killed run is recovered and that run's leftover processes stopped), starts
up to ``jobs`` hooks at once (`mlplatform.nightly._worker`), each with ``MLP_HOME`` set to a
fresh folder under ``<home>/nightly/<timestamp>/``, prints their progress lines as they come
(``[m:ss] pipeline  line``), and stops each hook's whole process group when it ends, times
out, or the run is interrupted. The report goes to ``<home>/reports/``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlplatform.config import Settings, load_settings
from mlplatform.nightly._context import SIZES, Check
from mlplatform.nightly._errors import NightlyBusyError, NightlyError, UnknownPipelineError

__all__ = [
    "NIGHTLY_ENTRY_POINTS",
    "NightlyReport",
    "PipelineResult",
    "nightly_hooks",
    "run_nightly",
]

NIGHTLY_ENTRY_POINTS = "mlplatform.nightly"

#: Seconds one pipeline's hook may run, by size, before its process group is killed.
TIMEOUTS_S = {"small": 420.0, "default": 900.0, "large": 3600.0}


#: For tests: ``name=module:function,...`` replaces the installed hooks.
HOOKS_ENV = "MLPLATFORM_NIGHTLY_HOOKS"


def nightly_hooks() -> dict[str, str]:
    """Pipeline name -> ``"module:function"`` of every installed nightly hook."""
    from importlib.metadata import entry_points

    if os.environ.get(HOOKS_ENV):
        pairs = (item.split("=", 1) for item in os.environ[HOOKS_ENV].split(","))
        return dict(sorted((name.strip(), spec.strip()) for name, spec in pairs))
    return {
        point.name: point.value
        for point in sorted(entry_points(group=NIGHTLY_ENTRY_POINTS), key=lambda p: p.name)
    }


@dataclass
class PipelineResult:
    """What one pipeline's nightly hook did.

    Attributes:
        pipeline: Its name.
        status: ``"passed"``, ``"failed"`` (a check failed or the hook raised), ``"timeout"``,
            or ``"interrupted"``.
        seconds: Wall time of its hook.
        checks: Its checks, in order.
        figures: Its key figures (``name``, ``value``, ``unit``).
        stages: Its stages (``name``, ``seconds``, ``ok``).
        cards: Metaflow cards copied into the report (``run``, ``step``, ``path``).
        error: Why the hook ended early, if it did.
        traceback: The end of the hook's traceback, if it raised.
        log: Its output, relative to the report's folder.
    """

    pipeline: str
    status: str
    seconds: float
    checks: list[Check] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    traceback: str = ""
    log: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def failures(self) -> list[str]:
        """``pipeline: what failed`` for each failed check (or the hook's error)."""
        failed = [f"{self.pipeline}: {check.name}" for check in self.checks if not check.passed]
        if self.error:
            failed.append(f"{self.pipeline}: {self.error}")
        return failed


@dataclass
class NightlyReport:
    """One nightly run.

    Attributes:
        started_at: When it started (UTC, ISO 8601).
        size: The sample size it ran at.
        seconds: Its wall time.
        pipelines: One result per pipeline, in name order.
        interrupted: Ctrl-C stopped it (the hooks still running were stopped).
        json_path: The JSON report.
        html_path: The HTML report (readable on its own; cards beside it).
    """

    started_at: str
    size: str
    seconds: float
    pipelines: list[PipelineResult]
    interrupted: bool = False
    json_path: Path | None = None
    html_path: Path | None = None

    @property
    def passed(self) -> bool:
        return (
            not self.interrupted
            and bool(self.pipelines)
            and all(result.passed for result in self.pipelines)
        )

    def failures(self) -> list[str]:
        return [failure for result in self.pipelines for failure in result.failures()]


class _Lock:
    """``<home>/nightly.lock``: an flock held for the run, with the holder's pid and groups.

    The OS drops an flock when its holder dies, so a lock left by a killed run is free; the
    file still names that run's process groups, which are stopped before this run starts.
    """

    def __init__(self, path: Path, echo: Callable[[str], None]):
        self.path = path
        self.echo = echo
        self.groups: list[int] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read()
            os.close(self._fd)
            raise NightlyBusyError(
                f"another mlp nightly is running (pid {holder.get('pid', '?')}, started "
                f"{holder.get('started_at', '?')}; lock {path}); wait for it to finish or stop "
                f"it with kill {holder.get('pid', '<pid>')}"
            ) from None
        self._recover(self._read())
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._save()

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def _recover(self, stale: dict[str, Any]) -> None:
        if not stale.get("pid"):
            return
        leftovers = [group for group in stale.get("groups", []) if _any_in_group(group)]
        self.echo(
            f"note: the nightly run of pid {stale['pid']} (started {stale.get('started_at')}) "
            f"did not finish; its lock is recovered"
            + (f" and its {len(leftovers)} leftover process group(s) stopped" if leftovers else "")
        )
        for group in leftovers:
            _kill_group(group)

    def _save(self) -> None:
        state = {"pid": os.getpid(), "started_at": self._started_at, "groups": self.groups}
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(state).encode(), 0)

    def add_group(self, group: int) -> None:
        self.groups.append(group)
        self._save()

    def release(self) -> None:
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def _any_in_group(group: int) -> bool:
    """A live (not zombie) process of the group is left."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] not in ("Z", "X"):
            return True
    return False


def _kill_group(group: int, grace_s: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``grace_s``."""
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _any_in_group(group):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def _worker_env(home: Path, workdir: Path) -> dict[str, str]:
    """A fresh local profile: no MLP_* or Metaflow setting from the caller's shell leaks in."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MLP_")
        and not (name.startswith("METAFLOW_") and name != "METAFLOW_USER")
    }
    config = workdir / "mlp.toml"
    config.write_text('profile = "local"\n')
    env.update(MLP_HOME=str(home), MLP_CONFIG=str(config), PYTHONUNBUFFERED="1")
    env.setdefault("METAFLOW_USER", os.environ.get("USER") or "nightly")
    return env


class _Hook:
    """One pipeline's worker process and the files it writes."""

    def __init__(self, pipeline: str, spec: str, size: str, run_dir: Path, report_dir: Path):
        self.pipeline = pipeline
        self.spec = spec
        self.size = size
        self.workdir = run_dir / pipeline
        self.home = self.workdir / "mlp"
        self.records = report_dir / f"{pipeline}.records.jsonl"
        self.log = report_dir / f"{pipeline}.log"
        self.cards = report_dir / "cards"
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.ended: float | None = None
        self.status = ""
        self.reader: threading.Thread | None = None

    def start(self, fail: bool, echo: Callable[[str], None], clock: Callable[[], str]) -> int:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "mlplatform.nightly._worker",
            self.pipeline,
            self.spec,
            "--size",
            self.size,
            "--records",
            str(self.records),
            "--cards",
            str(self.cards),
            *(["--fail"] if fail else []),
        ]
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=_worker_env(self.home, self.workdir),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped as a whole
            text=True,
            errors="replace",
        )
        self.reader = threading.Thread(target=self._relay, args=(echo, clock), daemon=True)
        self.reader.start()
        return self.process.pid

    def _relay(self, echo: Callable[[str], None], clock: Callable[[], str]) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.log.open("a") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                shown = line.rstrip()
                # Progress lines of the hook; Metaflow's own run output stays in the log.
                if shown[:5] in ("...  ", "done ", "ok   ", "FAIL ", "     ", "note:"):
                    echo(f"[{clock()}] {self.pipeline:<17} {shown}")

    def finish(self, status: str) -> None:
        assert self.process is not None
        self.ended = time.monotonic()
        _kill_group(self.process.pid)  # whatever the hook left running
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.reader is not None:
            self.reader.join(timeout=10)
        self.status = status

    def result(self, report_dir: Path) -> PipelineResult:
        result = PipelineResult(
            pipeline=self.pipeline,
            status="passed",
            seconds=round((self.ended or time.monotonic()) - self.started, 1),
            log=str(self.log.relative_to(report_dir)),
        )
        if self.records.exists():
            for line in self.records.read_text().splitlines():
                record = json.loads(line)
                kind = record.pop("kind")
                if kind == "check":
                    result.checks.append(Check(**record))
                elif kind == "figure":
                    result.figures.append(record)
                elif kind == "stage":
                    result.stages.append(record)
                elif kind == "card":
                    result.cards.append(record)
                elif kind == "error":
                    result.error, result.traceback = record["error"], record["traceback"]
        if self.status == "timeout":
            result.error = result.error or "timed out; its processes were stopped"
        elif self.status == "interrupted":
            result.error = result.error or "interrupted; its processes were stopped"
        elif self.status == "exited" and not result.error and self.process.returncode != 0:
            result.error = f"its process exited with code {self.process.returncode}"
        if self.status in ("timeout", "interrupted"):
            result.status = self.status
        elif result.error or not all(check.passed for check in result.checks):
            result.status = "failed"
        elif not result.checks:
            result.status = "failed"
            result.error = "it recorded no check"
        return result


def _compile_sources(specs: Sequence[str]) -> None:
    """Write the bytecode of the platform's and the hooks' packages once.

    They are installed editable, and where ``PYTHONDONTWRITEBYTECODE`` is set every flow task
    and service worker the hooks start would compile them again.
    """
    import compileall
    import importlib.util

    import mlplatform

    folders = {Path(mlplatform.__file__).parent}
    for spec in specs:
        found = importlib.util.find_spec(spec.partition(":")[0].split(".")[0])
        if found is not None and found.submodule_search_locations:
            folders.update(Path(f) for f in found.submodule_search_locations)
    for folder in sorted(folders):
        compileall.compile_dir(folder, quiet=1, workers=0)


def run_nightly(
    *,
    size: str = "default",
    only: Sequence[str] = (),
    keep: bool = False,
    jobs: int = 2,
    inject_failure: Sequence[str] = (),
    settings: Settings | None = None,
    echo: Callable[[str], None] = print,
    timeout_s: float | None = None,
) -> NightlyReport:
    """Run the nightly hooks of every installed pipeline (or of ``only``) and report.

    Args:
        size: ``small``, ``default`` or ``large`` sample data.
        only: Pipelines to run (default: every pipeline with a hook).
        keep: Keep each pipeline's state folder (tables, Metaflow runs) after the run.
        jobs: Hooks run at the same time.
        inject_failure: Pipelines whose hook fails at once (to test failure handling).
        settings: The invoking profile (its ``home`` holds the lock, state and reports).
        echo: Where progress lines go.
        timeout_s: Seconds each hook may run (default by size, `TIMEOUTS_S`).

    Raises:
        NightlyBusyError: Another nightly run holds this profile's lock.
        UnknownPipelineError: ``only`` or ``inject_failure`` names a pipeline without a hook.
    """
    if size not in SIZES:
        raise NightlyError(f"size {size!r} is not one of {list(SIZES)}")
    if jobs < 1:
        raise NightlyError(f"jobs = {jobs}: expected at least 1 hook at a time")
    hooks = nightly_hooks()
    for name in (*only, *inject_failure):
        if name not in hooks:
            raise UnknownPipelineError(
                f"no nightly hook for pipeline {name!r}; the installed ones are {sorted(hooks)} "
                f"(entry points of the group {NIGHTLY_ENTRY_POINTS!r})"
            )
    if not hooks:
        raise NightlyError(
            f"no pipeline has a nightly hook (entry point group {NIGHTLY_ENTRY_POINTS!r}); "
            "install the workspace with uv sync --all-packages"
        )
    selected = {name: spec for name, spec in hooks.items() if not only or name in only}
    settings = settings or load_settings()
    lock = _Lock(settings.home / "nightly.lock", echo)
    stamp = datetime.now(UTC)
    name = f"nightly-{stamp.strftime('%Y%m%dT%H%M%SZ')}"
    report_dir = settings.home / "reports" / name
    run_dir = settings.home / "nightly" / name
    report_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()

    def clock() -> str:
        seconds = int(time.monotonic() - began)
        return f"{seconds // 60}:{seconds % 60:02d}"

    _compile_sources(list(selected.values()))
    limit = timeout_s or TIMEOUTS_S[size]
    waiting = [_Hook(p, spec, size, run_dir, report_dir) for p, spec in selected.items()]
    running: list[_Hook] = []
    done: list[_Hook] = []
    interrupted = False
    echo(
        f"[{clock()}] mlp nightly --size {size}: {', '.join(selected)} ({jobs} at a time); "
        f"state under {run_dir}"
    )
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                hook = waiting.pop(0)
                lock.add_group(hook.start(hook.pipeline in inject_failure, echo, clock))
                running.append(hook)
            time.sleep(0.2)
            for hook in list(running):
                assert hook.process is not None
                if hook.process.poll() is not None:
                    hook.finish("exited")
                elif time.monotonic() - hook.started > limit:
                    echo(f"[{clock()}] {hook.pipeline:<17} FAIL timed out after {limit:.0f} s")
                    hook.finish("timeout")
                else:
                    continue
                running.remove(hook)
                done.append(hook)
    except KeyboardInterrupt:
        interrupted = True
        echo(f"[{clock()}] interrupted: stopping {', '.join(h.pipeline for h in running)}")
        for hook in running:
            hook.finish("interrupted")
        done.extend(running)
    finally:
        results = [hook.result(report_dir) for hook in sorted(done, key=lambda h: h.pipeline)]
        report = NightlyReport(
            started_at=stamp.isoformat(timespec="seconds"),
            size=size,
            seconds=round(time.monotonic() - began, 1),
            pipelines=results,
            interrupted=interrupted,
        )
        from mlplatform.nightly._report import write_report

        write_report(report, report_dir)
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        lock.release()
    return report
