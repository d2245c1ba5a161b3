"""Named environments on Kubernetes (compiled for Argo Workflows in the tests, not run)."""

from metaflow import FlowSpec, kubernetes, named_env, step


class RemoteEnvFlow(FlowSpec):
    @kubernetes(image="python:3.11")
    @named_env(name="tests/static/six-1.16:v1")
    @step
    def start(self):
        self.env_name = "tests/static/six-1.16:v1"
        self.next(self.inside)

    @kubernetes(image="python:3.11")
    @named_env(from_artifact="env_name")
    @step
    def inside(self):
        self.next(self.end)

    @kubernetes(image="python:3.11")
    @step
    def end(self):
        pass


if __name__ == "__main__":
    RemoteEnvFlow()
