"""Exceptions of the compute layer."""

from __future__ import annotations

from mlplatform._errors import MLPlatformError

__all__ = ["ComputeError", "ResourceLimitError"]


class ComputeError(MLPlatformError):
    """Base class of the compute layer's errors."""


class ResourceLimitError(ComputeError, ValueError):
    """A step asks for more CPU, memory or GPUs than the profile allows."""
