"""Pinned to the production branch: only production events start it."""

from metaflow import FlowSpec, current, namespaced_event_name, project, step, trigger


@project(name="iso", production=True)
@trigger(event=namespaced_event_name("ready"))
class ProdOnlyFlow(FlowSpec):
    @step
    def start(self):
        self.branch = current.branch_name
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ProdOnlyFlow()
