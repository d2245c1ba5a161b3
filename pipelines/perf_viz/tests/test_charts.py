"""Charts carry the service's values and render as SVG (readable in the page)."""

import perf_viz as pv

SERIES = {
    "metric": "views",
    "metric_label": "Views",
    "points": [
        {"date": "2026-03-01", "title_id": "t1", "title": "A", "value": 3.0},
        {"date": "2026-03-02", "title_id": "t1", "title": "A", "value": 5.0},
    ],
}


def test_the_time_series_chart_holds_the_points_and_renders_as_svg():
    spec = pv.timeseries_chart(SERIES).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert [row["value"] for row in values] == [3.0, 5.0]
    assert spec["usermeta"]["embedOptions"]["renderer"] == "svg"
    assert spec["encoding"]["y"]["title"] == "Views"


def test_breakdown_retention_and_peers_charts():
    bars = {"by": "genre", "metric": "completion_rate", "metric_label": "Completion rate",
            "bars": [{"label": "Drama", "value": 0.5}]}  # fmt: skip
    spec = pv.breakdown_chart(bars).to_dict()
    assert spec["encoding"]["x"]["title"] == "Genre"
    assert spec["encoding"]["y"]["axis"]["format"] == ".0%"
    curves = {"points": [{"title_id": "t1", "title": "A", "position": 0, "share": 1.0}]}
    assert pv.retention_chart(curves).to_dict()["mark"]["type"] == "line"
    comparison = {"curve": [{"day": 1, "series": "Peer median", "value": 2.0}]}
    spec = pv.peers_chart(comparison, "hours_viewed", "Hours viewed").to_dict()
    assert spec["encoding"]["y"]["title"] == "Hours viewed, cumulative"
