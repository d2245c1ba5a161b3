"""Title engagement by scikit-learn 1.5's HistGradientBoostingRegressor, in its own environment.

    uv run pipelines/explainers/model_gradient_boosting.py run [--sample_rows 10000 --trees 200]

The steps are `explainers.ModelFlow`'s (start -> train in the named environment -> end); this
file names the model: ``models.json``'s ``gradient_boosting`` entry, whose environment pins
``scikit-learn==1.5.2``, ``numpy==1.26.4``.
Each successful run's finish triggers GradientBoostingExplainerFlow.
"""

from pathlib import Path

import explainers as ex
from metaflow import Config, FlowSpec


# FlowSpec is named as well: the orchestrator finds flow files by `class Name(...FlowSpec...)`.
class GradientBoostingModelFlow(ex.ModelFlow, FlowSpec):
    """Train the gradient_boosting engagement model in its own named environment."""

    MODEL = "gradient_boosting"
    models = Config(
        "models",
        default=str(Path(__file__).resolve().with_name("models.json")),
        parser=ex.flow_models_config,
        plain=True,
        help="Model flows' configuration (JSON): input table, environments, hyperparameters.",
    )


if __name__ == "__main__":
    GradientBoostingModelFlow()
