"""ExplainerFlow for every finished GradientBoostingModelFlow run (its finish event triggers it).

Metaflow's ``@trigger_on_finish(flows=[A, B, C])`` waits for all of A, B and C (an Argo
sensor's dependencies are conjunctive, and the local orchestrator does the same), so one flow
cannot start on any one of three: each model flow gets this thin subclass of ExplainerFlow,
with ExplainerFlow's steps and parameters, triggered by that model flow alone.
"""

from flow import ExplainerFlow
from metaflow import FlowSpec, trigger_on_finish


# FlowSpec is named as well: the orchestrator finds flow files by `class Name(...FlowSpec...)`.
@trigger_on_finish(flow="GradientBoostingModelFlow")
class GradientBoostingExplainerFlow(ExplainerFlow, FlowSpec):
    """Explain each successful GradientBoostingModelFlow run (or any --model-run)."""


if __name__ == "__main__":
    GradientBoostingExplainerFlow()
