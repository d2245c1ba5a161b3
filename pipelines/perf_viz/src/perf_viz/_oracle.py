"""Expected answers computed straight from the viewing sessions with pandas.

Independent of the pipeline's aggregation, cube and cache values (it reads the input tables
and counts sessions): a check of what the daily table and the service say. The tests
(``tests/oracle.py``) and the nightly hook (`perf_viz._nightly`) use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd

from mlplatform.config import load_settings
from mlplatform.data import DataFrame, Table
from perf_viz._config import PerfVizConfig, load_config

__all__ = ["CONFIG", "Oracle"]

CONFIG = load_config()


class Oracle:
    """The sessions and titles of a profile, and the figures the service should answer.

    Args:
        env: Variables naming the profile (``MLP_HOME``, ``MLP_CONFIG``); default this
            process's.
        config: The tables and regions; default ``perf_viz_config.json``.
    """

    def __init__(
        self, env: Mapping[str, str] | None = None, config: PerfVizConfig | None = None
    ) -> None:
        config = config or CONFIG
        # The aggregation's tolerance: 0.9 * runtime stored as float32 still counts as 90%.
        self.threshold = config.completion_threshold - 1e-6
        settings = load_settings(env) if env else load_settings()
        viewing = Table(config.viewing_table, settings=settings)
        titles = Table(config.titles_table, settings=settings)
        self.sessions = DataFrame.load(viewing).to_pandas()
        self.sessions["fraction"] = self.sessions.minutes_viewed.astype(float) / (
            self.sessions.runtime_minutes.astype(float)
        )
        self.titles = DataFrame.load(titles).to_pandas().set_index("title_id")
        self.sessions["genre"] = self.sessions.title_id.map(self.titles.genre)
        region_of = {c: region for region, countries in config.regions.items() for c in countries}
        self.sessions["region"] = self.sessions.country.map(region_of)

    def _select(self, titles=None, countries=None, start=None, end=None) -> pd.DataFrame:
        rows = self.sessions
        if titles is not None:
            rows = rows[rows.title_id.isin(titles)]
        if countries is not None:
            rows = rows[rows.country.isin(countries)]
        if start is not None:
            rows = rows[rows.view_date >= start]
        if end is not None:
            rows = rows[rows.view_date <= end]
        return rows

    def metric(self, rows: pd.DataFrame, metric: str) -> float | None:
        if metric == "views":
            return float(len(rows))
        if metric == "hours_viewed":
            return float(rows.minutes_viewed.astype(float).sum() / 60)
        return float((rows.fraction >= self.threshold).mean()) if len(rows) else None

    def daily(self, title: str, countries, metric: str) -> dict[str, float]:
        rows = self._select([title], countries)
        return {
            day.isoformat(): self.metric(group, metric) for day, group in rows.groupby("view_date")
        }

    def total(self, titles, countries=None, metric="views", start=None, end=None):
        return self.metric(self._select(titles, countries, start, end), metric)

    def by(self, column: str, metric: str, titles=None, countries=None) -> dict[str, float]:
        rows = self._select(titles, countries)
        return {key: self.metric(group, metric) for key, group in rows.groupby(column)}

    def retention(self, title: str, countries=None) -> dict[int, float]:
        rows = self._select([title], countries)
        return {p: float((rows.fraction >= p / 100 - 1e-6).mean()) for p in range(10, 101, 10)}

    def first_days(self, title: str, days: int, metric="views", countries=None) -> float | None:
        release = self.titles.release_date[title]
        rows = self._select([title], countries, release, release + dt.timedelta(days=days - 1))
        return self.metric(rows, metric)

    def cells(self) -> pd.DataFrame:
        """Views, completions and minutes per title x country x day, indexed by them."""
        rows = self.sessions.assign(
            completions=(self.sessions.fraction >= self.threshold).astype("int64"),
            minutes=self.sessions.minutes_viewed.astype(float),
        )
        grouped = rows.groupby(["title_id", "country", "view_date"])
        return pd.DataFrame(
            {
                "views": grouped.size(),
                "completions": grouped.completions.sum(),
                "minutes_viewed": grouped.minutes.sum(),
            }
        )
