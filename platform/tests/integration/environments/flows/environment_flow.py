"""Step 1 builds an environment (a captured base + one extra package); the foreach steps run
inside it; the end step runs in the flow's own environment again."""

import sys

from metaflow import FlowSpec, Parameter, current, named_env, step


class EnvironmentFlow(FlowSpec):
    base_name = Parameter("base_name", help="A registered environment to capture as the base.")

    @step
    def start(self):
        from mlplatform.environments import build, capture, compose, lookup, register

        base = capture(str(build(lookup(self.base_name)).python))  # what a model flow stores
        lock = compose(base, ["termcolor==2.4.0"])
        self.explainer_env = f"tests/environment-flow/run-{current.run_id}:v1"
        register(self.explainer_env, lock)
        self.shards = [0, 1, 2]
        self.next(self.inside, foreach="shards")

    @named_env(from_artifact="explainer_env")
    @step
    def inside(self):
        from importlib.metadata import version

        import six
        import termcolor  # noqa: F401 (only this environment has it)

        self.python = sys.executable
        self.versions = {"six": six.__version__, "termcolor": version("termcolor")}
        self.next(self.join)

    @step
    def join(self, inputs):
        self.pythons = sorted({i.python for i in inputs})
        self.versions = [i.versions for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        import six

        self.end_python = sys.executable
        self.end_six = six.__version__


if __name__ == "__main__":
    EnvironmentFlow()
