"""Fails on its first attempt (a marker file records it), succeeds on the retry."""

import os
from pathlib import Path

from metaflow import FlowSpec, step, trigger


@trigger(event="nightly")
class FlakyFlow(FlowSpec):
    @step
    def start(self):
        marker = Path(os.environ["MLP_TEST_FLAKY_MARKER"])
        if not marker.exists():
            marker.write_text("failed once")
            raise RuntimeError("flaky on purpose: the first attempt fails")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    FlakyFlow()
