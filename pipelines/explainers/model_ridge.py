"""Title engagement by scikit-learn 1.9's Ridge regression, in its own environment.

    uv run pipelines/explainers/model_ridge.py run [--sample_rows 10000 --trees 200]

The steps are `explainers.ModelFlow`'s (start -> train in the named environment -> end); this
file names the model: ``models.json``'s ``ridge`` entry, whose environment pins
``scikit-learn==1.9.1``, ``numpy==2.4.6``.
Each successful run's finish triggers RidgeExplainerFlow.
"""

from pathlib import Path

import explainers as ex
from metaflow import Config, FlowSpec


# FlowSpec is named as well: the orchestrator finds flow files by `class Name(...FlowSpec...)`.
class RidgeModelFlow(ex.ModelFlow, FlowSpec):
    """Train the ridge engagement model in its own named environment."""

    MODEL = "ridge"
    models = Config(
        "models",
        default=str(Path(__file__).resolve().with_name("models.json")),
        parser=ex.flow_models_config,
        plain=True,
        help="Model flows' configuration (JSON): input table, environments, hyperparameters.",
    )


if __name__ == "__main__":
    RidgeModelFlow()
