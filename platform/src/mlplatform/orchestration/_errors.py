"""Exceptions of the orchestration layer."""

from __future__ import annotations

from mlplatform._errors import MLPlatformError


class OrchestrationError(MLPlatformError):
    """Base class of the orchestration layer's errors."""


class EventPayloadError(OrchestrationError):
    """An event's name or payload is malformed (not JSON, not an object, a bad name)."""


class EventConflictError(OrchestrationError):
    """An event id is already in the log with another name or payload."""


class EventBackendError(OrchestrationError):
    """The event backend cannot be used (missing webhook, refused publish)."""


class UnknownBackendError(EventBackendError, ValueError):
    """An event backend name that does not exist was asked for."""


class FlowDefinitionError(OrchestrationError):
    """A flow file cannot be imported, or its trigger decorators cannot be honoured."""


class TriggerMappingError(FlowDefinitionError):
    """A ``@trigger`` parameter mapping names a parameter or payload field that is not there."""


class OrchestratorBusyError(OrchestrationError):
    """Another orchestrator already serves this state folder."""


class DeployError(OrchestrationError):
    """A flow could not be compiled or deployed to the production scheduler."""


def check_limit(limit: object) -> int:
    """Return ``limit`` if it is a whole number >= 0 (the one rule for counts), else raise.

    Raises:
        ValueError: ``limit`` is negative or not an int.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number >= 0, got {limit!r}")
    return limit
