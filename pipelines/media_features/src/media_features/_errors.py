"""The pipeline's exceptions: one base type, derived from the platform's."""

from __future__ import annotations

from mlplatform import MLPlatformError

__all__ = [
    "CorruptAssetError",
    "FeatureComputationError",
    "FeatureFailedError",
    "FeatureGraphError",
    "FeatureNotReadyError",
    "FeatureServiceError",
    "InputsNotReadyError",
    "MediaFeaturesError",
    "UnknownAssetError",
    "UnknownFeatureError",
]


class MediaFeaturesError(MLPlatformError):
    """Base of every error of the media_features pipeline."""


class FeatureGraphError(MediaFeaturesError, ValueError):
    """A feature definition is invalid: a cycle, a missing dependency, a bad signature."""


class UnknownFeatureError(MediaFeaturesError, KeyError):
    """A feature name that no registered feature has."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownAssetError(MediaFeaturesError, KeyError):
    """An asset id that the assets table does not list."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CorruptAssetError(MediaFeaturesError):
    """An asset's stored object is missing, damaged or not what the assets table says."""


class FeatureComputationError(MediaFeaturesError):
    """A feature's function raised (the root cause of a failed node)."""


class FeatureFailedError(MediaFeaturesError):
    """A requested feature failed: its own function, an input or its asset (the root cause
    is named in the message)."""


class FeatureNotReadyError(MediaFeaturesError):
    """A requested feature is still being computed (its job handle says where)."""


class InputsNotReadyError(MediaFeaturesError):
    """A node's inputs were not computed within ``input_wait_s``: the job is retried."""


class FeatureServiceError(MediaFeaturesError):
    """The hosted feature service cannot be reached or answered with an error."""
