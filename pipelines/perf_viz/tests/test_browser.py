"""A real headless Chromium against a real ``streamlit run``, started by ``mlp app perf_viz``:
change a widget, and the chart and the numbers on the page become what the service returns.

Debian's Chromium (/usr/bin/chromium, installed by scripts/test) driven by Playwright; no
browser is downloaded. The screenshot of the session goes to ``$PERF_VIZ_SCREENSHOT`` (the
README's picture, pipelines/perf_viz/docs/app.png) or the test's temporary folder.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import perf_viz as pv
import pytest

from mlplatform.testing import free_port

from .conftest import clean_environ

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_MLP = "from mlplatform.cli import main; main()"
_URL = re.compile(r"(http://127\.0\.0\.1:\d+)")


def _read_lines(process, lines, ready):
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Ctrl-C stops both"):
            ready.set()
    ready.set()


@pytest.fixture
def launched(published_env, tmp_path):
    """``mlp app perf_viz`` for real: its printed URLs, and the process."""
    process = subprocess.Popen(
        [sys.executable, "-c", _MLP, "app", "perf_viz", "--port", str(free_port()),
         "--log", str(tmp_path / "app.log")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=clean_environ(published_env),
    )  # fmt: skip
    lines, ready = [], threading.Event()
    threading.Thread(target=_read_lines, args=(process, lines, ready), daemon=True).start()
    assert ready.wait(timeout=150), f"mlp app perf_viz printed no URL: {lines}"
    app_line = next((line for line in lines if line.startswith("perf_viz app: ")), None)
    service_line = next((line for line in lines if line.startswith("  service: ")), None)
    assert app_line and service_line, lines
    yield {
        "process": process,
        "lines": lines,
        "app": _URL.search(app_line).group(1),
        "service": _URL.search(service_line).group(1),
    }
    if process.poll() is None:  # the test failed midway: stop both as Ctrl-C would
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()  # its children die with it (PR_SET_PDEATHSIG)
            process.wait(timeout=30)


def _metric_texts(page):
    return page.locator('[data-testid="stMetricValue"]').all_inner_texts()


def _chart_labels(page, title):
    """The aria-labels of the marks of the chart whose title is ``title``."""
    chart = page.locator(".vega-embed", has=page.locator(f"svg text:text-is('{title}')"))
    return chart.locator("svg [aria-label]").evaluate_all(
        "marks => marks.map(m => m.getAttribute('aria-label'))"
    )


def _points(labels):
    """(title, date, value) of the marks: their aria-labels are ``title | date | value``."""
    marks = [label.split(" | ") for label in labels if label and label.count(" | ") == 2]
    return {(title, day, float(value)) for title, day, value in marks}


def _service_points(answer):
    return {(p["title"], p["date"], p["value"]) for p in answer["points"]}


def _wait_for(predicate, what, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(300)
def test_changing_the_metric_in_a_browser_shows_the_services_numbers(launched, tmp_path):
    from playwright.sync_api import sync_playwright

    service = httpx.Client(base_url=launched["service"], timeout=30)
    meta = service.get("/meta").raise_for_status().json()
    assert meta["generation"] in launched["lines"][1]  # the command says what it serves
    titles = pv.selection_from_link({}, meta).titles

    def series(metric):
        body = {"titles": titles, "metric": metric}
        return service.post("/timeseries", json=body).raise_for_status().json()

    views, hours = series("views"), series("hours_viewed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(launched["app"], wait_until="domcontentloaded")
        page.wait_for_selector('[data-testid="stMetricValue"]', timeout=90_000)
        page.get_by_text("Views per day", exact=True).wait_for(timeout=60_000)

        expected = [pv.format_metric("views", t["value"]) for t in views["totals"]]
        assert _metric_texts(page)[: len(expected)] == expected
        _wait_for(lambda: _points(_chart_labels(page, "Views per day")), "the chart")
        assert _points(_chart_labels(page, "Views per day")) == _service_points(views)
        assert page.get_by_text(f"generation {meta['generation']}").count() == 1  # freshness

        page.locator('[data-testid="stSidebar"]').get_by_text("Hours viewed", exact=True).click()
        expected = [pv.format_metric("hours_viewed", t["value"]) for t in hours["totals"]]
        _wait_for(lambda: _metric_texts(page)[: len(expected)] == expected, "the new numbers")
        page.get_by_text("Hours viewed per day", exact=True).wait_for(timeout=60_000)
        labels = _chart_labels(page, "Hours viewed per day")
        assert _points(labels) == _service_points(hours)
        assert any(label.startswith("Y-axis titled 'Hours viewed'") for label in labels)

        page.locator('[data-testid="stSidebar"]').get_by_text("Compare to peers").click()
        page.get_by_text("First 28 days against comparable titles").wait_for(timeout=60_000)
        page.set_viewport_size({"width": 1400, "height": 2300})  # the whole page, peers too
        page.wait_for_timeout(2000)  # let the charts draw again at the new size
        screenshot = Path(os.environ.get("PERF_VIZ_SCREENSHOT", tmp_path / "app.png"))
        page.screenshot(path=str(screenshot), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
    assert screenshot.stat().st_size > 10_000

    # Ctrl-C stops both: the app and the service stop answering, the command exits 0.
    process = launched["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, launched["lines"]
    for url in (launched["app"], launched["service"]):
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=2)
    assert launched["lines"][-1] == "stopped the app and the service"
