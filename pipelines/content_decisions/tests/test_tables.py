"""Tables and ledger on a real local catalog: seeding, the ETL's writes, what gets processed."""

import datetime as dt

import content_decisions as cd
import pytest

from mlplatform.data import DataFrame, Table

SMALL_WORLD = cd.WorldSpec(n_titles=200, countries_per_region=3, history_weeks=6, seed=3)
DAY = SMALL_WORLD.history_end + dt.timedelta(days=1)


def test_branches_write_to_their_own_namespaces():
    assert cd.Outputs.for_branch("prod").slate == "content.slate"
    assert cd.Outputs.for_branch("prod").cache_namespace == "content.slate"
    user = cd.Outputs.for_branch("user.alice")
    assert user.namespace == "content_user_alice" and not user.is_production
    assert cd.Outputs.for_branch("test.Feature-X").aggregates == (
        "content_test_feature_x.viewing_region_daily"
    )
    assert cd.Outputs.for_branch("prod.canary").namespace == "content_prod_canary"


def test_the_etl_seeds_the_world_once_and_replaces_a_day_in_one_snapshot(mlp_home):
    first = cd.run_etl(DAY, spec=SMALL_WORLD, publish_event=False)
    viewing = Table("etl.viewing_daily")
    assert first.event_id is None and first.rows > 0
    days = DataFrame.load(viewing, columns=["date"]).to_polars()["date"]
    assert days.n_unique() == 43 and days.max() == DAY
    snapshots = len(viewing.snapshots())
    again = cd.run_etl(DAY, revision=1)  # the seeded spec is used; no new seed
    assert len(viewing.snapshots()) == snapshots + 1
    assert DataFrame.load(viewing, filter=f"date = '{DAY}'").num_rows == again.rows
    with pytest.raises(cd.InputDataError, match="would leave 1 day"):
        cd.run_etl(DAY + dt.timedelta(days=2), publish_event=False)
    with pytest.raises(cd.InputDataError, match="before the sample world's first day"):
        cd.run_etl(dt.date(2025, 1, 1), publish_event=False)


def test_a_day_is_processed_again_only_when_its_content_changed(mlp_home):
    cd.run_etl(DAY, spec=SMALL_WORLD, publish_event=False)
    outputs = cd.Outputs.for_branch("user.tester")
    outputs.create_tables()
    plan = cd.plan_aggregation(outputs, DAY)
    assert len(plan.dates) == 43 and plan.as_of == DAY  # the backlog and the day
    cd.record_processed(outputs, plan, "ViewingAggregatesFlow/1")

    unchanged = cd.plan_aggregation(outputs, DAY)
    assert unchanged.dates == [] and unchanged.unchanged == [DAY] and not unchanged.changed
    assert unchanged.as_of == DAY
    forced = cd.plan_aggregation(outputs, DAY, force=True)
    assert forced.dates == [DAY]

    cd.run_etl(DAY, revision=0, publish_event=False)  # the same rows written again: new files
    assert cd.plan_aggregation(outputs, DAY).dates == []
    cd.run_etl(DAY, revision=2, publish_event=False)  # restated
    restated = cd.plan_aggregation(outputs, DAY)
    assert restated.dates == [DAY]
    assert restated.fingerprints[DAY.isoformat()] != plan.fingerprints[DAY.isoformat()]
    assert cd.AggregationPlan.from_artifact(restated.to_artifact()) == restated


def test_an_event_for_a_day_without_data_is_refused(mlp_home):
    cd.run_etl(DAY, spec=SMALL_WORLD, publish_event=False)
    outputs = cd.Outputs.for_branch("user.tester")
    with pytest.raises(
        cd.NoDataForDateError, match=r"has no rows for 2027-01-04 \(it holds 43 days"
    ):
        cd.plan_aggregation(outputs, dt.date(2027, 1, 4))


def test_the_demand_history_must_have_no_holes(mlp_home):
    cd.run_etl(DAY, spec=SMALL_WORLD, publish_event=False)
    outputs = cd.Outputs.for_branch("user.tester")
    outputs.create_tables()
    rows = cd.load_viewing([SMALL_WORLD.start, SMALL_WORLD.start + dt.timedelta(days=2)])
    aggregates = cd.aggregate_viewing(rows, cd.load_countries())
    manifest = cd.stage_aggregates(outputs, aggregates)
    cd.commit_aggregates(outputs, [manifest], [SMALL_WORLD.start])
    with pytest.raises(cd.InputDataError, match=r"misses 1 day\(s\) between 2026-01-05 and"):
        cd.load_demand_panel(outputs, SMALL_WORLD.start + dt.timedelta(days=2), 10)
