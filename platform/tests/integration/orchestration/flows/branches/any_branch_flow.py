"""Runs on whichever branch its namespaced event names."""

from metaflow import FlowSpec, current, namespaced_event_name, project, step, trigger


@project(name="iso")
@trigger(event=namespaced_event_name("ready"))
class AnyBranchFlow(FlowSpec):
    @step
    def start(self):
        self.branch = current.branch_name
        self.trigger_name = current.trigger.event.name
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    AnyBranchFlow()
