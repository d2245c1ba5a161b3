"""A @kubernetes step started when UpstreamFlow finishes (compiled to Argo JSON)."""

from metaflow import FlowSpec, kubernetes, project, step, trigger_on_finish


@project(name="demo")
@trigger_on_finish(flow="UpstreamFlow")
class K8sFlow(FlowSpec):
    @kubernetes(cpu=2, memory=4096)
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    K8sFlow()
