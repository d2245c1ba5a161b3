"""One step in an environment named when the flow is written."""

import sys

from metaflow import FlowSpec, named_env, step


class StaticEnvFlow(FlowSpec):
    @named_env(name="tests/static/six-1.16:v1")
    @step
    def start(self):
        import six

        self.python = sys.executable
        self.six = six.__version__
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    StaticEnvFlow()
