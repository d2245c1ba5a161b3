"""Runs when SlowFlow finishes."""

import os
from pathlib import Path

from metaflow import FlowSpec, step, trigger_on_finish


@trigger_on_finish(flow="SlowFlow")
class AfterSlowFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        with (Path(os.environ["MLP_TEST_CRASH_DIR"]) / "finished").open("a") as finished:
            finished.write("AfterSlowFlow\n")


if __name__ == "__main__":
    AfterSlowFlow()
