"""Title engagement by a LightGBM booster (``lightgbm.train``).

Its environment pins ``lightgbm==4.6.0``, ``numpy==2.2.6``.

    uv run pipelines/explainers/model_lightgbm.py run [--sample_rows 10000 --trees 200]

`explainers.ModelFlow`'s steps for ``models.json``'s ``lightgbm`` entry; each successful run's
finish triggers LightGBMExplainerFlow.
"""

import explainers as ex
from metaflow import FlowSpec


# FlowSpec is named as well: the orchestrator finds flow files by `class Name(...FlowSpec...)`.
class LightGBMModelFlow(ex.ModelFlow, FlowSpec):
    """Train the lightgbm engagement model in its own named environment."""

    MODEL = "lightgbm"


if __name__ == "__main__":
    LightGBMModelFlow()
