"""The nightly integration run as a scheduled flow, for production.

    uv run mlp deploy platform/nightly_flow.py --production   # Argo CronWorkflow, 02:00 UTC
    uv run platform/nightly_flow.py run --size small          # the same, here

One step runs ``mlp nightly`` (`mlplatform.nightly.run_nightly`) inside its pod: each
pipeline's hook runs on a fresh local profile in the pod's scratch space, exactly as on a
laptop, so the run tests the pipelines' code and the platform's local layers, not the
production stores. The report is stored as the run's ``report`` artifact and shown as its
card; a failed check fails the run, so Argo's and Metaflow's failure alerts fire.
"""

import json

from metaflow import FlowSpec, Parameter, card, current, project, resources, schedule, step

from mlplatform.nightly import report_document, run_nightly


@project(name="mlp_nightly")
@schedule(cron="0 2 * * *")
class NightlyFlow(FlowSpec):
    """Run every pipeline's nightly hook and keep the report."""

    size = Parameter("size", default="default", help="small | default | large")

    @card(type="blank")
    @resources(cpu=2, memory=8192)
    @step
    def start(self):
        """Run the hooks; the HTML report becomes the card."""
        from metaflow.cards import Markdown

        report = run_nightly(size=self.size)
        self.report = report_document(report)
        current.card.append(Markdown(f"# mlp nightly: {'passed' if report.passed else 'FAILED'}"))
        current.card.append(Markdown(f"```\n{json.dumps(self.report['failures'], indent=1)}\n```"))
        if not report.passed:
            raise RuntimeError(f"nightly checks failed: {'; '.join(report.failures())}")
        self.next(self.end)

    @step
    def end(self):
        """Done: every check passed."""


if __name__ == "__main__":
    NightlyFlow()
