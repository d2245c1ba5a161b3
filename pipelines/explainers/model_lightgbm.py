"""Title engagement by a LightGBM booster (``lightgbm.train``), in its own environment.

    uv run pipelines/explainers/model_lightgbm.py run [--sample_rows 10000 --trees 200]

The steps are `explainers.ModelFlow`'s (start -> train in the named environment -> end); this
file names the model: ``models.json``'s ``lightgbm`` entry, whose environment pins
``lightgbm==4.6.0``, ``numpy==2.2.6``.
Each successful run's finish triggers LightGBMExplainerFlow.
"""

from pathlib import Path

import explainers as ex
from metaflow import Config, FlowSpec


# FlowSpec is named as well: the orchestrator finds flow files by `class Name(...FlowSpec...)`.
class LightGBMModelFlow(ex.ModelFlow, FlowSpec):
    """Train the lightgbm engagement model in its own named environment."""

    MODEL = "lightgbm"
    models = Config(
        "models",
        default=str(Path(__file__).resolve().with_name("models.json")),
        parser=ex.flow_models_config,
        plain=True,
        help="Model flows' configuration (JSON): input table, environments, hyperparameters.",
    )


if __name__ == "__main__":
    LightGBMModelFlow()
