"""Time helpers shared by the layers."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utc_from_epoch", "utc_now"]


def utc_from_epoch(seconds: float | None) -> datetime | None:
    """A timezone-aware UTC datetime from epoch seconds (None stays None)."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
