"""Exception types of the perf_viz pipeline."""

from __future__ import annotations

from typing import Any

from mlplatform import MLPlatformError

__all__ = [
    "DateRangeError",
    "GenerationChangingError",
    "InputDataError",
    "NothingPublishedError",
    "PerfVizConfigError",
    "PerfVizError",
    "QueryError",
    "ServiceError",
    "ServiceSlowError",
    "ServiceUnreachableError",
    "UnknownNameError",
]


class PerfVizError(MLPlatformError):
    """Base class of every error the perf_viz pipeline raises on purpose."""


class PerfVizConfigError(PerfVizError, ValueError):
    """The pipeline's configuration, or a flow parameter such as ``--date``, is invalid."""


class InputDataError(PerfVizError):
    """The input tables hold nothing to aggregate, or data the configuration does not cover."""


class QueryError(PerfVizError):
    """A query the service cannot answer as asked; ``status`` is its HTTP status.

    Attributes:
        status: The HTTP status the service answers with.
        kind: A short machine-readable name of the problem (``unknown_title``, ...).
        details: Extra fields of the JSON body (e.g. the unknown ``name``).
    """

    status = 422
    kind = "bad_query"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        return {"error": str(self), "kind": self.kind, **self.details}


class UnknownNameError(QueryError, LookupError):
    """A title, country or region the published data does not have (HTTP 404)."""

    status = 404

    def __init__(self, what: str, name: str, message: str) -> None:
        super().__init__(message, name=name)
        self.kind = f"unknown_{what}"


class DateRangeError(QueryError, ValueError):
    """The asked date range lies outside the published data (HTTP 422)."""

    status = 422
    kind = "date_range_outside_data"


class NothingPublishedError(QueryError):
    """The cache namespace has no published generation yet (HTTP 503)."""

    status = 503
    kind = "nothing_published"


class GenerationChangingError(QueryError):
    """Generations were published faster than a query could read one (HTTP 503, retry)."""

    status = 503
    kind = "generation_changing"


class ServiceError(PerfVizError):
    """The app could not get an answer from the service (what to show instead of a chart)."""


class ServiceUnreachableError(ServiceError, ConnectionError):
    """Nothing answers at the service's address."""


class ServiceSlowError(ServiceError, TimeoutError):
    """The service did not answer within the app's timeout."""
