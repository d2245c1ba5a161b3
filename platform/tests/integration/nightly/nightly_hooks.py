"""Small nightly hooks for the runner's tests (loaded through MLPLATFORM_NIGHTLY_HOOKS).

A hook that starts a child writes its pid to ``$NIGHTLY_TEST_PIDS/<pipeline>.pid``, so the
test can check the child is stopped with the hook's process group.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def _child(context) -> None:
    child = subprocess.Popen(["sleep", "600"])
    Path(os.environ["NIGHTLY_TEST_PIDS"], f"{context.pipeline}.pid").write_text(str(child.pid))


def passing(context) -> None:
    with context.stage("count the rows"):
        assert Path(os.environ["MLP_HOME"]) == context.home
        context.at_least("answer", 42, 40)
        context.figure("rows", context.sized(small=7, default=70), " rows")


def failing_check(context) -> None:
    context.at_most("latency p99", 12.5, 10, unit=" ms")


def raising(context) -> None:
    with context.stage("read the table"):
        raise ValueError("the table is empty")


def leaving_a_child(context) -> None:
    _child(context)
    context.check("started a child", True)


def sleeping(context) -> None:
    _child(context)
    context.check("started a child", True)
    time.sleep(float(os.environ.get("NIGHTLY_TEST_SLEEP", "600")))
