"""The pipeline's configuration as data: ``models.json`` (the model flows) and
``explainer.json`` (the explainer), validated before any task runs.

Both are plain pydantic models, importable inside every named environment (each holds
pydantic), and each has a Metaflow ``Config`` parser (`flow_models_config`,
`flow_explainer_config`) that turns a JSON document into the validated, JSON-ready dict the
flow stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from explainers._errors import ExplainerConfigError
from mlplatform.config import load_json_config

__all__ = [
    "EXPLAINER_KINDS",
    "MODEL_TYPES",
    "EnvironmentConfig",
    "ExplainerConfig",
    "ModelConfig",
    "ModelsConfig",
    "flow_explainer_config",
    "flow_models_config",
    "load_explainer_config",
    "load_models_config",
]

#: Model types the training code knows (`explainers._train`).
MODEL_TYPES = ("gradient_boosting", "lightgbm", "ridge")
#: SHAP explainers the explaining code knows (`explainers._explain`).
EXPLAINER_KINDS = ("tree", "linear", "permutation")

ModelType = Literal["gradient_boosting", "lightgbm", "ridge"]
ExplainerKind = Literal["tree", "linear", "permutation"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _requirement_list(value: list[str], what: str) -> list[str]:
    cleaned = [item.strip() for item in value]
    if any(not item for item in cleaned):
        raise ValueError(f"{what} holds an empty requirement")
    return cleaned


class EnvironmentConfig(_Strict):
    """A model flow's named environment: where it is registered and what it pins.

    Attributes:
        name: ``team/project/name`` (no tag: the run registers the lock under a tag made
            of its hash, so the same spec resolving to the same lock reuses the tag).
        requirements: Requirement strings, exact pins for what the model depends on.
    """

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*$")
    requirements: list[str] = Field(min_length=1)

    @field_validator("requirements")
    @classmethod
    def _requirements(cls, value: list[str]) -> list[str]:
        return _requirement_list(value, "environment.requirements")


class ModelConfig(_Strict):
    """One model flow: its model type, its environment, its hyperparameters."""

    model_type: ModelType
    environment: EnvironmentConfig
    hyperparameters: dict[str, Any] = Field(default_factory=dict)


class ModelsConfig(_Strict):
    """``models.json``: the shared input table and the model flows.

    Attributes:
        input_table: The title features table every model flow trains on.
        holdout_percent: Share of titles (by a hash of ``title_id``) held out of training;
            the holdout metrics and the explainer use them.
        models: Model key (each model flow names its own) -> `ModelConfig`.
    """

    input_table: str = "explainers.title_engagement"
    holdout_percent: int = Field(default=20, ge=1, le=90)
    models: dict[str, ModelConfig] = Field(min_length=1)


class ExplainerConfig(_Strict):
    """``explainer.json``: what the explainer adds to a model's environment and how it explains.

    Attributes:
        requirements: Added to the model's locked environment (`compose`): SHAP and what the
            explaining code needs that a model environment may lack.
        explainers: Model type -> SHAP explainer (``tree``, ``linear``, or the model-agnostic
            ``permutation``). A model type missing here has no explainer.
        environment_prefix: ``team/project`` of the composed environments' names
            (``<prefix>/<model_type>-<model run id>:<explainer run id>``).
        additivity_tolerance: Largest allowed ``|sum(SHAP) + expected - output|``, relative
            to ``max(1, max |output|)``.
        explain_rows: Holdout rows explained (their attributions are written).
        background_rows: Rows of the training split the linear and permutation explainers
            integrate over.
        top_moved: How many of the features whose importance moved most the drift reports.
        attributions_table: Per-row, per-feature SHAP values, one snapshot per run.
        importance_table: Global importance and drift, one snapshot per run.
    """

    requirements: list[str] = Field(min_length=1)
    explainers: dict[str, ExplainerKind] = Field(min_length=1)
    environment_prefix: str = Field(
        default="explainers/shap", pattern=r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*$"
    )
    additivity_tolerance: float = Field(default=1e-6, gt=0, le=1)
    explain_rows: int = Field(default=500, ge=1)
    background_rows: int = Field(default=100, ge=1)
    top_moved: int = Field(default=3, ge=1)
    attributions_table: str = "explainers.attributions"
    importance_table: str = "explainers.importance"

    @field_validator("requirements")
    @classmethod
    def _requirements(cls, value: list[str]) -> list[str]:
        return _requirement_list(value, "requirements")


def _load(source: str | Path | Mapping[str, Any], model: type[_Strict], what: str) -> Any:
    return load_json_config(
        source, model, name=what, error=ExplainerConfigError, example=f"pipelines/explainers/{what}"
    )


def load_models_config(source: str | Path | Mapping[str, Any]) -> ModelsConfig:
    """Load and validate ``models.json`` (a path, a JSON text or a mapping).

    Raises:
        ExplainerConfigError: Unreadable, not JSON, or invalid; the message names the key.
    """
    return _load(source, ModelsConfig, "models.json")


def load_explainer_config(source: str | Path | Mapping[str, Any]) -> ExplainerConfig:
    """Load and validate ``explainer.json`` (a path, a JSON text or a mapping).

    Raises:
        ExplainerConfigError: Unreadable, not JSON, or invalid; the message names the key.
    """
    return _load(source, ExplainerConfig, "explainer.json")


def flow_models_config(text: str) -> dict[str, Any]:
    """Metaflow ``Config`` parser of ``models.json``: validated before any task runs."""
    return load_models_config(text).model_dump(mode="json")


def flow_explainer_config(text: str) -> dict[str, Any]:
    """Metaflow ``Config`` parser of ``explainer.json``: validated before any task runs."""
    return load_explainer_config(text).model_dump(mode="json")
