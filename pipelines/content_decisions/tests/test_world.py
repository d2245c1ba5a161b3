"""The seeded sample world: its shape, its determinism, restatements and the periodic world."""

import datetime as dt
from collections import Counter

import content_decisions as cd
import numpy as np
import pyarrow.compute as pc


def test_the_default_world_has_190_countries_in_five_regions_and_2000_titles():
    world = cd.World(cd.WorldSpec())
    countries = world.countries
    assert countries.num_rows == 190 == len(set(countries["country"].to_pylist()))
    by_region = Counter(countries["region"].to_pylist())
    assert set(by_region) == set(cd.REGIONS) and all(n >= 3 for n in by_region.values())
    assert world.titles.num_rows == 2_000
    assert set(world.titles["genre"].to_pylist()) == set(cd.GENRES)
    offers = world.license_offers
    assert offers.num_rows == 2_000 * 5  # every title offered in every region
    assert pc.min(offers["cost_per_week_k"]).as_py() > 0


def test_a_day_of_the_default_world_has_more_than_100k_rows():
    world = cd.World(cd.WorldSpec())
    day = world.viewing_day(world.spec.history_end)
    assert day.num_rows > 100_000  # x 84 days of history: millions of rows
    assert pc.min(day["starts"]).as_py() >= 1
    assert day.schema == cd.World(cd.WorldSpec()).viewing_day(world.spec.start).schema


def test_the_same_day_is_the_same_data_and_a_revision_restates_it(small_world):
    day = small_world.spec.history_end
    again = cd.World(small_world.spec).viewing_day(day)
    assert small_world.viewing_day(day).equals(again)
    restated = small_world.viewing_day(day, revision=1)
    assert not restated.equals(again)
    assert restated.column("country").unique().to_pylist() == again["country"].unique().to_pylist()


def test_history_covers_every_day_of_the_spec(small_world):
    history = small_world.history()
    days = sorted(set(history["date"].to_pylist()))
    assert days == small_world.spec.history_dates()
    assert len(days) == 42 and days[-1] == small_world.spec.history_end


def test_the_periodic_world_repeats_every_week_exactly():
    world = cd.World(cd.WorldSpec(n_titles=50, countries_per_region=1, noise=0, lifecycle=False))
    monday = world.spec.start
    first = world.viewing_day(monday).drop_columns(["date"])
    later = world.viewing_day(monday + dt.timedelta(days=21)).drop_columns(["date"])
    assert first.equals(later)
    tuesday = world.viewing_day(monday + dt.timedelta(days=1))
    assert not np.array_equal(tuesday["starts"].to_numpy(), first["starts"].to_numpy())


def test_the_spec_round_trips_through_json():
    spec = cd.WorldSpec(n_titles=10, countries_per_region=2, history_weeks=3, seed=9, noise=0.5)
    assert cd.WorldSpec.from_json(spec.to_json()) == spec
