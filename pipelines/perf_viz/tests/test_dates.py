"""The as-of date: --date by hand, the day before a schedule tick, else yesterday."""

import datetime as dt

import perf_viz as pv
import pytest

from mlplatform.orchestration import TriggerEvent


def test_date_by_hand_wins():
    schedule = TriggerEvent(
        "mlp.schedule.X", "id", None, {"scheduled_for": "2026-05-02T00:00:00+00:00"}, "schedule"
    )
    assert pv.resolve_as_of("2026-03-31", schedule) == dt.date(2026, 3, 31)


def test_a_daily_schedule_tick_aggregates_the_day_that_just_ended():
    tick = TriggerEvent(
        "mlp.schedule.TitlePerformanceFlow",
        "schedule:flow.py::2026-05-02T00:00:00+00:00",
        None,
        {"scheduled_for": "2026-05-02T00:00:00+00:00"},
        "schedule",
    )
    assert pv.resolve_as_of("", tick) == dt.date(2026, 5, 1)


def test_by_hand_without_a_date_it_is_yesterday():
    assert pv.resolve_as_of("", None, today=dt.date(2026, 1, 1)) == dt.date(2025, 12, 31)
    event = TriggerEvent("data_ready", "e1", None, {}, "event")
    assert pv.resolve_as_of(None, event, today=dt.date(2026, 1, 1)) == dt.date(2025, 12, 31)


@pytest.mark.parametrize("text", ["2026-13-01", "31/03/2026", "soon"])
def test_a_date_that_is_not_yyyy_mm_dd_is_refused_naming_it(text):
    with pytest.raises(
        pv.PerfVizConfigError, match=rf"--date '{text}' is not a date; expected YYYY-MM-DD"
    ):
        pv.resolve_as_of(text)
