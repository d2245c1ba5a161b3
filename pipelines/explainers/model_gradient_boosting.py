"""Title engagement by scikit-learn 1.5's HistGradientBoostingRegressor, in its own environment.

    uv run pipelines/explainers/model_gradient_boosting.py run

start (workspace environment): register this model's named environment from ``models.json``
(``scikit-learn==1.5.2``, ``numpy==1.26.4``), seed or pin ``explainers.title_engagement``,
split it -> train (``@named_env``: inside that environment) -> end. The run stores the model,
its features, holdout metrics and its environment (name + lock); its finish triggers
GradientBoostingExplainerFlow.
"""

import logging
from pathlib import Path

import explainers as ex
from metaflow import Config, FlowSpec, Parameter, named_env, step

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("explainers.model_gradient_boosting")

MODEL = "gradient_boosting"  # this flow's entry in models.json
DEFAULT_CONFIG = str(Path(__file__).resolve().with_name("models.json"))


class GradientBoostingModelFlow(FlowSpec):
    """Train the gradient-boosting engagement model in its own named environment."""

    models = Config("models", default=DEFAULT_CONFIG, parser=ex.flow_models_config, plain=True)
    sample_rows = Parameter(
        "sample_rows", default=10_000, type=int, help="Titles seeded when the table is missing."
    )
    seed = Parameter("seed", default=0, type=int, help="Seed of the sample and the model.")
    trees = Parameter("trees", default=0, type=int, help="Boosting rounds (0: models.json).")

    @step
    def start(self):
        """Register the model's environment; pin and split its training data."""
        inputs = ex.prepare_model_run(
            self.models, MODEL, sample_rows=self.sample_rows, seed=self.seed, trees=self.trees
        )
        self.model_type = inputs.model_type
        self.hyperparameters = inputs.hyperparameters
        self.environment_name = inputs.environment_name
        self.environment_lock = inputs.environment_lock
        self.training_data = inputs.training_data
        self.training_data_ref = inputs.training_data_ref
        self.feature_names = inputs.feature_names
        self.next(self.train)

    @named_env(from_artifact="environment_name")
    @step
    def train(self):
        """Fit and score the model inside its own environment."""
        trained = ex.train_model(
            self.model_type, self.hyperparameters, self.training_data, seed=self.seed
        )
        self.model_bytes = trained.model_bytes
        self.holdout_metrics = trained.metrics
        self.library_versions = trained.library_versions
        self.training_python = trained.python
        self.next(self.end)

    @step
    def end(self):
        """Done: the model and its environment are this run's artifacts."""
        logger.info("%s in %s: %s", self.model_type, self.environment_name, self.holdout_metrics)


if __name__ == "__main__":
    GradientBoostingModelFlow()
