"""Title engagement by scikit-learn 1.5's HistGradientBoostingRegressor.

Its environment pins ``scikit-learn==1.5.2``, ``numpy==1.26.4``.

    uv run pipelines/explainers/model_gradient_boosting.py run [--sample_rows 10000 --trees 200]

`explainers.ModelFlow`'s steps for ``models.json``'s ``gradient_boosting`` entry; each
successful run's finish triggers GradientBoostingExplainerFlow.
"""

import explainers as ex
from metaflow import FlowSpec


# FlowSpec is named as well: the orchestrator finds flow files by `class Name(...FlowSpec...)`.
class GradientBoostingModelFlow(ex.ModelFlow, FlowSpec):
    """Train the gradient_boosting engagement model in its own named environment."""

    MODEL = "gradient_boosting"


if __name__ == "__main__":
    GradientBoostingModelFlow()
