"""The "upstream ETL": writes one day of viewing and announces it, as a partner team's would.

`run_etl` seeds the sample world on first use (local profile), replaces the day's partition
of ``etl.viewing_daily`` with the sample world's viewing of that day (one snapshot; running it
again for the same day and revision writes the same rows) and publishes
``etl.viewing_daily.done`` with ``{"date": "YYYY-MM-DD"}``. A new event id every time, as a
partner's ETL would: whether a day is processed again is decided downstream, by content.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from content_decisions._errors import InputDataError
from content_decisions._tables import ensure_world, viewing_dates, write_viewing_day
from content_decisions._vocabulary import ETL_EVENT, VIEWING_TABLE
from content_decisions._world import World, WorldSpec
from mlplatform.orchestration import publish

__all__ = ["EtlResult", "next_etl_date", "run_etl"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EtlResult:
    """What one ETL run did.

    Attributes:
        date: The day written.
        revision: Its revision (0: first delivery; more: a restatement).
        rows: Rows written.
        snapshot_id: The viewing table's new snapshot.
        event_id: Id of the published event (None when not published).
    """

    date: dt.date
    revision: int
    rows: int
    snapshot_id: int | None
    event_id: str | None


def next_etl_date(spec: WorldSpec | None = None) -> dt.date:
    """The day after the last one the viewing table holds (seeding the world if needed)."""
    ensure_world(spec)
    return viewing_dates()[-1] + dt.timedelta(days=1)


def run_etl(
    day: dt.date,
    *,
    revision: int = 0,
    spec: WorldSpec | None = None,
    publish_event: bool = True,
) -> EtlResult:
    """Write one day of sample viewing and publish ``etl.viewing_daily.done``.

    Args:
        day: The day.
        revision: 0 for the first delivery; another number restates the day (new counts).
        spec: The world to seed if the inputs are missing (default `WorldSpec()`); an
            existing world is used as it was seeded.
        publish_event: Publish the event (False: only write the table).

    Raises:
        InputDataError: The day is before the sample world's start, or would leave a gap
            after the last day written.
    """
    seeded = ensure_world(spec)
    if seeded is None:
        raise InputDataError(
            f"{VIEWING_TABLE} exists without the sample world's spec (etl.sample_world): this "
            "sample ETL appends days of the sample world only"
        )
    present = viewing_dates()
    if day < seeded.start:
        raise InputDataError(f"{day} is before the sample world's first day {seeded.start}")
    if present and day > present[-1] + dt.timedelta(days=1):
        following = present[-1] + dt.timedelta(days=1)
        raise InputDataError(
            f"{VIEWING_TABLE} ends on {present[-1]}; writing {day} would leave "
            f"{(day - following).days} day(s) missing. Write {following} first"
        )
    rows = World(seeded).viewing_day(day, revision)
    snapshot_id = write_viewing_day(rows, day)
    logger.info(
        "%s: wrote %d rows of %s (revision %d)", VIEWING_TABLE, rows.num_rows, day, revision
    )
    event_id = None
    if publish_event:
        event = publish(ETL_EVENT, {"date": day.isoformat()}, source="content_decisions.etl")
        event_id = event.id
        logger.info("published %s %s (%s)", ETL_EVENT, {"date": day.isoformat()}, event_id)
    return EtlResult(day, revision, rows.num_rows, snapshot_id, event_id)
