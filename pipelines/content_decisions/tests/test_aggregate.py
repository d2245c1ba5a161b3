"""Aggregation per title x region, country shards, content fingerprints and dates."""

import datetime as dt

import content_decisions as cd
import pyarrow as pa
import pytest


def test_shards_cover_every_country_once_and_are_deterministic(small_world):
    shards = cd.country_shards(small_world.countries, 4)
    flat = [c for shard in shards for c in shard]
    assert sorted(flat) == sorted(small_world.countries["country"].to_pylist())
    assert len(shards) == 4 and all(shards)
    assert shards == cd.country_shards(small_world.countries, 4)
    assert len(cd.country_shards(small_world.countries, 100)) == 15  # one per country at most


def test_aggregates_of_shards_add_up_to_the_aggregates_of_all_countries(small_world):
    rows = pa.concat_tables(
        small_world.viewing_day(small_world.spec.start + dt.timedelta(days=d)) for d in range(3)
    )
    whole = cd.aggregate_viewing(rows, small_world.countries)
    parts = []
    for shard in cd.country_shards(small_world.countries, 3):
        mine = rows.filter(pa.compute.is_in(rows["country"], pa.array(shard)))
        parts.append(cd.aggregate_viewing(mine, small_world.countries))
    combined = cd.combine_aggregates(parts)
    assert combined.select(["date", "region", "title_id", "starts", "countries"]).equals(
        whole.select(["date", "region", "title_id", "starts", "countries"])
    )
    assert combined["hours"].to_numpy() == pytest.approx(whole["hours"].to_numpy())
    assert sum(whole["starts"].to_pylist()) == sum(rows["starts"].to_pylist())
    assert set(whole["region"].to_pylist()) == set(cd.REGIONS)


def test_the_fingerprint_ignores_row_order_and_sees_any_changed_value(small_world):
    rows = small_world.viewing_day(small_world.spec.history_end)
    fingerprint = cd.fingerprint_rows(rows)
    assert cd.fingerprint_rows(rows.take(list(range(rows.num_rows))[::-1])) == fingerprint
    hours = rows["hours"].to_pylist()
    hours[7] += 0.01
    changed = rows.set_column(rows.schema.get_field_index("hours"), "hours", pa.array(hours))
    assert cd.fingerprint_rows(changed) != fingerprint
    assert cd.fingerprint_rows(rows.slice(1)) != fingerprint
    restated = small_world.viewing_day(small_world.spec.history_end, revision=1)
    assert cd.fingerprint_rows(restated) != fingerprint


@pytest.mark.parametrize("value", ["2026-02-16", dt.date(2026, 2, 16), " 2026-02-16 "])
def test_parse_date_accepts_days(value):
    assert cd.parse_date(value) == dt.date(2026, 2, 16)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "missing"),
        ("", "missing"),
        ("2026-02-30", "not a calendar day"),
        ("16/02/2026", "not a calendar day"),
        ("2026-2-1", "not a calendar day"),
        (20260216, "not a calendar day"),
    ],
)
def test_parse_date_refuses_malformed_dates(value, message):
    with pytest.raises(cd.ETLPayloadError, match=message):
        cd.parse_date(value)
