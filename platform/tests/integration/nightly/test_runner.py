"""``mlp nightly`` as a real process over small hooks: results, reports, failures, the lock.

The hooks (`nightly_hooks.py`) replace the pipelines' through ``MLPLATFORM_NIGHTLY_HOOKS``, so
these tests take seconds; ``tests/integration/test_nightly.py`` runs the real pipelines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlplatform._pids import pid_alive

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
MLP = [sys.executable, "-c", "from mlplatform.cli import main; main()", "nightly"]


@pytest.fixture
def pids(tmp_path) -> Path:
    folder = tmp_path / "pids"
    folder.mkdir()
    return folder


def _env(pids: Path, hooks: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MLPLATFORM_NIGHTLY_HOOKS": ",".join(f"{n}=nightly_hooks:{f}" for n, f in hooks.items()),
        "PYTHONPATH": str(HERE),
        "NIGHTLY_TEST_PIDS": str(pids),
        **extra,
    }


def _nightly(pids, hooks, *args, timeout=120, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MLP, *args],
        env=_env(pids, hooks, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _report(mlp_home: Path) -> dict:
    (path,) = (mlp_home / "reports").glob("nightly-*.json")
    return json.loads(path.read_text())


def _child_pid(pids: Path, pipeline: str) -> int:
    return int((pids / f"{pipeline}.pid").read_text())


@pytest.mark.timeout(120)
def test_passing_hooks_give_exit_0_both_reports_and_a_table(mlp_home, pids):
    done = _nightly(pids, {"alpha": "passing", "beta": "passing"}, "--size", "small")
    assert done.returncode == 0, done.stderr
    assert "alpha" in done.stdout and "done count the rows in" in done.stdout
    assert "ok   answer = 42 (expected >= 40)" in done.stdout
    report = _report(mlp_home)
    assert report["passed"] and report["size"] == "small" and report["failures"] == []
    assert [p["pipeline"] for p in report["pipelines"]] == ["alpha", "beta"]
    alpha = report["pipelines"][0]
    assert alpha["checks"] == [
        {"name": "answer", "passed": True, "value": 42, "expected": ">= 40", "detail": ""}
    ]
    assert alpha["figures"] == [{"name": "rows", "value": 7, "unit": " rows"}]
    assert alpha["stages"][0]["name"] == "count the rows" and alpha["stages"][0]["ok"]
    html = Path(report_path := next((mlp_home / "reports").glob("nightly-*.html"))).read_text()
    assert 'mlp nightly — <span class="passed">passed</span>' in html
    assert f'href="{report_path.stem}/alpha.log"' in html
    assert f"report: {report_path}" in done.stdout
    assert not list((mlp_home / "nightly").iterdir())  # state removed without --keep


@pytest.mark.timeout(120)
def test_keep_keeps_each_pipelines_fresh_profile(mlp_home, pids):
    done = _nightly(pids, {"alpha": "passing"}, "--keep")
    assert done.returncode == 0, done.stderr
    (run,) = (mlp_home / "nightly").iterdir()
    assert (run / "alpha" / "mlp.toml").read_text() == 'profile = "local"\n'
    assert _report(mlp_home)["pipelines"][0]["figures"][0]["value"] == 70  # default size


@pytest.mark.timeout(120)
def test_a_failure_is_named_the_others_still_run_and_every_process_stops(mlp_home, pids):
    hooks = {
        "alpha": "passing",
        "broken": "raising",
        "injected": "passing",
        "leaky": "leaving_a_child",
        "slow": "failing_check",
    }
    done = _nightly(pids, hooks, "--size", "small", "--inject-failure", "injected")
    assert done.returncode == 1
    (last,) = done.stderr.strip().splitlines()[-1:]
    assert last.startswith("error: 3 check(s) failed: ")
    assert "broken: ValueError: the table is empty" in last
    assert "injected: RuntimeError: injected failure (mlp nightly --inject-failure)" in last
    assert "slow: latency p99" in last
    report = _report(mlp_home)
    status = {p["pipeline"]: p["status"] for p in report["pipelines"]}
    assert status == {
        "alpha": "passed",
        "broken": "failed",
        "injected": "failed",
        "leaky": "passed",
        "slow": "failed",
    }
    broken = next(p for p in report["pipelines"] if p["pipeline"] == "broken")
    assert broken["stages"] == [{"name": "read the table", "seconds": 0.0, "ok": False}]
    assert 'raise ValueError("the table is empty")' in broken["traceback"]
    assert not pid_alive(_child_pid(pids, "leaky"))  # stopped with the hook's process group


@pytest.mark.timeout(120)
def test_a_hook_past_its_timeout_is_stopped_and_reported(mlp_home, pids):
    start = time.monotonic()
    done = _nightly(pids, {"stuck": "sleeping"}, "--timeout", "3")
    assert done.returncode == 1
    assert time.monotonic() - start < 60
    assert "stuck: timed out; its processes were stopped" in done.stderr
    assert _report(mlp_home)["pipelines"][0]["status"] == "timeout"
    assert not pid_alive(_child_pid(pids, "stuck"))


def test_bad_arguments_get_one_line(mlp_home, pids):
    done = _nightly(pids, {"alpha": "passing"}, "--only", "alhpa")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: no nightly hook for pipeline 'alhpa'; the installed ones are ['alpha'] "
        "(entry points of the group 'mlplatform.nightly')"
    )
    done = _nightly(pids, {"alpha": "passing"}, "--jobs", "0")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: jobs = 0: expected at least 1 hook at a time"
    assert not (mlp_home / "reports").exists()


def _wait_for(predicate, timeout_s=60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


@pytest.mark.timeout(180)
def test_a_second_run_is_refused_and_a_killed_runs_lock_is_recovered(mlp_home, pids):
    first = subprocess.Popen(
        [*MLP, "--only", "stuck"],
        env=_env(pids, {"stuck": "sleeping"}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: (pids / "stuck.pid").exists())
        second = _nightly(pids, {"stuck": "sleeping"})
        assert second.returncode == 2
        assert second.stderr.startswith(
            f"error: another mlp nightly is running (pid {first.pid}, started "
        )
        assert f"wait for it to finish or stop it with kill {first.pid}" in second.stderr
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    leftover = _child_pid(pids, "stuck")
    assert pid_alive(leftover)  # the killed run could not stop its hook

    (pids / "stuck.pid").unlink()
    third = _nightly(pids, {"stuck": "passing"})
    assert third.returncode == 0, third.stderr
    assert f"note: the nightly run of pid {first.pid} (started " in third.stdout
    assert "did not finish; its lock is recovered and its 1 leftover process group(s) stopped" in (
        third.stdout
    )
    _wait_for(lambda: not pid_alive(leftover), timeout_s=15)


@pytest.mark.timeout(120)
def test_ctrl_c_stops_the_hooks_writes_the_report_and_exits_130(mlp_home, pids):
    run = subprocess.Popen(
        [*MLP, "--only", "stuck"],
        env=_env(pids, {"stuck": "sleeping"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(lambda: (pids / "stuck.pid").exists())
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted: stopping stuck" in out
    report = _report(mlp_home)
    assert report["interrupted"] and not report["passed"]
    assert report["pipelines"][0]["status"] == "interrupted"
    assert not pid_alive(_child_pid(pids, "stuck"))
