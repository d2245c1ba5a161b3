"""Days as the chain writes them: ``YYYY-MM-DD``, checked where they come in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from content_decisions._errors import ETLPayloadError

__all__ = ["parse_date"]


def parse_date(value: Any, *, what: str = "date") -> dt.date:
    """A ``YYYY-MM-DD`` date from an event payload, a parameter or the command line.

    Raises:
        ETLPayloadError: Missing, not a string of that form, or not a real day.
    """
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ETLPayloadError(
            f"the {what} is missing: the etl.viewing_daily.done event must carry "
            '{"date": "YYYY-MM-DD"} (e.g. {"date": "2026-03-30"})'
        )
    text = str(value).strip()
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ETLPayloadError(
            f"the {what} {value!r} is not a calendar day written YYYY-MM-DD (e.g. '2026-03-30')"
        ) from None
