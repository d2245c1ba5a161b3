"""`PerformanceStore` over a real cache namespace (SQLite, a fresh profile per test).

A generation of the tiny data set (tests/tiny.py), whose numbers can be checked by hand.
"""

import threading

import perf_viz as pv
import pytest
from perf_viz._keys import CATALOGUE_KEY, META_KEY
from perf_viz._publish import new_generation, publish_generation, write_values
from perf_viz._rollups import (
    build_catalogue,
    build_cube,
    genre_totals,
    genre_values,
    meta_value,
    title_values,
)

from mlplatform.cache import Cache

from .tiny import AXIS, CONFIG, daily, day, titles


def publish(scale=1):
    """Write and publish one generation of the tiny data (views times ``scale``)."""
    catalogue = build_catalogue(titles(), AXIS, CONFIG)
    genres = ["Comedy", "Drama"]
    cube = build_cube(daily(scale=scale), [row["title_id"] for row in catalogue], CONFIG, AXIS)
    generation = new_generation(CONFIG)
    values = {
        **title_values(cube, catalogue, CONFIG),
        **genre_values(genre_totals(cube, catalogue, genres, CONFIG), genres, AXIS, CONFIG),
        CATALOGUE_KEY: catalogue,
        META_KEY: meta_value(
            generation=generation,
            as_of=AXIS.last,
            axis=AXIS,
            catalogue=catalogue,
            genres=genres,
            config=CONFIG,
            run_id="test",
            daily_snapshot_id=None,
        ),
    }
    write_values(CONFIG, generation, values)
    return publish_generation(CONFIG, generation)["generation"]


@pytest.fixture
def store(mlp_home):
    with Cache(CONFIG.cache_namespace) as cache:
        yield pv.PerformanceStore(cache)


@pytest.fixture
def published(store):
    return publish()


def _values(answer):
    return [p.value for p in answer.points]


def test_timeseries_of_a_title_in_a_country_starts_at_its_release(store, published):
    answer = store.timeseries(pv.TimeseriesQuery(titles=["a"], country="fr"))
    assert answer.generation == published and answer.scope.name == "FR"
    assert [p.date for p in answer.points] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
    ]
    assert _values(answer) == [2, 4, 0, 6]
    assert answer.totals[0].value == 12 and answer.totals[0].hours_viewed == 6.0


def test_region_scopes_sum_their_countries_within_the_date_range(store, published):
    query = pv.TimeseriesQuery(titles=["a"], region="eu", start=day(2), end=day(3))
    answer = store.timeseries(query)
    assert answer.scope.name == "EU" and (answer.start, answer.end) == ("2026-03-03", "2026-03-04")
    assert _values(answer) == [7, 0]


def test_completion_rate_leaves_out_days_without_views(store, published):
    answer = store.timeseries(
        pv.TimeseriesQuery(titles=["Title A"], country="FR", metric="completion_rate")
    )
    assert _values(answer) == [0.5, 0.5, 0.5]  # day 3 had no views: no point, not 0
    assert answer.totals[0].value == 0.5


def test_breakdowns_by_country_region_and_genre_of_every_title(store, published):
    def bars(**query):
        answer = store.breakdown(pv.BreakdownQuery(**query))
        return [(bar.label, bar.value) for bar in answer.bars]

    assert bars(by="country") == [("FR", 18), ("DE", 10), ("US", 4)]
    assert bars(by="region") == [("EU", 28), ("NA", 4)]
    assert bars(by="genre") == [("Drama", 23), ("Comedy", 9)]
    assert bars(by="country", region="NA") == [("US", 4)]
    assert bars(by="genre", titles=["a", "c"], region="EU") == [("Drama", 15), ("Comedy", 7)]
    assert bars(by="country", titles=["b"], metric="hours_viewed") == [
        ("FR", 3.0),
        ("DE", 0.0),
        ("US", 0.0),
    ]


def test_retention_is_the_share_of_views_reaching_each_tenth(store, published):
    answer = store.retention(pv.RetentionQuery(titles=["a"]))
    shares = {p.position: p.share for p in answer.points}
    assert answer.views == {"a": 16}
    assert shares[0] == shares[10] == shares[40] == 1.0
    assert shares[50] == pytest.approx(11 / 16) and shares[100] == pytest.approx(7 / 16)


def test_peers_compare_the_same_first_days(store, published):
    answer = store.peers(pv.PeersQuery(titles=["a", "b", "d"], window=2))
    a, b, d = answer.comparisons
    assert (a.value, a.peer_median, a.ratio, a.percentile) == (9, 6, 1.5, 1.0)
    assert [(p.title_id, p.value) for p in a.peers] == [("b", 6)]
    assert [(c.series, c.day, c.value) for c in a.curve] == [
        ("Title A", 1, 2),
        ("Title A", 2, 9),
        ("Peer median", 1, 5),
        ("Peer median", 2, 6),
    ]
    assert b.complete and b.value == 6 and b.percentile == 0.0
    assert not d.observable and d.value is None and "before the data starts" in d.note


def test_a_title_with_fewer_days_than_the_window_is_compared_over_its_days(store, published):
    a, b = store.peers(pv.PeersQuery(titles=["a", "b"], window=3)).comparisons
    assert a.complete and a.days == 3 and a.peers == []  # b has had only 2 days
    assert "no comparable titles" in a.note
    assert not b.complete and b.days == 2 and b.peer_median == 9  # a's first 2 days
    assert "only 2 of 3 days" in b.note


def test_unknown_names_are_404_naming_them(store, published):
    with pytest.raises(pv.UnknownNameError, match="unknown title 'Title Q'") as error:
        store.timeseries(pv.TimeseriesQuery(titles=["a", "Title Q"]))
    assert error.value.status == 404 and error.value.body()["name"] == "Title Q"
    with pytest.raises(pv.UnknownNameError, match=r"unknown country 'XX'.*\['FR', 'DE', 'US'\]"):
        store.retention(pv.RetentionQuery(titles=["a"], country="XX"))
    with pytest.raises(pv.UnknownNameError, match=r"unknown region 'Mars'.*\['EU', 'NA'\]"):
        store.breakdown(pv.BreakdownQuery(region="Mars"))
    assert error.value.body()["kind"] == "unknown_title"


def test_a_date_range_outside_the_data_is_422_naming_both_ranges(store, published):
    query = pv.TimeseriesQuery(titles=["a"], start="2025-01-01", end="2025-01-31")
    with pytest.raises(
        pv.DateRangeError, match=r"2025-01-01..2025-01-31 is outside .*2026-03-01..2026-03-05"
    ):
        store.timeseries(query)


def test_a_window_that_is_not_a_launch_window_is_refused(store, published):
    with pytest.raises(pv.QueryError, match=r"window 7 is not a launch window.*\[2, 3\]"):
        store.peers(pv.PeersQuery(titles=["a"], window=7))


def test_an_empty_namespace_says_nothing_is_published(store):
    with pytest.raises(pv.NothingPublishedError, match="no data published yet") as error:
        store.meta()
    assert error.value.status == 503


def test_answers_follow_publishes_and_rollbacks(store, published):
    assert store.meta().generation == published
    second = publish(scale=2)
    answer = store.timeseries(pv.TimeseriesQuery(titles=["a"], country="FR"))
    assert answer.generation == second and answer.totals[0].value == 24
    Cache(CONFIG.cache_namespace).rollback()
    answer = store.timeseries(pv.TimeseriesQuery(titles=["a"], country="FR"))
    assert answer.generation == published and answer.totals[0].value == 12


@pytest.mark.timeout(120)
def test_every_answer_comes_whole_from_one_generation_while_generations_are_published(
    store, published
):
    scale_of = {published: 1}
    done = threading.Event()

    def publisher():
        try:
            for scale in range(2, 14):
                scale_of[publish(scale=scale)] = scale  # checked after the join
        finally:
            done.set()

    thread = threading.Thread(target=publisher)
    thread.start()
    answers = []
    while not done.is_set() or not answers:
        answers.append(store.breakdown(pv.BreakdownQuery(by="region")))
    thread.join(timeout=60)
    generations = {answer.generation for answer in answers}
    assert len(generations) >= 2  # the publishes happened while we read
    for answer in answers:
        scale = scale_of[answer.generation]
        assert [(bar.label, bar.value) for bar in answer.bars] == [
            ("EU", 28 * scale),
            ("NA", 4 * scale),
        ]
