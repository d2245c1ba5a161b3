"""The app's widget logic: a link's selection, checked against the data; query bodies."""

import datetime as dt

import perf_viz as pv
import pytest

META = {
    "generation": "20260401T000000-abcd1234",
    "published": "2026-04-01T00:05:00+00:00",
    "date_min": "2026-03-01",
    "date_max": "2026-03-31",
    "countries": ["FR", "DE", "US"],
    "regions": {"EU": ["FR", "DE"], "NA": ["US"]},
    "launch_windows": [7, 28],
    "title_count": 4,
    "titles": [
        {
            "title_id": f"t{i}",
            "title": f"Title {i}",
            "genre": "Drama",
            "release_date": f"2026-03-0{i}",
            "views": views,
        }
        for i, views in zip(range(1, 5), [30, 90, 10, 50], strict=True)
    ],
}


def test_without_a_link_the_most_viewed_titles_and_every_published_day_are_shown():
    link = pv.selection_from_link({}, META)
    assert link.titles == ["t2", "t4", "t1"]
    assert (link.region, link.country) == (pv.ALL_REGIONS, pv.ALL_COUNTRIES)
    assert link.dates == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert (link.metric, link.breakdown, link.compare, link.window) == (
        "views",
        "country",
        False,
        28,
    )
    assert link.problems == []


def test_a_link_sets_every_widget():
    params = {
        "titles": "t2,Title 3",
        "country": "de",
        "metric": "hours_viewed",
        "start": "2026-03-05",
        "end": "2026-04-30",
        "breakdown": "genre",
        "peers": "7",
    }
    link = pv.selection_from_link(params, META)
    assert link.titles == ["t2", "t3"]
    assert (link.region, link.country) == ("EU", "DE")  # the country's region
    assert link.dates == (dt.date(2026, 3, 5), dt.date(2026, 3, 31))  # clipped to the data
    assert (link.metric, link.breakdown, link.compare, link.window) == (
        "hours_viewed",
        "genre",
        True,
        7,
    )
    assert link.problems == []


def test_what_the_data_lacks_is_named_and_left_out():
    params = {"titles": ["t1", "Nope"], "country": "XX", "region": "Mars", "metric": "likes"}
    link = pv.selection_from_link(params, META)
    assert link.titles == ["t1"]
    assert (link.region, link.country, link.metric) == (pv.ALL_REGIONS, pv.ALL_COUNTRIES, "views")
    assert link.problems == [
        "Unknown title 'Nope' in the link: the published data has no title with that id or name.",
        "Unknown region 'Mars' in the link: the regions are EU, NA.",
        "Unknown country 'XX' in the link: the published data covers FR, DE, US.",
        "Unknown metric 'likes' in the link: metrics are "
        "['views', 'hours_viewed', 'completion_rate'].",
    ]


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        ("2025-01-01", "2025-01-31", "is outside the published data (2026-03-01 to 2026-03-31)"),
        ("2026-03-20", "2026-03-10", "is outside the published data"),
        ("yesterday", None, "Start 'yesterday' is not a date; expected YYYY-MM-DD"),
    ],
)
def test_dates_outside_the_data_fall_back_to_every_day_and_say_so(start, end, says):
    params = {"start": start, **({"end": end} if end else {})}
    link = pv.selection_from_link(params, META)
    assert link.dates == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert len(link.problems) == 1 and says in link.problems[0]


def test_bodies_carry_the_scope_range_and_metric():
    selection = pv.Selection(
        titles=["t1"],
        region="EU",
        country=None,
        metric="completion_rate",
        start=dt.date(2026, 3, 2),
        end=dt.date(2026, 3, 9),
        breakdown="genre",
        peers_window=7,
    )
    assert selection.timeseries_body() == {
        "region": "EU",
        "start": "2026-03-02",
        "end": "2026-03-09",
        "titles": ["t1"],
        "metric": "completion_rate",
    }
    assert selection.breakdown_body()["by"] == "genre"
    assert "metric" not in selection.retention_body()
    assert selection.peers_body() == {
        "region": "EU",
        "titles": ["t1"],
        "metric": "completion_rate",
        "window": 7,
    }
    country = pv.Selection(["t1"], "EU", "FR", "views", dt.date(2026, 3, 2), dt.date(2026, 3, 3))
    assert country.scope() == {"country": "FR"}


def test_freshness_names_the_generation_and_its_publish_time():
    assert pv.freshness_text(META) == (
        "Data: generation 20260401T000000-abcd1234, published 2026-04-01 00:05 UTC; viewing up "
        "to 2026-03-31 (4 titles)"
    )
    assert pv.title_label(META["titles"][0]) == "Title 1 (Drama, 2026)"


@pytest.mark.parametrize(
    ("error", "level", "starts"),
    [
        (pv.ServiceUnreachableError("x"), "error", "**The performance service is down.** x"),
        (pv.ServiceSlowError("x"), "error", "**The performance service is slow.** x"),
        (pv.NothingPublishedError("x"), "info", "**No data published yet.** x"),
        (pv.UnknownNameError("title", "q", "unknown title 'q'"), "error", "unknown title 'q'"),
    ],
)
def test_problems_become_one_line_messages(error, level, starts):
    assert pv.problem_message(error) == (level, starts)


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("views", 12345.0, "12,345"),
        ("hours_viewed", 1234.56, "1,234.6"),
        ("completion_rate", 0.4567, "45.7%"),
        ("views", None, "n/a"),
    ],
)
def test_values_are_formatted_per_metric(metric, value, text):
    assert pv.format_metric(metric, value) == text
