"""Daily rows -> cache values: cubes, scopes, series from release, launch windows, peers."""

import datetime as dt

import numpy as np
import perf_viz as pv
import pyarrow.compute as pc
import pytest
from perf_viz._keys import genre_key, launch_key, series_key
from perf_viz._rollups import (
    DateAxis,
    build_catalogue,
    build_cube,
    genre_totals,
    genre_values,
    title_buckets,
    title_values,
)

from .tiny import AXIS, CONFIG, FIRST, daily, titles

CATALOGUE = build_catalogue(titles(), AXIS, CONFIG)


def test_the_catalogue_lists_released_titles_with_peers_of_the_same_genre_and_window():
    late = build_catalogue(titles([("z", "Drama", 9)]), AXIS, CONFIG)
    assert late == []  # released after the last day
    peers = {row["title_id"]: row["peers"] for row in CATALOGUE}
    # d (released before the data) is nobody's peer: its launch is not in the data.
    assert peers == {"a": ["b"], "b": ["a"], "c": [], "d": ["a", "b"]}
    assert CATALOGUE[0]["release_date"] == "2026-03-02"


def test_a_cube_adds_up_rows_of_one_cell_and_scopes_sum_their_countries():
    rows = daily([("a", "FR", 1, 3), ("a", "FR", 1, 4), ("a", "DE", 2, 5), ("a", "US", 2, 1)])
    cube = build_cube(rows, ["a"], CONFIG, AXIS)
    assert cube.counts[0, 0, 1, 0] == 7  # FR, day 1, views
    scoped = cube.by_scope(CONFIG)
    scope_names = ["FR", "DE", "US", "EU", "NA", "ALL"]
    views = {name: scoped[0, i, :, 0].tolist() for i, name in enumerate(scope_names)}
    assert views["EU"] == [0, 7, 5, 0, 0]
    assert views["NA"] == [0, 0, 1, 0, 0]
    assert views["ALL"] == [0, 7, 6, 0, 0]


def test_rows_of_unknown_countries_or_titles_are_refused_with_their_names():
    with pytest.raises(pv.InputDataError, match=r"countries \['XX'\].*add them to a region"):
        build_cube(daily([("a", "XX", 0, 1)]), ["a"], CONFIG, AXIS)
    with pytest.raises(pv.InputDataError, match=r"titles \['q'\]"):
        build_cube(daily([("q", "FR", 0, 1)]), ["a"], CONFIG, AXIS)


def test_series_start_at_release_and_launches_count_days_since_release():
    rows = daily([("a", "FR", 1, 2), ("a", "FR", 2, 4), ("a", "FR", 4, 6), ("d", "US", 0, 1)])
    cube = build_cube(rows, ["a", "d"], CONFIG, AXIS)
    values = title_values(cube, CATALOGUE, CONFIG)
    series = values[series_key("a", "FR")]
    assert series["start"] == "2026-03-02"
    assert series["views"] == [2, 4, 0, 6]  # days 1..4
    assert series["completions"] == [1, 2, 0, 3]
    assert series["hours"] == [1.0, 2.0, 0.0, 3.0]
    assert series["reached"][0] == [2, 2, 2, 2, 1, 1, 1, 1, 1, 0]  # views - position // 50
    assert values[series_key("a", "US")]["views"] == [0, 0, 0, 0]
    launch = values[launch_key("a", "EU")]
    assert launch["observable"] and launch["views"] == [2, 4, 0]  # the longest window: 3 days
    assert launch["windows"] == {
        "2": {"days": 2, "complete": True},
        "3": {"days": 3, "complete": True},
    }
    # d was released before the data starts: its launch is not observable.
    assert values[launch_key("d", "ALL")] == {"release_date": "2026-02-27", "observable": False}
    assert values[series_key("d", "ALL")]["start"] == "2026-03-01"


def test_genre_totals_add_up_across_buckets():
    rows = daily([("a", "FR", 1, 2), ("b", "FR", 3, 5), ("c", "DE", 0, 7)])
    genres = ["Comedy", "Drama"]
    parts = []
    for title_id in ("a", "b", "c"):
        own = rows.filter(pc.equal(rows["title_id"], title_id))
        cube = build_cube(own, [title_id], CONFIG, AXIS)
        parts.append(genre_totals(cube, CATALOGUE, genres, CONFIG))
    values = genre_values(np.sum(parts, axis=0), genres, AXIS, CONFIG)
    assert values[genre_key("Drama", "FR")]["views"] == [0, 2, 0, 5, 0]
    assert values[genre_key("Drama", "ALL")]["views"] == [0, 2, 0, 5, 0]
    assert values[genre_key("Comedy", "EU")]["views"] == [7, 0, 0, 0, 0]
    assert values[genre_key("Comedy", "US")]["views"] == [0] * 5


def test_title_buckets_are_balanced_deterministic_and_never_empty():
    assert title_buckets(["c", "a", "b", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert title_buckets(["a"], 4) == [["a"]]
    assert title_buckets([], 3) == []


def test_an_empty_date_axis_is_refused():
    with pytest.raises(pv.InputDataError, match="empty"):
        DateAxis(FIRST, FIRST - dt.timedelta(days=1))
