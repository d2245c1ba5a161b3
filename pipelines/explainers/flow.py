"""Explain a model run with SHAP, in an environment composed from the model's own.

    uv run pipelines/explainers/flow.py run --model-run GradientBoostingModelFlow/<run id>

start -> build_environment -> train_explainer (in the composed environment) -> publish -> end.
The explainer's configuration (SHAP's pin, the explainer per model type, the tolerance, the
tables) is data: the ``explainer`` Config, by default ``explainer.json`` next to this file.
Started by hand it explains ``--model-run``; the flows ``explain_<model>.py`` are this flow
with ``@trigger_on_finish`` of one model flow each, so every finished model run is explained.
All logic lives in the ``explainers`` package; this file only wires steps.
"""

import logging
from pathlib import Path

import explainers as ex
from metaflow import Config, FlowSpec, Parameter, card, current, environment, named_env, step

from mlplatform.orchestration import current_trigger

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("explainers.flow")

DEFAULT_CONFIG = str(Path(__file__).resolve().with_name("explainer.json"))


class ExplainerFlow(FlowSpec):
    """Fit a SHAP explainer for a finished model run, in that model's environment plus SHAP."""

    explainer = Config(
        "explainer",
        default=DEFAULT_CONFIG,
        parser=ex.flow_explainer_config,
        plain=True,
        help="Explainer configuration (JSON): SHAP requirements, explainer per model type.",
    )
    model_run = Parameter(
        "model-run",
        default="",
        help="Flow/run_id of the model run to explain (default: the run whose finish "
        "triggered this one).",
    )

    @step
    def start(self):
        """Find the model run and check it can be explained, before anything is built."""
        inputs = ex.prepare_explanation(self.explainer, self.model_run, current_trigger())
        self.model_run_pathspec = inputs.model_run  # --model-run, or the triggering run
        self.model_flow = inputs.model_flow
        self.model_type = inputs.model_type
        self.explainer_kind = inputs.explainer_kind
        self.model_environment = inputs.model_environment
        self.model_environment_lock = inputs.model_environment_lock
        self.model_bytes = inputs.model_bytes
        self.model_holdout_metrics = inputs.holdout_metrics
        self.model_library_versions = inputs.model_library_versions
        self.explain_data = inputs.explain_data
        self.explain_rows = inputs.explain_rows
        self.model_run_id = inputs.model_run_id
        self.next(self.build_environment)

    @step
    def build_environment(self):
        """Compose the model's locked environment with SHAP, register it, build it."""
        built = ex.build_explainer_environment(
            self.model_environment_lock,
            self.explainer["requirements"],
            name=ex.explainer_environment_name(
                self.explainer["environment_prefix"],
                self.model_type,
                self.model_run_id,
                current.run_id,
            ),
            prefix=self.explainer["environment_prefix"],
        )
        self.explainer_environment = built.name
        self.explainer_environment_lock = built.lock.hash
        self.environment_composed = built.composed
        self.environment_built = built.built
        self.environment_seconds = built.seconds
        self.next(self.train_explainer)

    # Runner (and the orchestrator) put the workspace's site-packages on PYTHONPATH, ahead of
    # the environment's own packages: clear it so the model's own library versions load.
    @environment(vars={"PYTHONPATH": ""})
    @named_env(from_artifact="explainer_environment")
    @step
    def train_explainer(self):
        """Load the model with its own libraries, fit SHAP, check additivity."""
        self.result = ex.train_explainer(
            self.model_bytes,
            self.model_type,
            self.explainer_kind,
            self.explain_data,
            tolerance=self.explainer["additivity_tolerance"],
        )
        self.next(self.publish)

    @card(type="blank")
    @step
    def publish(self):
        """Drift against the previous explainer; one snapshot per table; the card."""
        published = ex.publish_explanation(
            self.explainer,
            explainer_run=current.pathspec.rsplit("/", 2)[0],
            model_run=self.model_run_pathspec,
            model_type=self.model_type,
            explain_data=self.explain_data,
            environment=self.explainer_environment,
            environment_lock=self.explainer_environment_lock,
            result=self.result,
        )
        self.importance = self.result.importance
        self.drift = published.drift
        self.snapshots = published.snapshots
        current.card.extend(
            ex.explainer_card(
                summary={
                    "model run": self.model_run_pathspec,
                    "model type / explainer": f"{self.model_type} / {self.result.explainer}",
                    "model environment": self.model_environment,
                    "model libraries (training)": self.model_library_versions,
                    "explainer environment": self.explainer_environment,
                    "explainer lock": self.explainer_environment_lock,
                    "explainer libraries": self.result.library_versions,
                    "rows explained": self.explain_rows,
                    "largest additivity error": self.result.max_additivity_error,
                    "holdout metrics": self.model_holdout_metrics,
                },
                importance=self.importance,
                explain_data=self.explain_data,
                explanation_arrays=self.result.arrays,
                drift=self.drift,
                previous=published.previous,
            )
        )
        self.next(self.end)

    @step
    def end(self):
        """Done: importance and attributions are in the tables, the card has the plots."""
        logger.info(
            "%s explained in %s: importance %s, drift %s",
            self.model_run_pathspec,
            self.explainer_environment,
            self.importance,
            self.drift and {k: self.drift[k] for k in ("previous_run", "rank_correlation")},
        )


if __name__ == "__main__":
    ExplainerFlow()
