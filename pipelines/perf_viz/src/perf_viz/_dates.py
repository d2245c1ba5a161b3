"""The as-of date of a run: ``--date`` by hand, the schedule's day, or yesterday."""

from __future__ import annotations

import datetime as dt
from typing import Any

from perf_viz._errors import PerfVizConfigError

__all__ = ["parse_date", "resolve_as_of"]


def parse_date(text: str, what: str = "--date") -> dt.date:
    """Parse ``YYYY-MM-DD``.

    Raises:
        PerfVizConfigError: Not a date of that form (the message names ``what``).
    """
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise PerfVizConfigError(
            f"{what} {text!r} is not a date; expected YYYY-MM-DD, e.g. 2026-03-31"
        ) from None


def resolve_as_of(
    date: str | None, trigger: Any = None, *, today: dt.date | None = None
) -> dt.date:
    """The last day a run aggregates.

    Args:
        date: ``--date`` as given (empty: not given).
        trigger: The run's trigger (`mlplatform.orchestration.current_trigger()`); a schedule
            tick's ``scheduled_for`` names the day after the one to aggregate.
        today: Today (UTC) for runs by hand without ``--date``; default the real today.

    Returns:
        ``--date`` if given; else the day before the scheduled time; else yesterday (UTC).
    """
    if date:
        return parse_date(date)
    payload = getattr(trigger, "payload", None) or {}
    if getattr(trigger, "type", None) == "schedule" and payload.get("scheduled_for"):
        scheduled = dt.datetime.fromisoformat(str(payload["scheduled_for"]))
        return scheduled.date() - dt.timedelta(days=1)
    today = today or dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=1)
