"""Exception types of the content_decisions pipeline."""

from mlplatform import MLPlatformError

__all__ = [
    "ContentDecisionsError",
    "ETLPayloadError",
    "ForecastQualityError",
    "InputDataError",
    "NoDataForDateError",
    "RegionConfigError",
    "SlateInfeasibleError",
]


class ContentDecisionsError(MLPlatformError):
    """Base class of every error the content_decisions pipeline raises on purpose."""


class ETLPayloadError(ContentDecisionsError, ValueError):
    """An ETL event (or a ``--date``) does not carry a valid ``YYYY-MM-DD`` date."""


class NoDataForDateError(ContentDecisionsError):
    """The viewing table holds no rows for the date an event names."""


class InputDataError(ContentDecisionsError):
    """An input table or the history it holds does not have the shape the chain needs."""


class RegionConfigError(ContentDecisionsError, ValueError):
    """A region's configuration file has an unknown key or a value outside the allowed ones."""


class ForecastQualityError(ContentDecisionsError):
    """The backtest did not beat the seasonal-naive forecast by the required margin."""


class SlateInfeasibleError(ContentDecisionsError):
    """No slate satisfies a region's constraints; the message names those in conflict."""
