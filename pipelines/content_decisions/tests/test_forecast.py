"""The lifecycle forecast against seasonal naive, the backtest gate and the interval."""

import datetime as dt

import content_decisions as cd
import numpy as np
import polars as pl
import pytest


def _panel(world: cd.World) -> cd.DemandPanel:
    """The world's history as a demand panel per title x region (what the flows build)."""
    aggregates = pl.from_arrow(cd.aggregate_viewing(world.history(), world.countries))
    titles = pl.from_arrow(world.titles.select(["title_id", "kind", "release_date"]))
    keys = aggregates.select("region", "title_id").unique().sort("region", "title_id")
    keys = keys.join(titles, on="title_id").with_row_index("series")
    dates = world.spec.history_dates()
    located = aggregates.join(keys, on=["region", "title_id"])
    hours = np.zeros((keys.height, len(dates)))
    day = (located["date"].to_numpy() - np.datetime64(dates[0], "D")).astype(int)
    hours[located["series"].to_numpy(), day] = located["hours"].to_numpy()
    return cd.DemandPanel(
        keys["region"].to_numpy().astype(object),
        keys["title_id"].to_numpy().astype(object),
        keys["kind"].to_numpy().astype(object),
        keys["release_date"].to_numpy().astype("datetime64[D]"),
        dates,
        hours,
    )


def test_seasonal_naive_repeats_the_last_week():
    hours = np.arange(14, dtype=float)[None, :]
    assert cd.seasonal_naive(hours, 10).tolist() == [[7, 8, 9, 10, 11, 12, 13, 7, 8, 9]]
    assert cd.wape(np.array([10.0, 10.0]), np.array([8.0, 13.0])) == pytest.approx(0.25)


def test_the_model_beats_seasonal_naive_by_10_percent_in_every_region(small_world, region_configs):
    panel = _panel(small_world)
    forecast, backtests = cd.forecast_demand(panel, region_configs)
    assert {b.region for b in backtests} == set(cd.REGIONS)
    for result in backtests:
        assert result.improvement >= cd.REQUIRED_IMPROVEMENT, result.summary()
        assert result.wape_model < result.wape_seasonal_naive
        assert 0.6 <= result.interval.observed_coverage <= 0.95
    assert forecast.num_rows == len(panel.regions)
    assert set(forecast["as_of_date"].to_pylist()) == {small_world.spec.history_end}
    weeks = dict(
        zip(forecast["region"].to_pylist(), forecast["horizon_weeks"].to_pylist(), strict=True)
    )
    assert weeks == {r: c.forecast_horizon_weeks for r, c in region_configs.items()}
    row = forecast.slice(0, 1).to_pylist()[0]
    assert sum(row["weekly_hours"]) == pytest.approx(row["total_hours"], rel=1e-6, abs=0.05)
    assert row["total_low"] <= row["total_hours"] <= row["total_high"]


def test_a_forecast_that_does_not_beat_seasonal_naive_fails_loudly(region_configs):
    periodic = cd.World(
        cd.WorldSpec(
            n_titles=120, countries_per_region=2, history_weeks=6, noise=0, lifecycle=False
        )
    )
    with pytest.raises(
        cd.ForecastQualityError, match=r"does not beat the seasonal-naive forecast by at least 10%"
    ) as raised:
        cd.forecast_demand(_panel(periodic), region_configs)
    for region in cd.REGIONS:
        assert f"{region}: WAPE" in str(raised.value)


def test_a_backtest_longer_than_the_history_is_refused(small_world):
    panel = _panel(small_world)
    with pytest.raises(cd.InputDataError, match="needs at least 70 days of history"):
        cd.backtest(panel, "na", 56, 0.8)


def test_unreleased_titles_are_forecast_at_zero(small_world):
    panel = _panel(small_world)
    release = panel.release_dates.copy()
    release[0] = np.datetime64(panel.end + dt.timedelta(days=30), "D")
    shifted = cd.DemandPanel(
        panel.regions, panel.title_ids, panel.kinds, release, panel.dates, panel.hours
    )
    assert cd.forecast_lifecycle(shifted, 14)[0].sum() == 0
