"""The pipeline's part of ``mlp nightly``: the daily flow, its cache generation, the service.

As in production, the service (``mlp serve service.py``, one warm worker, a free loopback
port) is up first and answers 503 "no data published yet"; TitlePerformanceFlow then runs
through ``metaflow.Runner`` as ``flow.py run`` would (no ``--date``: yesterday, UTC), seeding
the sample in the fresh local profile and publishing a cache generation. The daily table it
commits is checked cell by cell against the viewing sessions; every endpoint's answers are
checked against figures counted straight from the sessions (`perf_viz._oracle`), bad input
included; the seeded query mix of ``benchmarks/service.py`` (`perf_viz._latency`) measures
each endpoint's p50 and p99 against the README's targets; at the default and large sizes,
the Streamlit app's first look (``AppTest``) must show the service's numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import random
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlplatform.nightly import NightlyContext

__all__ = ["nightly"]

PIPELINE = Path(__file__).resolve().parents[2]
FLOW = PIPELINE / "flow.py"
SERVICE = PIPELINE / "service.py"
APP = PIPELINE / "app.py"
METRICS = ("views", "hours_viewed", "completion_rate")
#: Answers and sessions agree to this (counts exactly; rates are rounded to 6 decimals).
TOLERANCE = 1e-3
#: Hours, relative: the cache holds each day's hours rounded to 4 decimals, and a query sums
#: up to days x titles of them (the tests allow 1e-2 on the small sample's sums).
HOURS_REL_TOLERANCE = 1e-5


def _sizes(context: NightlyContext) -> dict[str, Any]:
    """Sample, task counts and latency requests for this run's size."""
    return context.sized(
        # The tests' sample (tests/conftest.py) in the fewest tasks that still fan out.
        small={
            "sample": {"sample_titles": 12, "sample_days": 35, "sample_sessions": 3.0, "seed": 3},
            "tasks": {"aggregate_tasks": 1, "publish_tasks": 1},
            "latency": {"rounds": 1, "requests": 100},
            "app": False,  # AppTest costs 10-15 s on a busy machine; the tests cover the app
        },
        # The flow's default sample, the one the README's latency figures are measured on.
        default={
            "sample": {"sample_titles": 40, "sample_days": 90, "sample_sessions": 6.0, "seed": 0},
            "tasks": {"aggregate_tasks": 2, "publish_tasks": 2},
            "latency": {"rounds": 3, "requests": 100},
            "app": True,
        },
        # The default configuration's task counts and the benchmark's rounds.
        large={
            "sample": {"sample_titles": 40, "sample_days": 90, "sample_sessions": 6.0, "seed": 0},
            "tasks": {"aggregate_tasks": 4, "publish_tasks": 2},
            "latency": {"rounds": 5, "requests": 200},
            "app": True,
        },
    )


def _yesterday() -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


def _daily_run(context: NightlyContext, sizes: dict[str, Any]) -> tuple[Any, Any, dict]:
    """Run the flow as by hand; returns its run, configuration and published generation."""
    from metaflow import Runner

    import perf_viz as pv

    config = pv.load_config({**pv.load_config().model_dump(), **sizes["tasks"]})
    config_file = context.workdir / "perf_viz_config.json"
    config_file.write_text(json.dumps(config.model_dump()))
    sample = sizes["sample"]
    runner = Runner(
        str(FLOW),
        show_output=False,
        cwd=str(context.workdir),
        config=[("perf_config", str(config_file))],
    )
    days = {_yesterday()}
    with context.stage(
        f"TitlePerformanceFlow on {sample['sample_titles']} titles x {sample['sample_days']} "
        f"days ({config.aggregate_tasks} aggregate, {config.publish_tasks} write tasks)"
    ):
        with runner.run(**sample) as running:
            if running.status != "successful":
                raise RuntimeError(f"TitlePerformanceFlow failed:\n{running.stderr[-3000:]}")
            run = running.run
        days.add(_yesterday())  # the run may have crossed midnight (UTC)
        published = run.data.published
        as_of = run.data.plan.as_of.isoformat()
        tasks = sum(len(list(step)) for step in run)
    context.check(
        "flow: aggregates yesterday (UTC)",
        as_of in days,
        value=as_of,
        expected=" or ".join(sorted(days)),
    )
    context.figure("flow tasks", tasks)
    context.figure("cache keys published", published["key_count"])
    return run, config, published


def _check_tables(context: NightlyContext, config: Any, published: dict) -> Any:
    """The daily table against the sessions, and the cache's current generation."""
    with context.stage("daily table and cache generation against the sessions"):
        from mlplatform.cache import Cache
        from mlplatform.data import DataFrame, Table
        from perf_viz._oracle import Oracle

        oracle = Oracle(config=config)
        daily = DataFrame.load(config.daily_table).to_pandas()
        keys = ["title_id", "country", "view_date"]
        got = daily.set_index(keys)[["views", "completions", "minutes_viewed"]].sort_index()
        expected = oracle.cells().sort_index()
        same_cells = got.index.equals(expected.index)
        equal = 0
        if same_cells:
            exact = (got[["views", "completions"]] == expected[["views", "completions"]]).all(1)
            close = (got.minutes_viewed - expected.minutes_viewed).abs() <= 1e-6
            equal = int((exact & close).sum())
        snapshots = len(Table(config.daily_table).snapshots())
        current = Cache(config.cache_namespace).current_generation()
    context.figure("sessions seeded", len(oracle.sessions))
    context.figure("daily rows", len(daily))
    context.check(
        "daily table: one row per title x country x day with the sessions' counts",
        same_cells and equal == len(expected) and not daily.duplicated(keys).any(),
        value=f"{equal}/{len(expected)} cells equal",
        expected="every cell of the sessions, equal",
    )
    context.check("daily table: one commit", snapshots == 1, value=snapshots, expected="1")
    context.check(
        "cache: the run's generation is current",
        current == published["generation"],
        value=current,
        expected=published["generation"],
    )
    return oracle


@contextmanager
def _serving(context: NightlyContext) -> Iterator[Any]:
    """``mlp serve service.py --min-workers 1`` on a free loopback port, stopped on exit."""
    from mlplatform.testing import start_serving

    with context.stage("mlp serve service.py (one warm worker)"):
        served = start_serving(SERVICE, context.workdir / "serve.log", "--min-workers", "1")
    try:
        yield served
    finally:
        served.stop()


class _Tally:
    """Answers compared with the sessions' figures: how many, and the first that differ."""

    def __init__(self) -> None:
        self.compared = 0
        self.wrong: list[str] = []

    def same(self, what: str, got: Any, expected: Any, *, hours: bool = False) -> None:
        self.compared += 1
        if isinstance(got, int | float) and isinstance(expected, int | float):
            rel_tol = HOURS_REL_TOLERANCE if hours else 0.0
            equal = math.isclose(got, expected, rel_tol=rel_tol, abs_tol=TOLERANCE)
        else:
            equal = got == expected
        if not equal:
            self.wrong.append(f"{what}: {got!r} != {expected!r}")

    def record(self, context: NightlyContext, name: str, expected: str) -> None:
        context.check(
            name,
            self.compared > 0 and not self.wrong,
            value=f"{self.compared - len(self.wrong)}/{self.compared} equal",
            expected=expected,
            detail="; ".join(self.wrong[:5]),
        )


def _post(client: Any, path: str, **body: Any) -> dict:
    response = client.post(path, json=body)
    if response.status_code != 200:
        raise RuntimeError(f"POST {path} {body} answered {response.status_code}: {response.text}")
    return response.json()


def _scopes(meta: dict) -> list[tuple[dict, list[str] | None]]:
    """A country, a region and all countries: (query fields, their countries)."""
    region, countries = next(iter(meta["regions"].items()))
    country = countries[0]
    return [({"country": country}, [country]), ({"region": region}, countries), ({}, None)]


def _check_meta(tally: _Tally, meta: dict, oracle: Any, run: Any, published: dict) -> None:
    as_of = run.data.plan.as_of.isoformat()
    tally.same("generation", meta["generation"], published["generation"])
    tally.same("run", meta["run_id"], run.pathspec)
    tally.same("as_of", meta["as_of"], as_of)
    tally.same("date_max", meta["date_max"], oracle.sessions.view_date.max().isoformat())
    tally.same("date_min", meta["date_min"], oracle.sessions.view_date.min().isoformat())
    tally.same("countries", sorted(meta["countries"]), sorted(set(oracle.sessions.country)))
    tally.same("title_count", meta["title_count"], len(oracle.titles))
    views = oracle.sessions.groupby("title_id").size()
    for title in meta["titles"]:
        tally.same(f"views of {title['title_id']}", title["views"], int(views[title["title_id"]]))


def _check_timeseries(tally: _Tally, client: Any, meta: dict, oracle: Any) -> None:
    scopes = _scopes(meta)
    for index, title in enumerate(t["title_id"] for t in meta["titles"]):
        scope, countries = scopes[index % len(scopes)]
        for metric in METRICS:
            answer = _post(client, "/timeseries", titles=[title], metric=metric, **scope)
            tally.same(
                f"{title} {metric} {scope} generation", answer["generation"], meta["generation"]
            )
            got = {p["date"]: p["value"] for p in answer["points"]}
            expected = oracle.daily(title, countries, metric)
            for day in sorted(set(got) | set(expected)):
                # A day without views is 0 (also as a rate); a missing day is a mismatch.
                tally.same(
                    f"{title} {metric} {scope} {day}",
                    got.get(day),
                    expected.get(day, 0),
                    hours=metric == "hours_viewed",
                )
            tally.same(
                f"{title} {metric} {scope} total",
                answer["totals"][0]["value"],
                oracle.total([title], countries, metric),
                hours=metric == "hours_viewed",
            )
    # A date range within the data, several titles at once.
    first, last = (dt.date.fromisoformat(meta[k]) for k in ("date_min", "date_max"))
    third = dt.timedelta(days=(last - first).days // 3)
    start, end = first + third, last - third
    titles = [t["title_id"] for t in meta["titles"][:3]]
    _, countries = scopes[1]
    answer = _post(
        client,
        "/timeseries",
        titles=titles,
        start=start.isoformat(),
        end=end.isoformat(),
        **scopes[1][0],
    )
    tally.same("range", (answer["start"], answer["end"]), (start.isoformat(), end.isoformat()))
    for total in answer["totals"]:
        tally.same(
            f"{total['title_id']} views {start}..{end}",
            total["value"],
            oracle.total([total["title_id"]], countries, "views", start, end),
        )


def _same_bars(tally: _Tally, what: str, answer: dict, expected: dict, metric: str) -> None:
    """Bars against the sessions' figures: a label without views is 0 (a rate: None)."""
    got = {bar["label"]: bar["value"] for bar in answer["bars"]}
    tally.same(f"{what} labels", set(expected) <= set(got), True)
    empty = None if metric == "completion_rate" else 0.0
    for label in sorted(set(got) | set(expected)):
        tally.same(
            f"{what} {label}",
            got.get(label),
            expected.get(label, empty),
            hours=metric == "hours_viewed",
        )
    values = [bar["value"] for bar in answer["bars"] if bar["value"] is not None]
    tally.same(f"{what} largest first", values == sorted(values, reverse=True), True)


def _check_breakdown(tally: _Tally, client: Any, meta: dict, oracle: Any) -> None:
    for by in ("country", "region", "genre"):
        for metric in METRICS:
            answer = _post(client, "/breakdown", by=by, metric=metric)
            _same_bars(tally, f"{by} {metric}", answer, oracle.by(by, metric), metric)
    # Some titles, by country within a region.
    scope, countries = _scopes(meta)[1]
    titles = [t["title_id"] for t in meta["titles"][:3]]
    answer = _post(client, "/breakdown", by="country", titles=titles, **scope)
    expected = oracle.by("country", "views", titles, countries)
    _same_bars(tally, f"{titles} {scope}", answer, expected, "views")


def _check_retention(tally: _Tally, client: Any, meta: dict, oracle: Any) -> None:
    scopes = _scopes(meta)
    for index, title in enumerate(t["title_id"] for t in meta["titles"]):
        scope, countries = scopes[index % len(scopes)]
        answer = _post(client, "/retention", titles=[title], **scope)
        views = oracle.total([title], countries, "views")
        tally.same(f"{title} {scope} views", answer["views"].get(title), views)
        if not views:
            continue  # no share of no views
        shares = {p["position"]: p["share"] for p in answer["points"]}
        tally.same(f"{title} {scope} at 0", shares.get(0), 1.0)
        for position, share in oracle.retention(title, countries).items():
            tally.same(f"{title} {scope} at {position}", shares.get(position), share)


def _check_peers(tally: _Tally, client: Any, meta: dict, oracle: Any) -> None:
    observable = [t for t in meta["titles"] if t["peers"] and t["release_date"] > meta["date_min"]]
    for title in observable:
        for window in meta["launch_windows"]:
            answer = _post(client, "/peers", titles=[title["title_id"]], window=window)
            comparison = answer["comparisons"][0]
            days = comparison["days"]
            what = f"{title['title_id']} first {days} of {window} days"
            tally.same(what, comparison["value"], oracle.first_days(title["title_id"], days))
            for peer in comparison["peers"]:
                tally.same(
                    f"{what}, peer {peer['title_id']}",
                    peer["value"],
                    oracle.first_days(peer["title_id"], days),
                )
                tally.same(
                    f"{what}, {peer['title_id']} is a peer",
                    peer["title_id"] in title["peers"],
                    True,
                )
            tally.same(
                f"{what} cumulative", comparison["curve"][days - 1]["value"], comparison["value"]
            )


#: Bad input and what the service answers (README "Bad input", tests/test_service.py).
BAD_QUERIES = [
    ("/timeseries", {"titles": ["t9999"]}, 404, "unknown title 't9999'"),
    ("/retention", {"titles": ["t0001"], "country": "ZZ"}, 404, "unknown country 'ZZ'"),
    ("/breakdown", {"region": "Atlantis"}, 404, "unknown region 'Atlantis'"),
    ("/timeseries", {"titles": ["t0001"], "start": "2020-01-01", "end": "2020-12-31"}, 422,
     "date range 2020-01-01..2020-12-31 is outside the published data"),
    ("/peers", {"titles": ["t0001"], "window": 9}, 422, "window 9 is not a launch window"),
    ("/timeseries", {"titles": ["t0001"], "metric": "likes"}, 422, "metric"),
    ("/timeseries", {"titles": ["t0001"], "country": "FR", "region": "EMEA"}, 422, "not both"),
]  # fmt: skip


def _check_bad_input(tally: _Tally, client: Any) -> None:
    for path, body, status, says in BAD_QUERIES:
        response = client.post(path, json=body)
        tally.same(f"{path} {body} status", response.status_code, status)
        tally.same(f"{path} {body} names it", says in response.text, True)
    paths = set(client.get("/openapi.json").raise_for_status().json()["paths"])
    for path in ("/meta", "/timeseries", "/breakdown", "/retention", "/peers"):
        tally.same(f"{path} in OpenAPI", path in paths, True)


def _check_endpoints(
    context: NightlyContext, client: Any, oracle: Any, run: Any, published: dict
) -> dict:
    """Every endpoint, its answers against the sessions; returns ``/meta``."""
    checks = {
        "/timeseries": _check_timeseries,
        "/breakdown": _check_breakdown,
        "/retention": _check_retention,
        "/peers": _check_peers,
    }
    tallies = {name: _Tally() for name in ["/meta", *checks, "bad input"]}
    with context.stage("every endpoint, answers against the sessions"):
        meta = client.get("/meta").raise_for_status().json()
        _check_meta(tallies["/meta"], meta, oracle, run, published)
        for endpoint, check in checks.items():
            check(tallies[endpoint], client, meta, oracle)
        _check_bad_input(tallies["bad input"], client)
    within = f"all equal (within {TOLERANCE:g}; hours {HOURS_REL_TOLERANCE:g} relative)"
    for name, tally in tallies.items():
        if name == "bad input":
            tally.record(context, "bad input: status and message (404/422)", "all as documented")
        else:
            tally.record(context, f"{name}: answers equal the sessions", within)
    return meta


def _check_latency(context: NightlyContext, client: Any, meta: dict, sizes: dict) -> None:
    """The benchmark's query mix; each endpoint's p50 and p99 against the targets."""
    from perf_viz._latency import P50_TARGET_MS, P99_TARGET_MS, benchmark_queries, measure_http

    rounds, requests = sizes["latency"]["rounds"], sizes["latency"]["requests"]
    with context.stage(f"latency: {rounds} x {requests} queries per endpoint, one client"):
        queries = benchmark_queries(meta, random.Random(0))
        measure_http(client, queries, 1, 20)  # warm up: imports, SQLite pages
        figures = measure_http(client, queries, rounds, requests)
    context.figure("load average (1 min)", round(os.getloadavg()[0], 1))
    for endpoint, per_round in figures.items():
        p50 = statistics.median(r[0] for r in per_round)
        p99 = statistics.median(r[1] for r in per_round)
        context.at_most(f"{endpoint} p50", round(p50, 1), P50_TARGET_MS, unit=" ms")
        context.at_most(f"{endpoint} p99", round(p99, 1), P99_TARGET_MS, unit=" ms")


def app_first_look(url: str) -> dict[str, Any]:
    """What the Streamlit app shows at first (``AppTest``) against the service at ``url``.

    Run in its own process (`_check_app`): Metaflow's vendored ``typing_extensions``, once
    imported, breaks the import of Streamlit's generic classes.
    """
    os.environ["PERF_VIZ_SERVICE_URL"] = url
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(APP), default_timeout=120).run()
    return {
        "problems": [e.proto.message for e in app.exception] + [e.value for e in app.error],
        "titles": app.multiselect(key="titles").value if app.multiselect else [],
        "metrics": [metric.value for metric in app.metric],
        "caption": app.caption[0].value if app.caption else "",
    }


_APP_FIRST_LOOK = (
    "import json, sys; from perf_viz._nightly import app_first_look; "
    "print(json.dumps(app_first_look(sys.argv[1])))"
)


def _check_app(context: NightlyContext, client: Any, url: str, meta: dict) -> None:
    """The Streamlit app's first look shows the most viewed titles with the service's totals."""
    import perf_viz as pv

    with context.stage("app: first look (AppTest) against the service"):
        done = subprocess.run(
            [sys.executable, "-c", _APP_FIRST_LOOK, url],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the AppTest of app.py failed:\n{done.stderr[-3000:]}")
        shown = json.loads(done.stdout.strip().splitlines()[-1])
        titles = pv.selection_from_link({}, meta).titles
        answer = _post(client, "/timeseries", titles=titles)
        expected = [pv.format_metric(answer["metric"], t["value"]) for t in answer["totals"]]
    context.check(
        "app: no error or traceback",
        not shown["problems"],
        value=len(shown["problems"]),
        expected="0",
        detail="; ".join(shown["problems"])[:500],
    )
    context.check(
        "app: the most viewed titles with the service's totals",
        shown["titles"] == titles and shown["metrics"] == expected,
        value=f"{', '.join(shown['titles'])}: {', '.join(shown['metrics'])}",
        expected=f"{', '.join(titles)}: {', '.join(expected)}",
    )
    context.check(
        "app: caption names the generation",
        meta["generation"] in shown["caption"],
        value=shown["caption"],
        expected=meta["generation"],
    )


def _check_nothing_published(context: NightlyContext, client: Any) -> None:
    """Before the first run the namespace is empty: 503 "no data published yet"."""
    with context.stage("the service before the first run"):
        answers = [client.get("/meta"), client.post("/timeseries", json={"titles": ["t0001"]})]
    context.check(
        "before the first run: 503 no data published yet",
        all(a.status_code == 503 and a.json().get("kind") == "nothing_published" for a in answers),
        value=", ".join(str(a.status_code) for a in answers),
        expected="503, 503",
        detail=answers[0].text[:300],
    )


def nightly(context: NightlyContext) -> None:
    """The service up, the daily flow publishing to it; tables, endpoints, latency, the app."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    sizes = _sizes(context)
    # The service runs as in production, before the flow: it must switch to the generation
    # the run publishes.
    with _serving(context) as served, served.client(timeout=30) as client:
        _check_nothing_published(context, client)
        run, config, published = _daily_run(context, sizes)
        oracle = _check_tables(context, config, published)
        meta = _check_endpoints(context, client, oracle, run, published)
        _check_latency(context, client, meta, sizes)
        if sizes["app"]:
            _check_app(context, client, served.url, meta)
