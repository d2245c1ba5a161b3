"""The seeded sample world: titles, countries in regions, licence offers and daily viewing.

Everything is generated offline from a `WorldSpec` and its seed, so every fresh clone sees
the same world. Viewing of one day is a function of the spec, the date and a revision
number alone (`World.viewing_day`): the history seeded at the start and a day the "upstream
ETL" appends later are the same data, and a restatement of a day (revision > 0) differs.

How demand is made, per title x country x day (expected starts, then Poisson counts):
audience of the country x popularity of the title x language affinity (full in the title's
own language, less elsewhere) x the region's taste for the genre x the title's lifecycle
(a decay after release towards a floor) x the region's weekday profile x a slow trend x a
shock per title x region x day and one per title x country x day. Hours are starts times
the title's hours per start. ``noise=0`` and ``lifecycle=False`` give a world that repeats
itself every week exactly, where nothing beats the seasonal-naive forecast.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from content_decisions._errors import InputDataError
from content_decisions._schemas import (
    COUNTRY_SCHEMA,
    OFFER_SCHEMA,
    TITLE_SCHEMA,
    VIEWING_SCHEMA,
    WORLD_SCHEMA,
)
from content_decisions._vocabulary import COUNTRIES, GENRES, LANGUAGES, REGIONS

__all__ = ["World", "WorldSpec"]

_GENRE_WEIGHTS = (0.18, 0.14, 0.1, 0.09, 0.08, 0.07, 0.06, 0.05, 0.06, 0.07, 0.05, 0.05)

_LANGUAGE_WEIGHTS = (
    0.42, 0.09, 0.04, 0.05, 0.04, 0.03, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03, 0.02, 0.02, 0.02,
    0.02, 0.01,
)  # fmt: skip

_WORDS_A = (
    "Silent", "Broken", "Golden", "Last", "Hidden", "Crimson", "Distant", "Wild", "Frozen",
    "Secret", "Midnight", "Burning", "Lost", "Iron", "Paper", "Electric", "Quiet", "Northern",
)  # fmt: skip
_WORDS_B = (
    "Harbor", "Kingdom", "River", "Garden", "Empire", "Signal", "Orchard", "Horizon", "Station",
    "Circus", "Mirror", "Valley", "Frontier", "Lighthouse", "Archive", "Carnival", "Desert",
)  # fmt: skip
# Monday first; MEA's weekend is Friday-Saturday.
_WEEKDAY = {
    "default": (0.86, 0.82, 0.84, 0.9, 1.08, 1.3, 1.2),
    "mea": (0.9, 0.86, 0.88, 1.02, 1.28, 1.16, 0.9),
}
_STARTS_PER_SUBSCRIBER_DAY = 1e-5


@dataclass(frozen=True)
class WorldSpec:
    """What sample world to generate.

    Attributes:
        n_titles: Titles in the catalogue (each offered for licence in every region).
        countries_per_region: Use only the first this many countries of each region
            (None: all 190); small worlds keep tests fast.
        start: First day of the viewing history.
        history_weeks: Weeks of viewing history seeded before the first ETL run.
        seed: Seed of every random draw.
        noise: Scale of the random shocks and counting noise (0: none, deterministic).
        lifecycle: Titles' demand decays after release, with a slow trend on top (False:
            flat demand that repeats every week).
    """

    n_titles: int = 2_000
    countries_per_region: int | None = None
    start: dt.date = dt.date(2026, 1, 5)
    history_weeks: int = 12
    seed: int = 0
    noise: float = 1.0
    lifecycle: bool = True

    def __post_init__(self) -> None:
        if self.n_titles < 1:
            raise InputDataError(f"n_titles must be >= 1, got {self.n_titles}")
        if self.countries_per_region is not None and self.countries_per_region < 1:
            raise InputDataError(
                f"countries_per_region must be >= 1 or None, got {self.countries_per_region}"
            )
        if self.history_weeks < 1:
            raise InputDataError(f"history_weeks must be >= 1, got {self.history_weeks}")
        if self.noise < 0:
            raise InputDataError(f"noise must be >= 0, got {self.noise}")

    @property
    def history_end(self) -> dt.date:
        """The last day of the seeded history."""
        return self.start + dt.timedelta(days=7 * self.history_weeks - 1)

    def history_dates(self) -> list[dt.date]:
        """Every day of the seeded history, oldest first."""
        return [self.start + dt.timedelta(days=i) for i in range(7 * self.history_weeks)]

    def to_json(self) -> str:
        """The spec as JSON (kept in the ``etl.sample_world`` table)."""
        return json.dumps({**asdict(self), "start": self.start.isoformat()}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> WorldSpec:
        """The spec from `to_json` output."""
        values = json.loads(text)
        values["start"] = dt.date.fromisoformat(values["start"])
        return cls(**values)


@dataclass
class World:
    """A generated world: its dimension tables and the viewing of any day.

    Args:
        spec: What to generate.
    """

    spec: WorldSpec

    # -- dimensions -------------------------------------------------------------------------

    @cached_property
    def countries(self) -> pa.Table:
        """``etl.countries``: country, region, language, subscribers_k."""
        rng = np.random.default_rng([self.spec.seed, 1])
        limit = self.spec.countries_per_region
        rows = [
            row
            for region in REGIONS
            for row in [c for c in COUNTRIES if c[1] == region][: limit or None]
        ]
        subscribers = np.round(rng.lognormal(6.3, 1.1, len(rows)) + 20).astype(np.int64)
        big = {"US": 75_000, "CA": 8_000, "BR": 20_000, "MX": 12_000, "GB": 16_000}
        big |= {"DE": 14_000, "FR": 11_000, "JP": 9_000, "KR": 6_000, "IN": 15_000}
        for index, (code, _, _) in enumerate(rows):
            subscribers[index] = big.get(code, subscribers[index])
        return pa.table(
            {
                "country": [r[0] for r in rows],
                "region": [r[1] for r in rows],
                "language": [r[2] for r in rows],
                "subscribers_k": subscribers,
            },
            schema=COUNTRY_SCHEMA,
        )

    @cached_property
    def _titles(self) -> dict[str, np.ndarray]:
        spec = self.spec
        rng = np.random.default_rng([spec.seed, 2])
        n = spec.n_titles
        genre = rng.choice(len(GENRES), n, p=_normalised(_GENRE_WEIGHTS))
        language = rng.choice(len(LANGUAGES), n, p=_normalised(_LANGUAGE_WEIGHTS))
        series = rng.random(n) < 0.4
        history_days = 7 * spec.history_weeks
        recent = rng.random(n) < 0.2
        release = np.where(
            recent,
            rng.integers(-45, max(history_days - 7, -44), n),
            rng.integers(-1100, -45, n),
        )
        runtime = np.where(series, rng.integers(25, 61, n), rng.integers(80, 160, n))
        return {
            "genre": genre,
            "language": language,
            "series": series,
            "release_offset": release,
            "runtime_min": runtime.astype(np.int32),
            "popularity": rng.lognormal(0.0, 1.25, n),
            "appeal": rng.beta(2.0, 5.0, n),  # how well a title travels abroad
            "decay_days": np.where(series, rng.uniform(25, 90, n), rng.uniform(8, 40, n)),
            "floor": rng.uniform(0.12, 0.45, n),
            "hours_per_start": np.where(
                series, rng.uniform(0.9, 2.2, n), runtime / 60 * rng.uniform(0.6, 0.95, n)
            ),
            "price_markup": rng.lognormal(0.0, 0.45, n),
            "name_a": rng.integers(0, len(_WORDS_A), n),
            "name_b": rng.integers(0, len(_WORDS_B), n),
        }

    @cached_property
    def titles(self) -> pa.Table:
        """``etl.titles``: title_id, name, genre, language, kind, release_date, runtime_min."""
        t = self._titles
        n = self.spec.n_titles
        release = [self.spec.start + dt.timedelta(days=int(d)) for d in t["release_offset"]]
        return pa.table(
            {
                "title_id": self.title_ids,
                "name": [
                    f"The {_WORDS_A[a]} {_WORDS_B[b]}" + (f" {i % 7 + 2}" if i % 5 == 0 else "")
                    for i, (a, b) in enumerate(zip(t["name_a"], t["name_b"], strict=True))
                ],
                "genre": [GENRES[g] for g in t["genre"]],
                "language": [LANGUAGES[g] for g in t["language"]],
                "kind": np.where(t["series"], "series", "movie").tolist(),
                "release_date": pa.array(release, pa.date32()),
                "runtime_min": t["runtime_min"][:n],
            },
            schema=TITLE_SCHEMA,
        )

    @cached_property
    def title_ids(self) -> list[str]:
        """Ids of the titles, ``T00000`` upwards."""
        return [f"T{i:05d}" for i in range(self.spec.n_titles)]

    @cached_property
    def _structure(self) -> dict[str, np.ndarray]:
        """Per title x country factors that do not change from day to day."""
        t = self._titles
        countries = self.countries
        country_language = np.array(
            [
                LANGUAGES.index(x) if x in LANGUAGES else -1
                for x in countries["language"].to_pylist()
            ]
        )
        region_of_country = np.array(
            [REGIONS.index(r) for r in countries["region"].to_pylist()], dtype=np.int64
        )
        rng = np.random.default_rng([self.spec.seed, 3])
        taste = rng.lognormal(0.0, 0.3, (len(REGIONS), len(GENRES)))
        same = t["language"][:, None] == country_language[None, :]
        english = (t["language"] == LANGUAGES.index("en"))[:, None]
        abroad = np.where(english, 0.35 + 0.6 * t["appeal"][:, None], 0.8 * t["appeal"][:, None])
        affinity = np.where(same, 1.0, abroad)
        audience = countries["subscribers_k"].to_numpy().astype(np.float64) * 1000
        base = (
            _STARTS_PER_SUBSCRIBER_DAY
            * audience[None, :]
            * t["popularity"][:, None]
            * affinity
            * taste[region_of_country][:, t["genre"]].T
        )
        weekday = np.array(
            [_WEEKDAY.get(region, _WEEKDAY["default"]) for region in REGIONS]
        )  # region x weekday
        return {"base": base, "region_of_country": region_of_country, "weekday": weekday}

    def _lifecycle(self, day: dt.date) -> np.ndarray:
        t = self._titles
        if not self.spec.lifecycle:
            return np.ones(self.spec.n_titles)
        age = (day - self.spec.start).days - t["release_offset"]
        decay = t["floor"] + (1 - t["floor"]) * np.exp(-np.maximum(age, 0) / t["decay_days"])
        trend = 1.0 + 0.0015 * (day - self.spec.start).days
        return np.where(age >= 0, decay * trend, 0.0)

    def expected_starts(self, day: dt.date) -> np.ndarray:
        """Expected starts per title x country on ``day``, before shocks (titles x countries)."""
        s = self._structure
        weekday = s["weekday"][s["region_of_country"], day.weekday()]
        return s["base"] * self._lifecycle(day)[:, None] * weekday[None, :]

    # -- facts --------------------------------------------------------------------------------

    def viewing_day(self, day: dt.date, revision: int = 0) -> pa.Table:
        """``etl.viewing_daily`` rows of one day: every title x country with a start.

        Args:
            day: The date.
            revision: 0 for the first delivery of the day; another number is a restatement
                (different counts, same structure).
        """
        s = self._structure
        rng = np.random.default_rng([self.spec.seed, 4, day.toordinal(), revision])
        expected = self.expected_starts(day)
        noise = self.spec.noise
        n_titles, n_countries = expected.shape
        if noise > 0:
            region_shock = rng.lognormal(0.0, 0.15 * noise, (n_titles, len(REGIONS)))
            country_shock = rng.lognormal(0.0, 0.25 * noise, (n_titles, n_countries))
            lam = expected * region_shock[:, s["region_of_country"]] * country_shock
            starts = rng.poisson(lam)
            per_start = self._titles["hours_per_start"][:, None] * rng.lognormal(
                0.0, 0.08 * noise, (n_titles, n_countries)
            )
        else:
            starts = np.round(expected).astype(np.int64)
            per_start = np.broadcast_to(self._titles["hours_per_start"][:, None], starts.shape)
        # Country-major order: rows of one country are contiguous, titles ascending.
        starts_t = starts.T
        country_index, title_index = np.nonzero(starts_t > 0)
        counts = starts_t[country_index, title_index]
        hours = np.round(counts * per_start.T[country_index, title_index], 2)
        country_codes = np.array(self.countries["country"].to_pylist(), dtype=object)
        title_ids = np.array(self.title_ids, dtype=object)
        return pa.table(
            {
                "date": pa.array(np.full(len(counts), np.datetime64(day, "D"))).cast(pa.date32()),
                "country": pa.array(country_codes[country_index], pa.string()),
                "title_id": pa.array(title_ids[title_index], pa.string()),
                "starts": pa.array(counts, pa.int64()),
                "hours": pa.array(hours, pa.float64()),
            },
            schema=VIEWING_SCHEMA,
        )

    def history(self) -> pa.Table:
        """Viewing of every day of the seeded history."""
        return pa.concat_tables([self.viewing_day(day) for day in self.spec.history_dates()])

    @cached_property
    def license_offers(self) -> pa.Table:
        """``etl.license_offers``: what a week of each title's licence costs in each region.

        Priced from the title's expected demand in the region at the end of the history
        (what a seller can see) times a markup of its own, so some titles are bargains and
        others are overpriced.
        """
        expected = self.expected_starts(self.spec.history_end)  # titles x countries
        s = self._structure
        region_hours = np.zeros((self.spec.n_titles, len(REGIONS)))
        np.add.at(
            region_hours.T,
            s["region_of_country"],
            (expected * self._titles["hours_per_start"][:, None]).T,
        )
        # A week of that demand at 0.3 k$ per 1,000 hours, marked up, at least 0.1 k$.
        cost = region_hours * 7 * 0.3 / 1000 * self._titles["price_markup"][:, None] + 0.1
        present = sorted({REGIONS.index(r) for r in self.countries["region"].to_pylist()})
        title_ids = np.array(self.title_ids, dtype=object)
        return pa.table(
            {
                "title_id": np.repeat(title_ids, len(present)).tolist(),
                "region": [REGIONS[r] for r in present] * self.spec.n_titles,
                "cost_per_week_k": np.round(cost[:, present].ravel(), 1),
            },
            schema=OFFER_SCHEMA,
        )

    def world_table(self) -> pa.Table:
        """``etl.sample_world``: the spec as JSON, so later ETL days match the seeded world."""
        return pa.table({"spec": [self.spec.to_json()]}, schema=WORLD_SCHEMA)


def _normalised(weights: tuple[float, ...]) -> np.ndarray:
    array = np.asarray(weights, dtype=np.float64)
    return array / array.sum()
