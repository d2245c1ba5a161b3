"""Holds its start step until the test releases it, so the test can crash the orchestrator."""

import os
import time
from pathlib import Path

from metaflow import FlowSpec, step, trigger


@trigger(event="crash_go")
class SlowFlow(FlowSpec):
    @step
    def start(self):
        folder = Path(os.environ["MLP_TEST_CRASH_DIR"])
        # The task's parent is the run's Metaflow runtime process.
        with (folder / "started").open("a") as started:
            started.write(f"{os.getpid()} {os.getppid()}\n")
        deadline = time.monotonic() + 300
        while not (folder / "release").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the test never released SlowFlow")
            time.sleep(0.1)
        self.next(self.end)

    @step
    def end(self):
        with (Path(os.environ["MLP_TEST_CRASH_DIR"]) / "finished").open("a") as finished:
            finished.write("SlowFlow\n")


if __name__ == "__main__":
    SlowFlow()
