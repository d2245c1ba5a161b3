"""A step with resource hints; the same file runs locally and compiles for Kubernetes."""

from metaflow import FlowSpec, resources, step


class ResourceFlow(FlowSpec):
    @resources(cpu=2, memory=6000)
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ResourceFlow()
