"""@named_env(from_artifact=...) naming an artifact that is missing or not a name."""

from metaflow import FlowSpec, Parameter, named_env, step


class BadArtifactFlow(FlowSpec):
    value = Parameter("value", default="", help="What to store as env_name ('' stores none).")

    @step
    def start(self):
        if self.value:
            self.env_name = self.value
        self.next(self.inside)

    @named_env(from_artifact="env_name")
    @step
    def inside(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BadArtifactFlow()
