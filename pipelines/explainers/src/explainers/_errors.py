"""Exceptions of the explainers pipeline; all derive from `ExplainersError`."""

from __future__ import annotations

from mlplatform import MLPlatformError

__all__ = [
    "AdditivityError",
    "ExplainerConfigError",
    "ExplainersError",
    "ModelLoadError",
    "ModelRunError",
    "UnsupportedModelTypeError",
]


class ExplainersError(MLPlatformError):
    """Base class of every error the explainers pipeline raises on purpose."""


class ExplainerConfigError(ExplainersError, ValueError):
    """``models.json`` or ``explainer.json`` is invalid (the message names the key)."""


class ModelRunError(ExplainersError, LookupError):
    """The model run to explain does not exist, did not succeed, or lacks an artifact."""


class UnsupportedModelTypeError(ExplainersError, ValueError):
    """The model run's type has no explainer configured."""


class ModelLoadError(ExplainersError):
    """The model artifact cannot be loaded in the model's own environment."""


class AdditivityError(ExplainersError, ArithmeticError):
    """SHAP values plus the expected value do not add up to the model's output."""
