"""Exceptions of the environments layer; all derive from `EnvironmentsError`."""

from __future__ import annotations

from mlplatform._errors import MLPlatformError

__all__ = [
    "EnvironmentBuildError",
    "EnvironmentConflictError",
    "EnvironmentNameError",
    "EnvironmentNotFoundError",
    "EnvironmentResolutionError",
    "EnvironmentsError",
    "ImmutableTagError",
    "UnknownBackendError",
]


class EnvironmentsError(MLPlatformError):
    """Base class of every error the environments layer raises on purpose."""


class UnknownBackendError(EnvironmentsError, ValueError):
    """An environments backend name that does not exist was asked for."""


class EnvironmentResolutionError(EnvironmentsError):
    """Requirements cannot be resolved: an unknown package, a version that does not exist,
    or a package that needs the network when there is none."""


class EnvironmentConflictError(EnvironmentResolutionError):
    """Extra requirements cannot coexist with the pins of the environment they extend."""


class EnvironmentBuildError(EnvironmentsError):
    """An environment could not be built from its lock (nothing half-built is kept)."""


class EnvironmentNameError(EnvironmentsError, ValueError):
    """A name or tag is malformed (expected ``team/project/name:tag``)."""


class EnvironmentNotFoundError(EnvironmentsError, LookupError):
    """No environment is registered under a name (the message lists the closest names)."""


class ImmutableTagError(EnvironmentsError):
    """A tag other than ``latest`` already points at another lock."""
