"""Reading the model run an explainer explains, with clear errors before anything is built.

A model run is any successful Metaflow run that stores the model contract: the artifacts of
`MODEL_ARTIFACTS` (what the three model flows of this pipeline store). The explainer finds it
from ``--model-run Flow/run_id`` or from the finish event that triggered it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from explainers._config import ExplainerConfig
from explainers._errors import ModelRunError, UnsupportedModelTypeError

__all__ = [
    "MODEL_ARTIFACTS",
    "ModelRun",
    "explainer_kind",
    "model_run_to_explain",
    "read_model_run",
]

logger = logging.getLogger(__name__)

#: Artifacts every model run stores (the model contract).
MODEL_ARTIFACTS = (
    "model_type",
    "model_bytes",
    "feature_names",
    "holdout_metrics",
    "library_versions",
    "environment_name",
    "environment_lock",
    "training_data_ref",
)
_PATHSPEC = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class ModelRun:
    """A finished model run and the artifacts of its model contract.

    Attributes:
        pathspec: ``Flow/run_id``.
        artifacts: Artifact name -> value, for each of `MODEL_ARTIFACTS`.
        finished_at: When the run finished (ISO 8601).
    """

    pathspec: str
    artifacts: dict[str, Any]
    finished_at: str

    @property
    def flow(self) -> str:
        """The model flow's name."""
        return self.pathspec.split("/")[0]

    @property
    def run_id(self) -> str:
        """The run id."""
        return self.pathspec.split("/")[1]


def model_run_to_explain(model_run: str | None, trigger: Any) -> str:
    """The model run to explain: ``--model-run`` if given, else the triggering run.

    Args:
        model_run: The ``model_run`` parameter (empty when not given).
        trigger: `mlplatform.orchestration.current_trigger()` (None when started by hand).

    Raises:
        ModelRunError: Neither names a run, or ``model_run`` is not ``Flow/run_id``.
    """
    pathspec = (model_run or "").strip()
    if not pathspec and trigger is not None:
        pathspec = trigger.run_pathspec or ""
        if not pathspec:
            raise ModelRunError(
                f"the triggering event {trigger.name!r} names no run; the explainer is "
                "triggered by a model flow's finish, or pass --model-run Flow/run_id"
            )
    if not pathspec:
        raise ModelRunError(
            "no model run to explain: pass --model-run Flow/run_id (e.g. "
            "GradientBoostingModelFlow/1733000000000000), or let a model flow's finish trigger "
            "the explainer"
        )
    if not _PATHSPEC.match(pathspec):
        raise ModelRunError(f"--model-run {pathspec!r} is not Flow/run_id")
    return pathspec


def read_model_run(pathspec: str, *, metadata: str | None = None) -> ModelRun:
    """Read a model run through Metaflow's client and check its model contract.

    Args:
        pathspec: ``Flow/run_id``, or ``Flow/latest`` for the flow's newest successful run.
        metadata: Metaflow metadata to read (``local@/path``); default the current one.

    Raises:
        ModelRunError: The run does not exist, has not finished successfully, or lacks an
            artifact of `MODEL_ARTIFACTS` (each message names the run and what to do).
    """
    from metaflow import Run
    from metaflow.exception import MetaflowNotFound

    options: dict[str, Any] = {"_namespace_check": False}
    if metadata:
        options["_current_metadata"] = metadata
    try:
        if pathspec.endswith("/latest"):
            run = _latest_successful(pathspec.split("/")[0], options)
        else:
            run = Run(pathspec, **options)
    except MetaflowNotFound:
        raise ModelRunError(
            f"model run {pathspec} does not exist; pass --model-run Flow/run_id of a finished "
            "model run (`mlp runs ls` lists the orchestrated ones)"
        ) from None
    if not run.successful:
        # A failed attempt records attempt_ok False; the run never gets its end task.
        failed = next(
            (
                task.pathspec
                for step in run
                for task in step
                if task.metadata_dict.get("attempt_ok") == "False"
            ),
            None,
        )
        state = f"failed (task {failed})" if failed else "has not finished (it is still running)"
        raise ModelRunError(
            f"model run {pathspec} {state}; only a successful run has a model to explain"
        )
    data = run.data
    missing = [name for name in MODEL_ARTIFACTS if name not in data]
    if missing:
        raise ModelRunError(
            f"model run {pathspec} lacks the artifact(s) {missing} of a model run; is "
            f"{run.parent.id} a model flow? A model run stores {list(MODEL_ARTIFACTS)}"
        )
    artifacts = {name: getattr(data, name) for name in MODEL_ARTIFACTS}
    finished = run.finished_at.isoformat() if run.finished_at else ""
    return ModelRun(pathspec=run.pathspec, artifacts=artifacts, finished_at=finished)


def _latest_successful(flow_name: str, options: dict[str, Any]) -> Any:
    from metaflow import Flow

    for run in Flow(flow_name, **options):  # newest first
        if run.successful:
            return run
    raise ModelRunError(f"{flow_name} has no successful run yet; train a model first")


def explainer_kind(config: ExplainerConfig, model_type: str, where: str) -> str:
    """The SHAP explainer configured for ``model_type``.

    Raises:
        UnsupportedModelTypeError: ``model_type`` has no explainer in ``explainer.json``.
    """
    if model_type not in config.explainers:
        raise UnsupportedModelTypeError(
            f"{where}: model type {model_type!r} has no explainer; explainer.json's "
            f"'explainers' covers {sorted(config.explainers)}. Add {model_type!r} with one of "
            "'tree', 'linear', 'permutation' (model-agnostic) to explain it"
        )
    return config.explainers[model_type]
