"""3/4 of the chain: value per title x region over the horizon, with an interval.

    uv run pipelines/content_decisions/valuation_flow.py run [--as_of 2026-03-30]

Started when DemandForecastFlow finishes on the same branch: forecast demand times the
region's value per hour, the forecast's interval carried over, and the licence cost.
"""

import logging

import content_decisions as cd
from metaflow import Parameter, project, step, trigger_on_finish

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("content_decisions.valuation_flow")


@project(name=cd.PROJECT)
@trigger_on_finish(flow="DemandForecastFlow")
class ValuationFlow(cd.ContentDecisionsFlowSpec):
    """Value every offered title in every region."""

    as_of = Parameter("as_of", default="", help="Day of the forecast (default: upstream's).")

    @step
    def start(self):
        """Value the forecast's titles and write the value table."""
        day = self.begin_downstream_run(self.as_of)
        if day is not None:
            forecast = cd.load_partition(self.outputs.forecast, "as_of_date", day.as_of)
            values = cd.value_titles(forecast, cd.load_offers(), self.region_configs(), day.as_of)
            self.values_snapshot_id = cd.replace_partition(
                self.outputs.values, "as_of_date", day.as_of, values
            )
            self.valued = values.num_rows
            logger.info("valued %d offers as of %s", self.valued, self.as_of_date)
        self.next(self.end)

    @step
    def end(self):
        """Done: the values are in the branch's table."""


if __name__ == "__main__":
    ValuationFlow()
