"""Seeded sample data: a title catalogue and its daily viewing sessions.

Deterministic in its arguments, so every fresh clone sees the same numbers. Titles launch
with a spike that decays to a long tail; each has its own popularity, country affinities and
propensity to be watched to the end, so titles, countries and retention curves differ.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from perf_viz._errors import PerfVizConfigError
from perf_viz._schemas import TITLES_SCHEMA, VIEWING_SCHEMA

__all__ = ["GENRES", "SampleData", "generate_sample"]

logger = logging.getLogger(__name__)

GENRES = ("Drama", "Comedy", "Thriller", "Documentary", "Animation", "Sci-Fi")
_ADJECTIVES = (
    "Silent", "Crimson", "Hidden", "Last", "Broken", "Golden", "Midnight", "Frozen", "Wild",
    "Distant", "Hollow", "Electric", "Quiet", "Burning", "Iron", "Paper", "Velvet", "Lost",
)  # fmt: skip
_NOUNS = (
    "Harbour", "Circuit", "Orchard", "Signal", "Frontier", "Garden", "Empire", "Tide",
    "Lantern", "Voyage", "Archive", "Summit", "Canyon", "Mirror", "Station", "Kingdom",
    "Reef", "Atlas",
)  # fmt: skip


@dataclass(frozen=True)
class SampleData:
    """Generated input tables.

    Attributes:
        titles: The catalogue (`TITLES_SCHEMA`).
        viewing: Viewing sessions (`VIEWING_SCHEMA`) from ``first_date`` to ``last_date``.
        first_date: The first day with viewing.
        last_date: The last day with viewing (the as-of date it was generated for).
    """

    titles: pa.Table
    viewing: pa.Table
    first_date: dt.date
    last_date: dt.date


def _title_names(rng: np.random.Generator, n: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for _ in range(n):
        name = f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        suffix = 2
        base = name
        while name in seen:
            name = f"{base} {suffix}"
            suffix += 1
        seen.add(name)
        names.append(name)
    return names


def generate_sample(
    *,
    as_of: dt.date,
    countries: list[str],
    n_titles: int = 40,
    n_days: int = 90,
    sessions: float = 4.0,
    seed: int = 0,
) -> SampleData:
    """Generate a catalogue and ``n_days`` of viewing sessions ending on ``as_of``.

    Args:
        as_of: The last day of viewing.
        countries: Countries viewing happens in.
        n_titles: Titles in the catalogue (about a quarter released before the first day).
        n_days: Days of viewing.
        sessions: Scale of the expected sessions per title, country and day.
        seed: Random seed.

    Raises:
        PerfVizConfigError: A size is not positive.
    """
    if n_titles < 1 or n_days < 1 or sessions <= 0 or not countries:
        raise PerfVizConfigError(
            f"sample sizes must be positive: titles={n_titles}, days={n_days}, "
            f"sessions={sessions}, countries={countries}"
        )
    rng = np.random.default_rng(seed)
    first = as_of - dt.timedelta(days=n_days - 1)
    genre_count = min(len(GENRES), max(2, n_titles // 4))
    genres = [GENRES[i % genre_count] for i in range(n_titles)]
    rng.shuffle(genres)
    kinds = np.where(rng.random(n_titles) < 0.6, "movie", "series")
    runtimes = np.where(
        kinds == "movie", rng.integers(85, 151, n_titles), rng.integers(25, 61, n_titles)
    ).astype(np.int32)
    # A quarter of the catalogue was released before the window: only its long tail shows.
    back_catalogue = rng.permutation(n_titles) < round(n_titles / 4)
    offsets = np.where(
        back_catalogue,
        -rng.integers(1, 366, n_titles),
        rng.integers(0, max(1, n_days - 2), n_titles),
    )
    releases = [first + dt.timedelta(days=int(o)) for o in offsets]
    titles = pa.table(
        {
            "title_id": [f"t{i + 1:04d}" for i in range(n_titles)],
            "title": _title_names(rng, n_titles),
            "genre": genres,
            "kind": kinds.tolist(),
            "release_date": releases,
            "runtime_minutes": runtimes,
        },
        schema=TITLES_SCHEMA,
    )

    popularity = rng.lognormal(0.0, 0.8, n_titles)
    finish_share = rng.uniform(0.3, 0.8, n_titles)
    affinity = rng.lognormal(0.0, 0.5, (n_titles, len(countries)))
    country_size = rng.lognormal(0.0, 0.6, len(countries))
    days = np.arange(n_days)
    age = days[None, :] - offsets[:, None]  # days since release, per title and day
    launch_curve = np.where(age >= 0, 0.2 + 1.8 * np.exp(-np.maximum(age, 0) / 10.0), 0.0)
    weekday = np.array([(first + dt.timedelta(days=int(d))).weekday() for d in days])
    weekend = np.where(weekday >= 5, 1.3, 1.0)
    expected = (
        sessions
        * popularity[:, None, None]
        * affinity[:, :, None]
        * country_size[None, :, None]
        * (launch_curve * weekend[None, :])[:, None, :]
    )
    counts = rng.poisson(expected).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    title_index, country_index, day_index = np.unravel_index(cell, expected.shape)
    finished = rng.random(cell.size) < finish_share[title_index]
    fraction = np.where(
        finished,
        np.minimum(1.0, rng.uniform(0.92, 1.05, cell.size)),
        rng.beta(1.2, 2.5, cell.size),
    )
    runtime = runtimes[title_index].astype(np.float32)
    viewing = pa.table(
        {
            "view_date": pa.array(
                np.datetime64(first, "D") + day_index.astype("timedelta64[D]"), pa.date32()
            ),
            "title_id": pa.array(titles.column("title_id").to_numpy(False)[title_index]),
            "country": pa.array(np.asarray(countries)[country_index]),
            "profile_id": rng.integers(1, 10_000_000, cell.size),
            "minutes_viewed": (fraction * runtime).astype(np.float32),
            "runtime_minutes": runtime,
        },
        schema=VIEWING_SCHEMA,
    )
    logger.info(
        "generated %d titles and %d viewing sessions from %s to %s (seed %d)",
        n_titles,
        viewing.num_rows,
        first,
        as_of,
        seed,
    )
    return SampleData(titles, viewing, first, as_of)
