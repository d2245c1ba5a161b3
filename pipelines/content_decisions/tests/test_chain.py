"""The whole chain through the real orchestrator and Runner, on a small sample world.

One ETL event starts ViewingAggregatesFlow, whose finish starts DemandForecastFlow, then
ValuationFlow, then SlateSelectionFlow, which publishes the slate table and the cache. The
tests of this module share one state folder and run in order: production first, then a
user branch next to it, then the same event again (unchanged data), then a restatement,
then the bad inputs.
"""

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import content_decisions as cd
import pytest
from metaflow import Runner

from mlplatform.cache import Cache
from mlplatform.data import DataFrame, Table
from mlplatform.orchestration import Orchestrator, list_runs, publish

pytestmark = [pytest.mark.integration]

PIPELINE = Path(__file__).resolve().parents[1]
CHAIN = ["ViewingAggregatesFlow", "DemandForecastFlow", "ValuationFlow", "SlateSelectionFlow"]
SEED = ["--titles", "200", "--countries-per-region", "2", "--history-weeks", "6", "--seed", "3"]
DAY = dt.date(2026, 2, 16)  # the day after the 6 weeks of history from 2026-01-05
PROD = cd.Outputs.for_branch("prod")
USER = cd.Outputs.for_branch("user.tester")


def _isolated_profile(patch: pytest.MonkeyPatch, folder: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("MLP_"):
            patch.delenv(name)
    (folder / "mlp.toml").write_text('profile = "local"\n')
    patch.setenv("MLP_HOME", str(folder / "mlp"))
    patch.setenv("MLP_CONFIG", str(folder / "mlp.toml"))
    patch.setenv("METAFLOW_USER", "tester")
    patch.setenv("MLP_ORCHESTRATION__MAX_ATTEMPTS", "1")  # a bad input is not retried
    patch.setenv("MLP_ORCHESTRATION__POLL_INTERVAL_S", "0.2")
    return folder / "mlp"


@pytest.fixture(scope="module")
def chain_home(tmp_path_factory):
    """One local profile for the module's ordered tests (the chain runs are expensive)."""
    with pytest.MonkeyPatch.context() as patch:
        yield _isolated_profile(patch, tmp_path_factory.mktemp("chain"))


def _etl(*args: str) -> str:
    """Run the ETL command as a user would; returns its output."""
    done = subprocess.run(
        [sys.executable, str(PIPELINE / "etl.py"), *SEED, *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _orchestrate(**options):
    before = len(list_runs(limit=10_000))
    summary = Orchestrator(flows_dir=PIPELINE, **options).run(until_idle=True)
    return summary, list_runs(limit=10_000)[before:]


def _snapshots(outputs: cd.Outputs) -> dict[str, list[int]]:
    return {
        role: [s.snapshot_id for s in Table(name).snapshots()]
        for role, name in outputs.tables().items()
    }


def _rows(name: str, column: str, day: dt.date):
    return DataFrame.load(name, filter=f"{column} = '{day.isoformat()}'").to_polars()


def _assert_chain_succeeded(runs, branch: str) -> None:
    assert [r.flow for r in runs] == CHAIN, [(r.flow, r.status, r.error) for r in runs]
    for record in runs:
        assert record.status == "succeeded", record.error
        assert record.branch == branch


@pytest.mark.timeout(900)
def test_one_etl_event_runs_the_chain_to_a_published_production_slate(chain_home):
    printed = _etl()
    assert f"of {DAY} (revision 0) to etl.viewing_daily" in printed
    assert "published etl.viewing_daily.done" in printed

    summary, runs = _orchestrate(production=True)
    _assert_chain_succeeded(runs, "prod")
    assert runs[0].parameters == {"date": DAY.isoformat()}
    assert runs[1].event_name == "metaflow.content_decisions.prod.ViewingAggregatesFlow.end"
    assert summary.failed == 0

    aggregates = DataFrame.load(PROD.aggregates).to_polars()
    assert aggregates["date"].n_unique() == 43  # the backlog of the first run, and the new day
    assert aggregates.select("date", "region", "title_id").is_unique().all()
    slate = _rows(PROD.slate, "as_of_date", DAY)
    assert set(slate["region"]) == set(cd.REGIONS)
    assert PROD.slate == "content.slate"
    published = Cache(PROD.cache_namespace)
    assert published.get("summary")["as_of"] == DAY.isoformat()
    for region in cd.REGIONS:
        config = cd.load_region_config(region)
        cached = published.get(f"slate:{region}")
        chosen = sorted(slate.filter(slate["region"] == region)["title_id"].to_list())
        assert cached["title_ids"] == chosen
        assert set(config.must_keep) <= set(chosen)
        assert cached["mip_gap"] == 0 and cached["cost_k"] <= cached["budget_k"]
        assert (
            cached["objective_k"] >= cached["greedy_objective_k"] or not cached["greedy_feasible"]
        )
        assert len(chosen) >= config.min_titles


@pytest.mark.timeout(900)
def test_a_user_run_writes_its_own_tables_and_leaves_production_untouched(chain_home):
    production = _snapshots(PROD)
    generation = Cache(PROD.cache_namespace).current_generation()
    _etl("--date", DAY.isoformat())  # the partner delivers the same day again

    _, runs = _orchestrate()  # the user's own orchestrator: branch user.tester
    _assert_chain_succeeded(runs, "user.tester")
    assert _snapshots(PROD) == production
    assert Cache(PROD.cache_namespace).current_generation() == generation
    user_slate = _rows(USER.slate, "as_of_date", DAY)
    assert USER.slate == "content_user_tester.slate" and user_slate.height > 0
    assert Cache(USER.cache_namespace).get("summary")["as_of"] == DAY.isoformat()
    assert sorted(user_slate["title_id"]) == sorted(
        _rows(PROD.slate, "as_of_date", DAY)["title_id"]
    )


@pytest.mark.timeout(900)
def test_an_event_for_a_processed_day_with_unchanged_data_changes_nothing(chain_home):
    before = _snapshots(USER)
    generation = Cache(USER.cache_namespace).current_generation()
    _etl("--date", DAY.isoformat())

    _, runs = _orchestrate()
    _assert_chain_succeeded(runs, "user.tester")  # every flow ran ... and skipped
    assert _snapshots(USER) == before
    assert Cache(USER.cache_namespace).current_generation() == generation


@pytest.mark.timeout(900)
def test_a_restated_day_is_processed_again_with_exactly_one_new_snapshot_per_output(chain_home):
    before = _snapshots(USER)
    old = _rows(USER.aggregates, "date", DAY)
    _etl("--date", DAY.isoformat(), "--revision", "1")

    _, runs = _orchestrate()
    _assert_chain_succeeded(runs, "user.tester")
    after = _snapshots(USER)
    for role in before:
        assert after[role][: len(before[role])] == before[role], role
        assert len(after[role]) == len(before[role]) + 1, role
    new = _rows(USER.aggregates, "date", DAY)
    assert new.height == new.select("region", "title_id").n_unique()  # replaced, not added
    assert not new.sort("region", "title_id").equals(old.sort("region", "title_id"))
    ledger = DataFrame.load(USER.ledger).to_polars()
    assert ledger.filter(ledger["date"] == DAY).height == 2  # both deliveries recorded
    for name in (USER.forecast, USER.values, USER.slate):
        rows = _rows(name, "as_of_date", DAY)
        assert rows.height == rows.select("region", "title_id").n_unique(), name
    values = _rows(USER.values, "as_of_date", DAY)
    assert values.height == 200 * len(cd.REGIONS)


@pytest.mark.timeout(600)
def test_an_infeasible_region_fails_the_run_and_the_previous_slate_stays_published(
    chain_home, tmp_path
):
    before = _snapshots(USER)["slate"]
    generation = Cache(USER.cache_namespace).current_generation()
    document = json.loads((PIPELINE / "config" / "regions" / "na.json").read_text())
    document.update(budget_share=None, budget_k=0.5)  # less than the must-keeps cost
    infeasible = tmp_path / "na.json"
    infeasible.write_text(json.dumps(document))
    flow = str(PIPELINE / "slate_selection_flow.py")
    runner = Runner(
        flow, show_output=False, cwd=str(tmp_path), config=[("region_na", str(infeasible))]
    )
    with runner.run(as_of=DAY.isoformat()) as running:
        assert running.status == "failed"
        log = " ".join((running.stdout + running.stderr).split())
    assert "SlateInfeasibleError: region na: no slate meets the constraints" in log
    # the deletion filter keeps the budget and one must-keep: whichever alone outprices it
    assert re.search(
        r"these conflict \(drop or relax any one of them\): budget, must_keep\[T0000[12]\]\.", log
    ), log
    assert _snapshots(USER)["slate"] == before
    assert Cache(USER.cache_namespace).current_generation() == generation


@pytest.mark.timeout(600)
def test_bad_events_fail_with_the_reason_and_start_nothing_downstream(chain_home):
    publish(cd.ETL_EVENT, {"day": DAY.isoformat()})  # no date
    publish(cd.ETL_EVENT, {"date": "2026-02-30"})  # not a day
    publish(cd.ETL_EVENT, {"date": "2027-01-04"})  # a day nobody wrote
    summary, runs = _orchestrate()
    assert [r.flow for r in runs] == ["ViewingAggregatesFlow"] * 3
    assert all(r.status == "failed" for r in runs)
    errors = {r.parameters.get("date"): r.error for r in runs}
    assert "no payload field 'date'" in errors[None] and "not started" in errors[None]
    assert "'2026-02-30' is not a calendar day written YYYY-MM-DD" in errors["2026-02-30"]
    assert "etl.viewing_daily has no rows for 2027-01-04" in errors["2027-01-04"]
    assert summary.succeeded == 0


@pytest.mark.timeout(300)
def test_a_bad_region_config_fails_before_any_task(chain_home, tmp_path):
    document = json.loads((PIPELINE / "config" / "regions" / "mea.json").read_text())
    document["forecast_horizon_weeks"] = 12
    bad = tmp_path / "mea.json"
    bad.write_text(json.dumps(document))
    before = len(list(Path(chain_home, "metaflow").rglob("ViewingAggregatesFlow/*/start")))
    assert before > 0  # the earlier tests' runs are there to count
    flow = str(PIPELINE / "viewing_aggregates_flow.py")
    runner = Runner(flow, show_output=False, cwd=str(tmp_path), config=[("region_mea", str(bad))])
    with pytest.raises(cd.RegionConfigError, match=r"forecast_horizon_weeks = 12: .* equal to 8"):
        runner.run(date=DAY.isoformat())
    assert len(list(Path(chain_home, "metaflow").rglob("ViewingAggregatesFlow/*/start"))) == before


@pytest.mark.timeout(900)
def test_a_forecast_that_does_not_beat_seasonal_naive_stops_the_chain(tmp_path):
    with pytest.MonkeyPatch.context() as patch:
        _isolated_profile(patch, tmp_path)
        periodic = cd.WorldSpec(
            n_titles=120, countries_per_region=1, history_weeks=6, noise=0, lifecycle=False
        )
        cd.run_etl(DAY, spec=periodic)
        _, runs = _orchestrate()
        assert [r.flow for r in runs] == CHAIN[:2]  # nothing after the forecast
        assert runs[0].status == "succeeded"
        assert runs[1].status == "failed"
        assert "does not beat the seasonal-naive forecast by at least 10%" in runs[1].error
        assert Table(USER.forecast).current_snapshot_id is None  # nothing written
