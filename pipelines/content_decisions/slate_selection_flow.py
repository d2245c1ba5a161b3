"""4/4 of the chain: the content slate per region, an exact MILP (HiGHS).

    uv run pipelines/content_decisions/slate_selection_flow.py run [--as_of 2026-03-30]

Started when ValuationFlow finishes on the same branch. Chooses each region's slate under its
budget, genre share bounds, minimum local-language share and must-keep titles, proven
optimal; compares it with a greedy baseline. Publishes the slate table (``content.slate`` in
production) and every region's slate to the cache in one generation; an infeasible region
fails the run, names the constraints in conflict, and leaves the previous slate published.
Its finish event is for downstream teams.
"""

import logging

import content_decisions as cd
from metaflow import Parameter, card, current, project, step, trigger_on_finish

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("content_decisions.slate_selection_flow")


@project(name=cd.PROJECT)
@trigger_on_finish(flow="ValuationFlow")
class SlateSelectionFlow(cd.ContentDecisionsFlowSpec):
    """Choose and publish every region's content slate."""

    as_of = Parameter("as_of", default="", help="Day of the values (default: upstream's).")
    time_limit_s = Parameter(
        "time_limit_s", default=60.0, type=float, help="HiGHS limit per region."
    )

    @card(type="blank")
    @step
    def start(self):
        """Solve every region, then write the table and publish the cache."""
        day = self.begin_downstream_run(self.as_of)
        if day is not None:
            values = cd.load_partition(self.outputs.values, "as_of_date", day.as_of)
            slates, results = cd.select_slates(
                values, cd.load_titles(), self.region_configs(), day.as_of,
                time_limit_s=self.time_limit_s,
            )  # fmt: skip
            self.results = [r.summary() for r in results.values()]
            self.slate_snapshot_id = cd.replace_partition(
                self.outputs.slate, "as_of_date", day.as_of, slates
            )
            run = f"{current.flow_name}/{current.run_id}"
            payloads = cd.slate_payloads(slates, results, day.as_of, run)
            self.generation = cd.publish_slates(self.outputs, day.as_of, payloads, run)
            current.card.extend(cd.slate_card(self.as_of_date, self.results))
            logger.info("slates: %s", self.results)
        self.next(self.end)

    @step
    def end(self):
        """Done: the slate is in the table and the cache; downstream teams get the event."""


if __name__ == "__main__":
    SlateSelectionFlow()
