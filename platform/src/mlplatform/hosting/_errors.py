"""Exceptions of the hosting layer; all derive from `HostingError`."""

from __future__ import annotations

from mlplatform._errors import MLPlatformError

__all__ = [
    "ArtifactsError",
    "HostingError",
    "JobNotFoundError",
    "ServiceDefinitionError",
    "UnknownBackendError",
]


class HostingError(MLPlatformError):
    """Base class of every error the hosting layer raises on purpose."""


class UnknownBackendError(HostingError, ValueError):
    """A hosting backend name that does not exist was asked for."""


class ServiceDefinitionError(HostingError):
    """A service file or an endpoint cannot be served as written."""


class ArtifactsError(HostingError):
    """A service's artifacts name a flow or run that does not exist (or cannot be read)."""


class JobNotFoundError(HostingError, LookupError):
    """No async job has this id (it never existed, or its result expired)."""
