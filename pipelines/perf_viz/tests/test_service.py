"""The real service (``mlp serve service.py``) over a published profile: answers checked
against the viewing sessions themselves, and every bad input of the issue."""

import datetime as dt

import pytest

from .oracle import Oracle

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def oracle(published_env):
    return Oracle(published_env)


@pytest.fixture(scope="module")
def client(published_service):
    with published_service.client(timeout=30) as client:
        yield client


def _post(client, path, **body):
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_meta_names_the_generation_dates_and_catalogue(client, meta, oracle):
    assert meta["generation"] and meta["published"].startswith("20")
    assert meta["as_of"] == meta["date_max"] == "2026-03-31"
    assert meta["title_count"] == len(meta["titles"]) == len(oracle.titles)
    assert meta["date_min"] == oracle.sessions.view_date.min().isoformat()
    assert set(meta["countries"]) == set(oracle.sessions.country)
    views = oracle.sessions.groupby("title_id").size()
    assert {t["title_id"]: t["views"] for t in meta["titles"]} == views.to_dict()


@pytest.mark.parametrize("metric", ["views", "hours_viewed", "completion_rate"])
def test_a_time_series_in_a_country_is_what_the_sessions_say(client, meta, oracle, metric):
    title = meta["titles"][0]["title_id"]
    answer = _post(client, "/timeseries", titles=[title], country="FR", metric=metric)
    assert answer["generation"] == meta["generation"]
    got = {p["date"]: p["value"] for p in answer["points"]}
    expected = oracle.daily(title, ["FR"], metric)
    for day, value in expected.items():
        assert got[day] == pytest.approx(value, abs=1e-3), day
    assert all(got[day] == 0 for day in set(got) - set(expected))  # days without views
    assert answer["totals"][0]["value"] == pytest.approx(
        oracle.total([title], ["FR"], metric), abs=1e-3
    )


def test_a_region_and_a_date_range(client, meta, oracle):
    titles = [t["title_id"] for t in meta["titles"][:3]]
    answer = _post(
        client, "/timeseries", titles=titles, region="APAC", start="2026-03-20", end="2026-03-25"
    )
    assert (answer["start"], answer["end"]) == ("2026-03-20", "2026-03-25")
    countries = meta["regions"]["APAC"]
    start, end = dt.date(2026, 3, 20), dt.date(2026, 3, 25)
    for total in answer["totals"]:
        assert total["value"] == oracle.total([total["title_id"]], countries, "views", start, end)


@pytest.mark.parametrize(("by", "column"), [("country", "country"), ("genre", "genre")])
def test_breakdowns_of_every_title(client, oracle, by, column):
    answer = _post(client, "/breakdown", by=by, metric="hours_viewed")
    expected = oracle.by(column, "hours_viewed")
    assert {bar["label"]: pytest.approx(bar["value"], abs=1e-2) for bar in answer["bars"]} == {
        label: pytest.approx(value, abs=1e-2) for label, value in expected.items()
    }
    values = [bar["value"] for bar in answer["bars"]]
    assert values == sorted(values, reverse=True)


def test_retention_of_a_title_in_a_region(client, meta, oracle):
    title = meta["titles"][1]["title_id"]
    answer = _post(client, "/retention", titles=[title], region="EMEA")
    expected = oracle.retention(title, meta["regions"]["EMEA"])
    shares = {p["position"]: p["share"] for p in answer["points"]}
    assert shares[0] == 1.0
    for position, share in expected.items():
        assert shares[position] == pytest.approx(share, abs=1e-5)


def test_peers_over_the_first_seven_days(client, meta, oracle):
    observable = [t for t in meta["titles"] if t["peers"] and t["release_date"] > meta["date_min"]]
    title = observable[0]
    answer = _post(client, "/peers", titles=[title["title_id"]], window=7)
    comparison = answer["comparisons"][0]
    days = comparison["days"]
    assert comparison["value"] == oracle.first_days(title["title_id"], days)
    peer_values = {p["title_id"]: p["value"] for p in comparison["peers"]}
    for peer_id, value in peer_values.items():
        assert value == oracle.first_days(peer_id, days)
    assert set(peer_values) <= set(title["peers"])
    assert comparison["curve"][days - 1]["value"] == comparison["value"]  # cumulative


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/timeseries", {"titles": ["t9999"]}, 404, "unknown title 't9999'"),
        ("/retention", {"titles": ["t0001"], "country": "ZZ"}, 404, "unknown country 'ZZ'"),
        ("/breakdown", {"region": "Atlantis"}, 404, "unknown region 'Atlantis'"),
        ("/timeseries", {"titles": ["t0001"], "start": "2020-01-01", "end": "2020-12-31"}, 422,
         "date range 2020-01-01..2020-12-31 is outside the published data"),
        ("/peers", {"titles": ["t0001"], "window": 9}, 422, "window 9 is not a launch window"),
    ],
)  # fmt: skip
def test_bad_queries_get_their_status_and_name_what_is_wrong(client, path, body, status, says):
    response = client.post(path, json=body)
    assert response.status_code == status
    assert says in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"titles": ["t0001"], "metric": "likes"}, "metric"),
        ({"titles": ["t0001"], "start": "2026-03-20", "end": "2026-03-10"}, "is after end"),
        ({"titles": ["t0001"], "country": "FR", "region": "EMEA"}, "not both"),
        ({"titles": []}, "titles"),
        ({"titles": ["t0001"], "colour": "red"}, "colour"),
    ],
)  # fmt: skip
def test_malformed_bodies_are_422_naming_the_field(client, body, field):
    response = client.post("/timeseries", json=body)
    assert response.status_code == 422
    assert field in response.text


def test_an_empty_namespace_answers_503_no_data_published_yet(empty_service):
    with empty_service.client() as client:
        for response in (
            client.get("/meta"),
            client.post("/timeseries", json={"titles": ["t0001"]}),
        ):
            assert response.status_code == 503
            assert response.json()["kind"] == "nothing_published"
            assert "no data published yet" in response.json()["error"]
