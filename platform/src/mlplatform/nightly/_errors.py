"""Exceptions of ``mlp nightly``; all derive from `NightlyError` (an `MLPlatformError`)."""

from __future__ import annotations

from mlplatform._errors import MLPlatformError


class NightlyError(MLPlatformError):
    """Base class of every error the nightly run raises on purpose."""


class NightlyBusyError(NightlyError):
    """Another ``mlp nightly`` holds the lock of this profile."""


class UnknownPipelineError(NightlyError, ValueError):
    """``--only`` names a pipeline that has no nightly hook."""
