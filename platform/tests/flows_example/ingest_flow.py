"""First flow of the example chain: started by the `titles_ready` event."""

from metaflow import FlowSpec, Parameter, current, project, step, trigger

from mlplatform.orchestration import current_trigger


@project(name="mlp_example")
@trigger(event={"name": "titles_ready", "parameters": {"region": "region", "rows": "rows"}})
class IngestFlow(FlowSpec):
    """Make `rows` sample titles for `region`."""

    region = Parameter("region", default="DE", help="Country code of the titles.")
    rows = Parameter("rows", default=3, type=int, help="How many titles to make.")

    @step
    def start(self):
        event = current_trigger()
        self.trigger_name = event.name if event else None
        self.trigger_payload = event.payload if event else None
        self.titles = [f"{self.region}-title-{index}" for index in range(self.rows)]
        self.branch = current.branch_name
        self.next(self.end)

    @step
    def end(self):
        self.count = len(self.titles)


if __name__ == "__main__":
    IngestFlow()
