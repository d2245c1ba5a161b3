"""1/4 of the chain: daily viewing -> aggregates per title x region, for the new day.

    uv run pipelines/content_decisions/viewing_aggregates_flow.py run --date 2026-03-30

Started by ``etl.viewing_daily.done`` (its payload's ``date`` is the ``date`` parameter).
Incremental: only the days that are new or changed on this branch are read — the event's
day, plus earlier days the branch never processed (its first run's backlog) — decided by
each day's content fingerprint in the branch's ledger. A ``foreach`` over country shards
aggregates them; the join replaces those days' aggregates in one commit and records them.
Its finish event starts DemandForecastFlow.
"""

import logging

import content_decisions as cd
from metaflow import Parameter, current, project, step, trigger

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("content_decisions.viewing_aggregates_flow")


@project(name=cd.PROJECT)
@trigger(event={"name": cd.ETL_EVENT, "parameters": {"date": "date"}})
class ViewingAggregatesFlow(cd.ContentDecisionsFlowSpec):
    """Aggregate the new day(s) of viewing per title x region."""

    date = Parameter("date", required=True, help="The day the ETL wrote (YYYY-MM-DD).")
    country_shards = Parameter(
        "country_shards", default=2, type=int, help="Parallel aggregation tasks."
    )
    force = Parameter("force", default=False, type=bool, help="Process the day even if unchanged.")

    @step
    def start(self):
        """Check the day, seed the inputs if missing (local), decide what to process."""
        day = cd.parse_date(self.date)
        cd.ensure_world()
        self.outputs = cd.Outputs.for_branch(current.branch_name)
        self.outputs.create_tables()
        plan = cd.plan_aggregation(self.outputs, day, force=self.force)
        self.plan = plan.to_artifact()  # plain values: later steps unpickle it cheaply
        self.changed = plan.changed
        self.as_of_date = plan.as_of.isoformat()
        self.shards = (
            cd.country_shards(cd.load_countries(), self.country_shards) if self.changed else [None]
        )
        logger.info(
            "branch %s: %d day(s) to process (%s), %d unchanged; as of %s",
            self.outputs.branch,
            len(plan.dates),
            ", ".join(self.plan["dates"][:3]) + (", ..." if len(plan.dates) > 3 else ""),
            len(plan.unchanged),
            self.as_of_date,
        )
        self.next(self.aggregate, foreach="shards")

    @step
    def aggregate(self):
        """Sum one shard of countries' viewing of the days to process."""
        if self.input is None:
            self.partial = None
        else:
            plan = cd.AggregationPlan.from_artifact(self.plan)
            rows = cd.load_viewing(
                plan.dates, countries=self.input, snapshot_id=plan.source_snapshot_id
            )
            self.partial = cd.aggregate_viewing(rows, cd.load_countries())
            logger.info(
                "%d countries: %d rows -> %d", len(self.input), rows.num_rows, self.partial.num_rows
            )
        self.next(self.join)

    @step
    def join(self, inputs):
        """Replace the processed days' aggregates in one commit, then record the days."""
        self.merge_artifacts(inputs, exclude=["partial"])
        if self.changed:
            plan = cd.AggregationPlan.from_artifact(self.plan)
            aggregates = cd.combine_aggregates(i.partial for i in inputs)
            manifest = cd.stage_aggregates(self.outputs, aggregates)
            self.aggregates_snapshot_id = cd.commit_aggregates(self.outputs, [manifest], plan.dates)
            cd.record_processed(self.outputs, plan, current.pathspec)
            self.aggregate_rows = aggregates.num_rows
        self.next(self.end)

    @step
    def end(self):
        """Done: the aggregates are in the branch's table; the finish event goes downstream."""
        if self.changed:
            logger.info("aggregated %d day(s) as of %s", len(self.plan["dates"]), self.as_of_date)
        else:
            logger.info(
                "%s unchanged: nothing to do; downstream flows skip", self.plan["requested"]
            )


if __name__ == "__main__":
    ViewingAggregatesFlow()
