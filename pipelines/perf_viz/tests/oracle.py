"""Expected answers computed straight from the viewing sessions with pandas.

Independent of the pipeline's cube and cache values: a check of what the service says.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import perf_viz as pv

from mlplatform.config import load_settings
from mlplatform.data import DataFrame, Table

CONFIG = pv.load_config()
THRESHOLD = CONFIG.completion_threshold - 1e-6


class Oracle:
    """The sessions and titles of a profile, and the figures the service should answer."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        settings = load_settings(env) if env else load_settings()
        viewing = Table(CONFIG.viewing_table, settings=settings)
        titles = Table(CONFIG.titles_table, settings=settings)
        self.sessions = DataFrame.load(viewing).to_pandas()
        self.sessions["fraction"] = self.sessions.minutes_viewed.astype(float) / (
            self.sessions.runtime_minutes.astype(float)
        )
        self.titles = DataFrame.load(titles).to_pandas().set_index("title_id")
        self.sessions["genre"] = self.sessions.title_id.map(self.titles.genre)

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

    @staticmethod
    def metric(rows: pd.DataFrame, metric: str) -> float | None:
        if metric == "views":
            return float(len(rows))
        if metric == "hours_viewed":
            return float(rows.minutes_viewed.astype(float).sum() / 60)
        return float((rows.fraction >= THRESHOLD).mean()) if len(rows) else None

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
