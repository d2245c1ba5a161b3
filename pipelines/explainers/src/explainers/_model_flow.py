"""The steps every model flow runs; each model flow file is a subclass naming its model.

start (workspace environment): register the model's named environment from ``models.json``,
seed or pin ``explainers.title_engagement``, split it -> train (``@named_env``: inside the
model's own environment) -> end. The run stores the model contract (`MODEL_ARTIFACTS`): the
model, its features, holdout metrics, its libraries' versions and its environment (name +
lock). A subclass sets ``MODEL``, its entry in ``models.json``: the ``models`` Config,
by default the ``models.json`` beside the flow files (two folders above this package).
"""

from __future__ import annotations

import logging
from pathlib import Path

from metaflow import Config, FlowSpec, Parameter, environment, named_env, step

from explainers._config import flow_models_config
from explainers._train import train_model

__all__ = ["ModelFlow"]

logger = logging.getLogger(__name__)

DEFAULT_MODELS_CONFIG = str(Path(__file__).resolve().parents[2] / "models.json")


class ModelFlow(FlowSpec):
    """Train one model of ``models.json`` in its own named environment."""

    MODEL = ""  # the subclass's entry in models.json

    models = Config(
        "models",
        default=DEFAULT_MODELS_CONFIG,
        parser=flow_models_config,
        plain=True,
        help="Model flows' configuration (JSON): input table, environments, hyperparameters.",
    )
    sample_rows = Parameter(
        "sample_rows", default=10_000, type=int, help="Titles seeded when the table is missing."
    )
    seed = Parameter("seed", default=0, type=int, help="Seed of the sample and the model.")
    trees = Parameter(
        "trees", default=0, type=int, help="Trees / boosting rounds (0: models.json; not ridge)."
    )

    @step
    def start(self):
        """Register the model's environment; pin and split its training data."""
        # Imported here: it needs the workspace (pyarrow, the catalog), which the model's own
        # environment, where `train` imports this module too, does not hold.
        from explainers._steps import prepare_model_run

        inputs = prepare_model_run(
            self.models, self.MODEL, sample_rows=self.sample_rows, seed=self.seed, trees=self.trees
        )
        self.model_type = inputs.model_type
        self.hyperparameters = inputs.hyperparameters
        self.environment_name = inputs.environment_name
        self.environment_lock = inputs.environment_lock
        self.training_data = inputs.training_data
        self.training_data_ref = inputs.training_data_ref
        self.feature_names = inputs.feature_names
        self.next(self.train)

    # metaflow.Runner (and so the orchestrator) puts the workspace's site-packages on
    # PYTHONPATH, ahead of the named environment's own: clear it, or the step would import the
    # workspace's scikit-learn instead of the environment's.
    @environment(vars={"PYTHONPATH": ""})
    @named_env(from_artifact="environment_name")
    @step
    def train(self):
        """Fit and score the model inside its own environment."""
        trained = train_model(
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
