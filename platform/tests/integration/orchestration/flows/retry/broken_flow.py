"""Always fails."""

from metaflow import FlowSpec, Parameter, step, trigger


@trigger(event="nightly")
class AlwaysFailsFlow(FlowSpec):
    fail = Parameter("fail", default=True, type=bool)

    @step
    def start(self):
        if self.fail:
            raise ValueError("always fails on purpose")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    AlwaysFailsFlow()
