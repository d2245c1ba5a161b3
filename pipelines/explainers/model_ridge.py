"""Title engagement by scikit-learn 1.9's Ridge regression.

Its environment pins ``scikit-learn==1.9.1``, ``numpy==2.4.6``.

    uv run pipelines/explainers/model_ridge.py run [--sample_rows 10000 --trees 200]

`explainers.ModelFlow`'s steps for ``models.json``'s ``ridge`` entry; each successful run's
finish triggers RidgeExplainerFlow.
"""

import explainers as ex
from metaflow import FlowSpec


# FlowSpec is named as well: the orchestrator finds flow files by `class Name(...FlowSpec...)`.
class RidgeModelFlow(ex.ModelFlow, FlowSpec):
    """Train the ridge engagement model in its own named environment."""

    MODEL = "ridge"


if __name__ == "__main__":
    RidgeModelFlow()
