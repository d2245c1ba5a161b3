"""2/4 of the chain: demand forecasts per title x region for each region's horizon.

    uv run pipelines/content_decisions/demand_forecast_flow.py run [--as_of 2026-03-30]

Started when ViewingAggregatesFlow finishes on the same branch. Backtests every region on
its held-out horizon; the run fails loudly unless the model's WAPE beats the seasonal-naive
forecast by at least 10% in every region, so nothing downstream runs on a bad forecast.
"""

import logging

import content_decisions as cd
from metaflow import Parameter, card, current, project, step, trigger_on_finish

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("content_decisions.demand_forecast_flow")


@project(name=cd.PROJECT)
@trigger_on_finish(flow="ViewingAggregatesFlow")
class DemandForecastFlow(cd.ContentDecisionsFlowSpec):
    """Forecast demand per title x region; refuse a forecast that does not beat the baseline."""

    as_of = Parameter("as_of", default="", help="Forecast origin (default: upstream's day).")
    history_weeks = Parameter("history_weeks", default=12, type=int, help="Weeks of history read.")

    @card(type="blank")
    @step
    def start(self):
        """Backtest, check the margin over seasonal naive, forecast, write."""
        day = self.begin_downstream_run(self.as_of)
        if day is not None:
            panel = cd.load_demand_panel(self.outputs, day.as_of, 7 * self.history_weeks)
            forecast, backtests = cd.forecast_demand(panel, self.region_configs())
            self.backtests = [b.summary() for b in backtests]
            self.forecast_snapshot_id = cd.replace_partition(
                self.outputs.forecast, "as_of_date", day.as_of, forecast
            )
            self.series = forecast.num_rows
            current.card.extend(cd.forecast_card(self.as_of_date, self.backtests))
            logger.info("backtests: %s", self.backtests)
        self.next(self.end)

    @step
    def end(self):
        """Done: the forecast is in the branch's table."""


if __name__ == "__main__":
    DemandForecastFlow()
