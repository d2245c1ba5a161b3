"""TitlePerformanceFlow end to end through metaflow.Runner, then the real service over its
cache generation; plus its schedule, and failures that leave the published generation alone."""

import datetime as dt
import json
import subprocess
import sys

import pandas as pd
import perf_viz as pv
import pytest
from metaflow import Runner

from mlplatform.cache import Cache
from mlplatform.data import DataFrame, Table
from mlplatform.orchestration import discover_flows

from .conftest import FLOW, PIPELINE, SAMPLE, SERVICE
from .oracle import CONFIG, Oracle

SAMPLE_PARAMETERS = {
    "sample_titles": SAMPLE["n_titles"],
    "sample_days": SAMPLE["n_days"],
    "sample_sessions": SAMPLE["sessions"],
    "seed": SAMPLE["seed"],
}


def test_the_flow_is_scheduled_daily():
    flows, errors = discover_flows(PIPELINE)
    assert not errors
    (flow,) = [f for f in flows if f.name == "TitlePerformanceFlow"]
    assert flow.schedule is not None and flow.schedule.cron == "0 0 * * ?"  # daily at 00:00
    assert set(flow.parameters) >= {"date", "sample_titles", "sample_days", "seed"}


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_daily_run_publishes_a_generation_the_service_answers_and_can_roll_back_to(
    mlp_home, mlp_serve, tmp_path
):
    config = tmp_path / "config.json"  # fewer, smaller tasks than the default configuration
    config.write_text(json.dumps({**CONFIG.model_dump(), "aggregate_tasks": 2}))
    runner = Runner(
        str(FLOW), show_output=False, cwd=str(tmp_path), config=[("perf_config", str(config))]
    )
    with runner.run(date="2026-03-31", **SAMPLE_PARAMETERS) as running:
        assert running.status == "successful", running.stderr
        run = running.run
        log = running.stdout + running.stderr
        assert "seeding it with 12 titles and 35 days of viewing up to 2026-03-31" in log
        assert len(list(run["aggregate"])) == 2 and len(list(run["write"])) == 2
        published = run.data.published
        run_id = run.pathspec
    cache = Cache(CONFIG.cache_namespace)
    assert cache.current_generation() == published["generation"]
    assert published["previous"] is None and published["key_count"] > 0

    # The daily table: one row per title x country x day, exactly the sessions' counts.
    oracle = Oracle()
    daily = DataFrame.load(CONFIG.daily_table).to_pandas()
    assert len(Table(CONFIG.daily_table).snapshots()) == 1  # one commit of both tasks' files
    assert not daily.duplicated(["title_id", "country", "view_date"]).any()
    expected = oracle.sessions.groupby(["title_id", "country", "view_date"]).size()
    got = daily.set_index(["title_id", "country", "view_date"])["views"].sort_index()
    pd.testing.assert_series_equal(got, expected.sort_index(), check_names=False, check_dtype=False)

    # A newer generation (as of the day before), published meanwhile, keeps the flow's one.
    newer = pv.run_locally(pv.load_config(config), dt.date(2026, 3, 30))
    assert newer["previous"] == published["generation"]
    statuses = {info.id: info.status for info in cache.generations()}
    assert statuses[published["generation"]] == "previous"

    served = mlp_serve(SERVICE, "--min-workers", "1")
    with served.client() as client:
        meta = client.get("/meta").json()
        assert (meta["generation"], meta["date_max"]) == (newer["generation"], "2026-03-30")
        rollback = subprocess.run(
            [sys.executable, "-c", "from mlplatform.cli import main; main()",
             "cache", "rollback", CONFIG.cache_namespace],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert rollback.returncode == 0, rollback.stderr
        meta = client.get("/meta").json()
        assert meta["generation"] == published["generation"] and meta["run_id"] == run_id
        assert meta["date_max"] == "2026-03-31"
        title = meta["titles"][0]["title_id"]
        answer = client.post(
            "/timeseries", json={"titles": [title], "country": "US", "metric": "completion_rate"}
        ).json()
        assert answer["generation"] == published["generation"]
        assert answer["totals"][0]["value"] == pytest.approx(
            oracle.total([title], ["US"], "completion_rate"), abs=1e-6
        )
        assert client.post("/timeseries", json={"titles": ["nope"]}).status_code == 404


@pytest.mark.integration
def test_a_failing_run_leaves_the_published_generation_current(mlp_home):
    config = pv.load_config()
    first = pv.run_locally(config, dt.date(2026, 3, 31), **SAMPLE)
    # The same tables with a region less: the write step refuses the viewing of its countries.
    regions = dict(config.regions)
    regions.pop("APAC")
    fewer = pv.load_config({**config.model_dump(), "regions": regions})
    with pytest.raises(pv.InputDataError, match=r"countries \['AU', 'JP', 'KR'\]"):
        pv.run_locally(fewer, dt.date(2026, 3, 31), **SAMPLE)
    cache = Cache(config.cache_namespace)
    assert cache.current_generation() == first["generation"]
    assert [i.status for i in cache.generations()].count("open") == 1  # invisible to readers
    assert cache.get("meta")["generation"] == first["generation"]


@pytest.mark.integration
def test_a_date_before_any_viewing_is_refused_before_anything_is_written(mlp_home):
    config = pv.load_config()
    pv.run_locally(config, dt.date(2026, 3, 31), **SAMPLE)
    with pytest.raises(pv.InputDataError, match="has no viewing on or before 2025-01-01"):
        pv.plan_run(config, dt.date(2025, 1, 1), n_titles=1, n_days=1, sessions=1, seed=0)
