"""Second flow of the example chain: started when `IngestFlow` finishes."""

from metaflow import FlowSpec, current, project, step, trigger_on_finish

from mlplatform.orchestration import current_trigger


@project(name="mlp_example")
@trigger_on_finish(flow="IngestFlow")
class ReportFlow(FlowSpec):
    """Summarise the titles of the IngestFlow run that triggered this run."""

    @step
    def start(self):
        upstream = current.trigger.run
        self.upstream_pathspec = upstream.pathspec
        self.upstream_count = upstream.data.count
        event = current_trigger()
        self.trigger_name = event.name
        self.trigger_run = event.run_pathspec
        self.branch = current.branch_name
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ReportFlow()
