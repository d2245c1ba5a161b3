"""The Streamlit app's widget logic through `streamlit.testing.v1.AppTest`, against the real
service: the numbers it shows are the service's, bad links and failures are messages."""

import perf_viz as pv
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mlplatform.testing import free_port

from .conftest import APP

pytestmark = pytest.mark.integration


def _app(monkeypatch, url, *, timeout_s="10", **query):
    monkeypatch.setenv("PERF_VIZ_SERVICE_URL", url)
    monkeypatch.setenv("PERF_VIZ_TIMEOUT_S", timeout_s)
    st.cache_data.clear()
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params.update(query)
    return app.run()


def _texts(elements):
    return [element.value for element in elements]


def _totals(service, **body):
    with service.client() as client:
        answer = client.post("/timeseries", json=body).raise_for_status().json()
    return [pv.format_metric(answer["metric"], total["value"]) for total in answer["totals"]]


@pytest.fixture
def app(monkeypatch, published_service):
    return _app(monkeypatch, published_service.url)


def test_the_first_look_shows_the_most_viewed_titles_with_the_services_numbers(
    app, published_service, meta
):
    assert not app.exception and not app.error
    latest = pv.selection_from_link({}, meta).titles
    assert app.multiselect(key="titles").value == latest
    assert _texts(app.metric) == _totals(published_service, titles=latest)
    assert meta["generation"] in app.caption[0].value  # data freshness


def test_changing_the_metric_and_the_country_changes_the_numbers(app, published_service):
    titles = app.multiselect(key="titles").value
    app.radio(key="metric").set_value("hours_viewed").run()
    assert _texts(app.metric) == _totals(published_service, titles=titles, metric="hours_viewed")
    app.selectbox(key="country").set_value("FR").run()
    expected = _totals(published_service, titles=titles, metric="hours_viewed", country="FR")
    assert _texts(app.metric) == expected
    assert "Hours viewed, FR" in app.subheader[0].value


def test_picking_a_region_resets_the_country_and_limits_its_choices(app, meta):
    app.selectbox(key="country").set_value("FR").run()
    app.selectbox(key="region").set_value("APAC").run()
    country = app.selectbox(key="country")
    assert country.value == pv.ALL_COUNTRIES
    assert country.options == [pv.ALL_COUNTRIES, *meta["regions"]["APAC"]]


def test_breakdown_and_peers(app, published_service, meta):
    app.radio(key="breakdown").set_value("genre").run()
    table = app.table[0].value
    assert list(table.columns) == ["Genre", "Views"]
    assert set(table["Genre"]) <= set(meta["genres"])
    app.toggle(key="compare").set_value(True).run()
    app.radio(key="window").set_value(7).run()
    assert any("First 7 days against comparable titles" in s.value for s in app.subheader)
    titles = app.multiselect(key="titles").value
    with published_service.client() as client:
        answer = client.post("/peers", json={"titles": titles, "window": 7}).json()
    shown = [c for c in answer["comparisons"] if c["observable"]]
    assert _texts(app.metric)[-len(shown) :] == [
        pv.format_metric("views", c["value"]) for c in shown
    ]


def test_a_link_with_unknown_names_says_so_and_shows_the_rest(monkeypatch, published_service):
    app = _app(
        monkeypatch, published_service.url, titles="t0001,t9999", country="XX", end="2019-01-01"
    )
    warnings = _texts(app.warning)
    assert any("Unknown title 't9999'" in w for w in warnings)
    assert any("Unknown country 'XX'" in w for w in warnings)
    assert any("outside the published data" in w for w in warnings)
    assert app.multiselect(key="titles").value == ["t0001"]
    assert not app.exception and len(app.metric) == 1


def test_an_empty_cache_says_no_data_published_yet(monkeypatch, empty_service):
    app = _app(monkeypatch, empty_service.url)
    assert not app.exception
    assert "No data published yet" in app.info[0].value
    assert not app.sidebar.multiselect  # nothing to pick from


def test_a_service_that_is_down_is_a_message_not_a_traceback(monkeypatch):
    app = _app(monkeypatch, f"http://127.0.0.1:{free_port()}")
    assert not app.exception
    assert "The performance service is down." in app.error[0].value


@pytest.mark.timeout(60)
def test_a_slow_service_is_a_message_not_a_traceback(monkeypatch):
    import socket

    with socket.socket() as silent:  # accepts (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        app = _app(monkeypatch, f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_s="0.5")
    assert not app.exception
    assert "The performance service is slow." in app.error[0].value
    assert "did not answer within 0.5 s" in app.error[0].value
