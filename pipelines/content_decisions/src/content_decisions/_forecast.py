"""Demand forecasts per title x region: a lifecycle-curve model, its baseline and backtest.

The model works on weekly totals (blocks of 7 days ending on the forecast origin, so each
holds every weekday once):

- **Lifecycle curve.** Titles of one kind (movie, series) lose demand with age in a similar
  way. The growth from a week of age ``a`` to age ``a + 1`` is estimated, pooled over every
  title x region of that kind, as the ratio of summed demand (older buckets with too few
  series fall back to the pooled ratio of every older age).
- **Level.** The title's demand in its last week, estimated from its last `LEVEL_WEEKS` weeks
  each rolled forward along the curve to now and averaged with weights (recent weeks count
  more): noise of a single week is averaged out.
- **Forecast.** The level carried along the curve for each future week, spread over the
  days by the region's weekday profile.

The baseline is the **seasonal-naive** forecast (every future day repeats the same weekday of
the last observed week). `backtest` hides the last ``horizon`` days, forecasts them with both
and compares WAPE (sum of absolute errors over the sum of actual demand) on the series that
had at least `MIN_HISTORY_WEEKS` of history at the origin; its ratios of actual to forecast
horizon totals give the forecast's interval (empirical quantiles per volume band).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from content_decisions._config import REQUIRED_IMPROVEMENT, RegionConfig
from content_decisions._errors import ForecastQualityError, InputDataError
from content_decisions._schemas import FORECAST_SCHEMA

__all__ = [
    "LEVEL_WEEKS",
    "MIN_HISTORY_WEEKS",
    "Backtest",
    "DemandPanel",
    "IntervalModel",
    "backtest",
    "check_improvement",
    "forecast_demand",
    "forecast_lifecycle",
    "seasonal_naive",
    "wape",
]

logger = logging.getLogger(__name__)

LEVEL_WEEKS = 4
"""Recent weeks averaged (rolled forward along the curve) into a title's current level."""
MIN_HISTORY_WEEKS = 2
"""Series younger than this at the origin are left out of the backtest's WAPE."""
_MAX_AGE_WEEKS = 26
_MIN_SERIES_PER_AGE = 5
_LEVEL_DECAY = 0.8
_BANDS = 4


@dataclass(frozen=True)
class DemandPanel:
    """Daily demand of many series (title x region) over contiguous days.

    Attributes:
        regions: Region of each series.
        title_ids: Title of each series.
        kinds: ``movie`` or ``series`` for each series.
        release_dates: Release date of each series' title.
        dates: The days, contiguous, oldest first.
        hours: Hours viewed, series x days.
    """

    regions: np.ndarray
    title_ids: np.ndarray
    kinds: np.ndarray
    release_dates: np.ndarray  # datetime64[D]
    dates: list[dt.date]
    hours: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.regions)
        if self.hours.shape != (n, len(self.dates)):
            raise InputDataError(
                f"demand panel of {n} series and {len(self.dates)} days has hours of shape "
                f"{self.hours.shape}"
            )

    @property
    def end(self) -> dt.date:
        """The last day (the forecast origin)."""
        return self.dates[-1]

    def of_region(self, region: str) -> DemandPanel:
        """The series of one region.

        Raises:
            InputDataError: The panel has none.
        """
        mask = self.regions == region
        if not mask.any():
            raise InputDataError(f"the demand history has no series of region {region!r}")
        return DemandPanel(
            self.regions[mask],
            self.title_ids[mask],
            self.kinds[mask],
            self.release_dates[mask],
            self.dates,
            self.hours[mask],
        )

    def until(self, days: int) -> DemandPanel:
        """The panel without its last ``days`` days."""
        return DemandPanel(
            self.regions,
            self.title_ids,
            self.kinds,
            self.release_dates,
            self.dates[:-days],
            self.hours[:, :-days],
        )

    def ages_in_weeks(self) -> np.ndarray:
        """Age of each series' title in whole weeks on the last day (negative: unreleased)."""
        end = np.datetime64(self.end, "D")
        return np.floor_divide((end - self.release_dates).astype(np.int64), 7)


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted absolute percentage error: sum of |actual - forecast| over sum of actual."""
    total = float(np.sum(actual))
    if total <= 0:
        return 0.0 if float(np.sum(np.abs(forecast))) == 0 else float("inf")
    return float(np.sum(np.abs(actual - forecast)) / total)


def seasonal_naive(hours: np.ndarray, horizon_days: int) -> np.ndarray:
    """Every future day repeats the same weekday of the last observed week.

    Args:
        hours: Series x days of history (at least 7 days).
        horizon_days: Days to forecast.
    """
    if hours.shape[1] < 7:
        raise InputDataError(f"seasonal naive needs 7 days of history, got {hours.shape[1]}")
    reps = -(-horizon_days // 7)
    return np.tile(hours[:, -7:], reps)[:, :horizon_days]


def _weekly(hours: np.ndarray) -> np.ndarray:
    weeks = hours.shape[1] // 7
    start = hours.shape[1] - 7 * weeks
    return hours[:, start:].reshape(hours.shape[0], weeks, 7)


def _weekday_profile(panel: DemandPanel, weeks: int) -> np.ndarray:
    """Each series' region's share of a week's demand per day of the week (series x 7)."""
    blocks = _weekly(panel.hours)[:, -weeks:, :]
    profile = np.full((len(panel.regions), 7), 1 / 7)
    for region in np.unique(panel.regions):
        mask = panel.regions == region
        totals = blocks[mask].sum(axis=(0, 1))
        if totals.sum() > 0:
            profile[mask] = totals / totals.sum()
    return profile


def _growth_curves(weekly: np.ndarray, ages: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Growth from each week of age to the next, per series (series x ages 0.._MAX_AGE).

    Args:
        weekly: Weekly totals, series x weeks (the last one ends at the origin).
        ages: Age in weeks of each series in its last week.
        kinds: Kind of each series; curves are pooled per kind.
    """
    n, weeks = weekly.shape
    age_of_week = ages[:, None] - (weeks - 1 - np.arange(weeks))[None, :]
    curves = np.ones((n, _MAX_AGE_WEEKS + 1))
    for kind in np.unique(kinds):
        mask = kinds == kind
        age = age_of_week[mask, :-1]
        before, after = weekly[mask, :-1], weekly[mask, 1:]
        valid = (age >= 0) & (before > 0)
        bucket = np.minimum(age[valid], _MAX_AGE_WEEKS)
        num = np.bincount(bucket, after[valid], _MAX_AGE_WEEKS + 1)
        den = np.bincount(bucket, before[valid], _MAX_AGE_WEEKS + 1)
        count = np.bincount(bucket, minlength=_MAX_AGE_WEEKS + 1)
        # Sparse ages borrow the pooled ratio of every age from there on.
        num_tail, den_tail = np.cumsum(num[::-1])[::-1], np.cumsum(den[::-1])[::-1]
        pooled = np.where(den_tail > 0, num_tail / np.maximum(den_tail, 1e-12), 1.0)
        own = np.where(den > 0, num / np.maximum(den, 1e-12), 1.0)
        curves[mask] = np.where(count >= _MIN_SERIES_PER_AGE, own, pooled)[None, :]
    return curves


def forecast_lifecycle(panel: DemandPanel, horizon_days: int) -> np.ndarray:
    """Daily forecast of every series for the ``horizon_days`` after the panel's last day.

    Returns:
        Series x horizon_days of forecast hours (never negative; 0 for unreleased titles).
    """
    weekly = _weekly(panel.hours).sum(axis=2)
    weeks = weekly.shape[1]
    if weeks < 2:
        raise InputDataError(
            f"the lifecycle forecast needs at least 2 whole weeks of history, got "
            f"{panel.hours.shape[1]} days"
        )
    ages = panel.ages_in_weeks()
    curves = _growth_curves(weekly, ages, panel.kinds)
    rows = np.arange(len(ages))

    def growth(age: np.ndarray) -> np.ndarray:
        return np.where(age < 0, 1.0, curves[rows, np.clip(age, 0, _MAX_AGE_WEEKS)])

    level_weeks = min(LEVEL_WEEKS, weeks)
    level = np.zeros(len(ages))
    weight_sum = 0.0
    for back in range(level_weeks):
        rolled = weekly[:, weeks - 1 - back].copy()
        for step in range(back):
            rolled *= growth(ages - back + step)
        weight = _LEVEL_DECAY**back
        level += weight * rolled
        weight_sum += weight
    level /= weight_sum
    young = ages < level_weeks  # too young for older weeks: their last week is the level
    level[young] = weekly[young, -1]

    horizon_weeks = -(-horizon_days // 7)
    future = np.zeros((len(ages), horizon_weeks))
    current = level
    for week in range(horizon_weeks):
        current = current * growth(ages + week)
        future[:, week] = current
    future[ages < 0] = 0.0  # not released at the origin: nothing to carry forward
    profile = _weekday_profile(panel, level_weeks)
    daily = future[:, :, None] * profile[:, None, :]
    return np.maximum(daily.reshape(len(ages), -1)[:, :horizon_days], 0.0)


@dataclass(frozen=True)
class IntervalModel:
    """Empirical interval of horizon totals: quantiles of actual / forecast per volume band.

    Attributes:
        coverage: The nominal coverage (e.g. 0.8 for a 10%-90% interval).
        edges: Upper forecast-total edges of the volume bands (ascending, last is inf).
        low: Lower ratio per band.
        high: Upper ratio per band.
        observed_coverage: Share of backtest series inside their interval.
    """

    coverage: float
    edges: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    observed_coverage: float

    @classmethod
    def fit(cls, actual_total: np.ndarray, forecast_total: np.ndarray, coverage: float):
        """Fit the bands on backtest horizon totals of series with a positive forecast."""
        keep = forecast_total > 0
        actual_total, forecast_total = actual_total[keep], forecast_total[keep]
        if len(forecast_total) < _BANDS * 5:
            raise InputDataError(
                f"the interval needs at least {_BANDS * 5} backtest series with a forecast, "
                f"got {len(forecast_total)}"
            )
        ratio = actual_total / forecast_total
        edges = list(np.quantile(forecast_total, np.linspace(0, 1, _BANDS + 1)[1:-1]))
        band = np.searchsorted(edges, forecast_total, side="right")
        tail = (1 - coverage) / 2
        low = [float(np.quantile(ratio[band == b], tail)) for b in range(_BANDS)]
        high = [float(np.quantile(ratio[band == b], 1 - tail)) for b in range(_BANDS)]
        low_r, high_r = np.take(low, band), np.take(high, band)
        inside = float(np.mean((ratio >= low_r) & (ratio <= high_r)))
        return cls(coverage, (*map(float, edges), float("inf")), tuple(low), tuple(high), inside)

    def interval(self, total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of forecast horizon totals."""
        band = np.searchsorted(self.edges[:-1], total, side="right")
        return total * np.take(self.low, band), total * np.take(self.high, band)


@dataclass(frozen=True)
class Backtest:
    """How the model and the seasonal-naive baseline did on the held-out days of a region.

    Attributes:
        region: The region.
        origin: The last day the forecasts saw.
        horizon_days: Held-out days.
        series: Series scored (old enough at the origin).
        wape_model: WAPE of the lifecycle model.
        wape_seasonal_naive: WAPE of the seasonal-naive forecast.
        interval: The interval fitted on this backtest.
    """

    region: str
    origin: dt.date
    horizon_days: int
    series: int
    wape_model: float
    wape_seasonal_naive: float
    interval: IntervalModel = field(repr=False)

    @property
    def improvement(self) -> float:
        """1 - WAPE(model) / WAPE(seasonal naive): how much better the model is."""
        if self.wape_seasonal_naive <= 0:
            return float("-inf") if self.wape_model > 0 else 0.0
        return 1.0 - self.wape_model / self.wape_seasonal_naive

    def summary(self) -> dict[str, float | int | str]:
        """The figures as plain values (for artifacts, cards and logs)."""
        return {
            "region": self.region,
            "origin": self.origin.isoformat(),
            "horizon_days": self.horizon_days,
            "series": self.series,
            "wape_model": round(self.wape_model, 4),
            "wape_seasonal_naive": round(self.wape_seasonal_naive, 4),
            "improvement": round(self.improvement, 4),
            "interval_coverage": self.interval.coverage,
            "interval_observed_coverage": round(self.interval.observed_coverage, 4),
        }


def backtest(panel: DemandPanel, region: str, horizon_days: int, coverage: float) -> Backtest:
    """Hide the last ``horizon_days`` of one region's panel and score both forecasts.

    Raises:
        InputDataError: Too little history for the horizon.
    """
    region_panel = panel.of_region(region)
    needed = horizon_days + 7 * MIN_HISTORY_WEEKS
    if len(panel.dates) < needed:
        raise InputDataError(
            f"region {region}: a backtest of {horizon_days} days needs at least {needed} days "
            f"of history, the aggregates hold {len(panel.dates)} ({panel.dates[0]} to "
            f"{panel.end}); lower forecast_horizon_weeks or wait for more history"
        )
    train = region_panel.until(horizon_days)
    actual = region_panel.hours[:, -horizon_days:]
    model = forecast_lifecycle(train, horizon_days)
    naive = seasonal_naive(train.hours, horizon_days)
    scored = train.ages_in_weeks() >= MIN_HISTORY_WEEKS
    interval = IntervalModel.fit(actual[scored].sum(1), model[scored].sum(1), coverage)
    result = Backtest(
        region=region,
        origin=train.end,
        horizon_days=horizon_days,
        series=int(scored.sum()),
        wape_model=wape(actual[scored], model[scored]),
        wape_seasonal_naive=wape(actual[scored], naive[scored]),
        interval=interval,
    )
    logger.info("backtest %s", result.summary())
    return result


def check_improvement(results: list[Backtest], required: float) -> None:
    """Fail loudly unless every region's model beats seasonal naive by ``required``.

    Raises:
        ForecastQualityError: Naming each region that falls short, with both WAPEs.
    """
    short = [r for r in results if not r.improvement >= required]
    if short:
        details = "; ".join(
            f"{r.region}: WAPE {r.wape_model:.4f} vs seasonal-naive {r.wape_seasonal_naive:.4f}"
            f" ({r.improvement:+.1%})"
            for r in short
        )
        raise ForecastQualityError(
            f"the demand forecast does not beat the seasonal-naive forecast by at least "
            f"{required:.0%} on the backtest (held-out {short[0].horizon_days} days after "
            f"{short[0].origin}) in {len(short)} region(s): {details}. Nothing was written and "
            "the chain stops here; fix the model or the data before anything downstream runs"
        )


def forecast_demand(
    panel: DemandPanel,
    configs: Mapping[str, RegionConfig],
    *,
    required_improvement: float = REQUIRED_IMPROVEMENT,
) -> tuple[pa.Table, list[Backtest]]:
    """Backtest every region, then forecast each region's horizon (weekly and in total).

    Args:
        panel: Daily demand up to the as-of day (its last day).
        configs: Region -> config (horizon, interval coverage).
        required_improvement: Lowest ``1 - WAPE(model) / WAPE(seasonal naive)`` per region.

    Returns:
        ``(forecast rows, backtests)``; the rows carry each series' weekly hours, horizon
        total and its interval.

    Raises:
        ForecastQualityError: A region's backtest falls short; nothing is forecast.
    """
    results = [
        backtest(panel, region, 7 * config.forecast_horizon_weeks, config.interval_coverage)
        for region, config in configs.items()
    ]
    check_improvement(results, required_improvement)
    parts = []
    for result, (region, config) in zip(results, configs.items(), strict=True):
        region_panel = panel.of_region(region)
        weeks = config.forecast_horizon_weeks
        daily = forecast_lifecycle(region_panel, 7 * weeks)
        weekly = daily.reshape(len(region_panel.regions), weeks, 7).sum(axis=2)
        total = weekly.sum(axis=1)
        low, high = result.interval.interval(total)
        parts.append(
            pa.table(
                {
                    "as_of_date": pa.array([panel.end] * len(total), pa.date32()),
                    "region": pa.array(region_panel.regions.tolist(), pa.string()),
                    "title_id": pa.array(region_panel.title_ids.tolist(), pa.string()),
                    "horizon_weeks": pa.array(np.full(len(total), weeks), pa.int32()),
                    "weekly_hours": pa.array(np.round(weekly, 2).tolist(), pa.list_(pa.float64())),
                    "total_hours": pa.array(np.round(total, 2), pa.float64()),
                    "total_low": pa.array(np.round(low, 2), pa.float64()),
                    "total_high": pa.array(np.round(high, 2), pa.float64()),
                },
                schema=FORECAST_SCHEMA,
            )
        )
    return pa.concat_tables(parts), results
