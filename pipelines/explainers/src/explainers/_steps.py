"""What each step of the flows does, as one call per step: the flow files only wire them.

`prepare_model_run` is a model flow's ``start``; `prepare_explanation` is the explainer's
``start`` (every check that can fail before an environment is built);
`publish_explanation` is its ``publish`` (drift, the two tables, the card's inputs).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from explainers._config import ExplainerConfig, ModelsConfig
from explainers._data import ensure_input_table, load_explain_data, load_training_data
from explainers._drift import importance_drift
from explainers._environment import parse_lock, register_model_environment
from explainers._errors import ExplainerConfigError, ModelRunError
from explainers._explain import ExplainerResult
from explainers._models import with_trees
from explainers._runs import explainer_kind, model_run_to_explain, read_model_run
from explainers._tables import (
    ExplainerRecord,
    attributions_table,
    importance_table,
    previous_importance,
    write_explainer_tables,
)

__all__ = [
    "ExplainerInputs",
    "ModelRunInputs",
    "Publication",
    "prepare_explanation",
    "prepare_model_run",
    "publish_explanation",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRunInputs:
    """What a model flow's ``start`` hands to ``train`` (see `MODEL_ARTIFACTS`)."""

    model_type: str
    hyperparameters: dict[str, Any]
    environment_name: str
    environment_lock: str
    training_data: bytes
    training_data_ref: dict[str, Any]
    feature_names: list[str]


def prepare_model_run(
    models: Mapping[str, Any], model_key: str, *, sample_rows: int, seed: int, trees: int = 0
) -> ModelRunInputs:
    """Register the model's environment, seed or pin the input table, split it.

    Args:
        models: The validated ``models.json`` (the flow's ``Config``).
        model_key: This flow's entry of ``models``.
        sample_rows: Titles generated when the input table is missing (local profile).
        seed: Seed of the sample generator.
        trees: Number of trees (boosting rounds) instead of the configured one (0: as
            configured).

    Raises:
        ExplainerConfigError: ``models.json`` has no entry ``model_key``.
    """
    config = ModelsConfig.model_validate(models)
    if model_key not in config.models:
        raise ExplainerConfigError(
            f"models.json has no model {model_key!r}; it configures {sorted(config.models)}"
        )
    model = config.models[model_key]
    name, lock = register_model_environment(model.environment)
    snapshot_id = ensure_input_table(config.input_table, n_rows=sample_rows, seed=seed)
    training_data, reference = load_training_data(
        config.input_table, snapshot_id, config.holdout_percent
    )
    return ModelRunInputs(
        model_type=model.model_type,
        hyperparameters=with_trees(model.model_type, model.hyperparameters, trees),
        environment_name=name,
        environment_lock=lock.to_json(),
        training_data=training_data,
        training_data_ref=reference,
        feature_names=list(reference["features"]),
    )


@dataclass(frozen=True)
class ExplainerInputs:
    """What the explainer's ``start`` found out about the model run to explain."""

    model_run: str
    model_flow: str
    model_run_id: str
    model_type: str
    explainer_kind: str
    model_environment: str
    model_environment_lock: str
    model_bytes: bytes
    feature_names: list[str]
    holdout_metrics: dict[str, float]
    model_library_versions: dict[str, str]
    explain_data: bytes
    explain_rows: int


def prepare_explanation(
    explainer: Mapping[str, Any],
    model_run: str | None,
    trigger: Any,
    *,
    metadata: str | None = None,
) -> ExplainerInputs:
    """Find the model run, check it can be explained, read the rows to explain.

    Every check here runs before any environment is built.

    Args:
        explainer: The validated ``explainer.json`` (the flow's ``Config``).
        model_run: ``--model-run`` (empty: the triggering run).
        trigger: `current_trigger()` of the run.
        metadata: Metaflow metadata to read the model run from (default: the current one).

    Raises:
        ModelRunError: No such run, not successful, an artifact missing, a lock that does
            not parse, features that do not match its data.
        UnsupportedModelTypeError: Its model type has no explainer.
    """
    config = ExplainerConfig.model_validate(explainer)
    pathspec = model_run_to_explain(model_run, trigger)
    run = read_model_run(pathspec, metadata=metadata)
    artifacts = run.artifacts
    model_type = str(artifacts["model_type"])
    kind = explainer_kind(config, model_type, f"model run {pathspec}")
    lock = parse_lock(str(artifacts["environment_lock"]), f"model run {pathspec}")
    reference = dict(artifacts["training_data_ref"])
    features = [str(name) for name in artifacts["feature_names"]]
    if list(reference.get("features", [])) != features:
        raise ModelRunError(
            f"model run {pathspec}: feature_names {features} differ from the features of its "
            f"training data {reference.get('features')}"
        )
    explain_data, rows = load_explain_data(
        reference, explain_rows=config.explain_rows, background_rows=config.background_rows
    )
    logger.info(
        "explaining %s (%s, %s explainer) in an environment composed from %s (lock %s)",
        pathspec,
        model_type,
        kind,
        artifacts["environment_name"],
        lock.hash,
    )
    return ExplainerInputs(
        model_run=pathspec,
        model_flow=run.flow,
        model_run_id=run.run_id,
        model_type=model_type,
        explainer_kind=kind,
        model_environment=str(artifacts["environment_name"]),
        model_environment_lock=lock.to_json(),
        model_bytes=bytes(artifacts["model_bytes"]),
        feature_names=features,
        holdout_metrics=dict(artifacts["holdout_metrics"]),
        model_library_versions=dict(artifacts["library_versions"]),
        explain_data=explain_data,
        explain_rows=rows,
    )


@dataclass(frozen=True)
class Publication:
    """What `publish_explanation` wrote and found.

    Attributes:
        drift: `importance_drift` against the previous explainer (None: the first one).
        previous: The previous explainer's importance (None: the first one).
        snapshots: Table name -> the snapshot this run added.
    """

    drift: dict[str, Any] | None
    previous: dict[str, float] | None
    snapshots: dict[str, int | None]


def publish_explanation(
    explainer: Mapping[str, Any],
    *,
    explainer_run: str,
    model_run: str,
    model_type: str,
    explain_data: bytes,
    environment: str,
    environment_lock: str,
    result: ExplainerResult,
) -> Publication:
    """Drift against the model flow's previous explainer, then one snapshot per table.

    Args:
        explainer: The validated ``explainer.json``.
        explainer_run: This run's ``Flow/run_id``.
        model_run: The explained model run's ``Flow/run_id``.
        model_type: Its model type.
        explain_data: The explained rows (`load_explain_data`).
        environment: The explainer environment's name.
        environment_lock: Its lock hash.
        result: What ``train_explainer`` returned.
    """
    config = ExplainerConfig.model_validate(explainer)
    model_flow = model_run.split("/")[0]
    found = previous_importance(config.importance_table, model_flow, before=explainer_run)
    previous_run, previous = found if found else (None, None)
    drift = importance_drift(
        result.importance, previous, previous_run=previous_run, top=config.top_moved
    )
    record = ExplainerRecord(
        explainer_run=explainer_run,
        model_flow=model_flow,
        model_run=model_run,
        model_type=model_type,
        explainer=result.explainer,
        environment=environment,
        environment_lock=environment_lock,
        created_at=datetime.now(UTC),
    )
    snapshots = write_explainer_tables(
        config.importance_table,
        config.attributions_table,
        importance_table(record, result.importance, drift),
        attributions_table(record, explain_data, result.arrays),
    )
    if drift:
        logger.info(
            "drift against %s: rank correlation %s, moved most %s",
            previous_run,
            drift["rank_correlation"],
            [m["feature"] for m in drift["moved"]],
        )
    return Publication(drift=drift, previous=previous, snapshots=snapshots)
