"""Title performance, aggregated daily into the online cache.

    uv run pipelines/perf_viz/flow.py run [--date 2026-03-31]

start -> aggregate (foreach partition shard of the viewing) -> join -> split_titles -> write
(foreach bucket of titles) -> publish -> end. Scheduled daily (``@schedule(daily=True)``: the local
orchestrator, or Argo in production); ``--date`` runs it by hand for a given day. The
configuration (tables, cache namespace, regions, rollup rules) is data: the ``perf_config``
Config, by default ``perf_viz_config.json`` next to this file. All logic lives in the
``perf_viz`` package; this file only wires steps.
"""

import logging
from pathlib import Path

import perf_viz as pv
from metaflow import Config, FlowSpec, Parameter, current, schedule, step

from mlplatform.orchestration import current_trigger

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("perf_viz.flow")

DEFAULT_CONFIG = str(Path(__file__).resolve().with_name("perf_viz_config.json"))


@schedule(daily=True)
class TitlePerformanceFlow(FlowSpec):
    """Aggregate title performance per title x country x day and publish it to the cache."""

    perf_config = Config(
        "perf_config",
        default=DEFAULT_CONFIG,
        parser=pv.flow_config,
        plain=True,
        help="Configuration (JSON): tables, cache namespace, regions, rollup rules.",
    )
    date = Parameter(
        "date",
        default="",
        help="Last day to aggregate (YYYY-MM-DD); default the day before the scheduled "
        "time, or yesterday (UTC) when run by hand.",
    )
    sample_titles = Parameter(
        "sample_titles",
        default=40,
        type=int,
        help="Titles generated when the input tables are missing (local profile only).",
    )
    sample_days = Parameter("sample_days", default=90, type=int)
    sample_sessions = Parameter(
        "sample_sessions", default=6.0, type=float, help="Scale of the generated sessions."
    )
    seed = Parameter("seed", default=0, type=int)

    def _config(self) -> pv.PerfVizConfig:
        return pv.PerfVizConfig.model_validate(self.perf_config)

    @step
    def start(self):
        """Resolve the as-of date and the inputs (seeded locally if missing); split the days."""
        as_of = pv.resolve_as_of(self.date, current_trigger())
        self.plan = pv.plan_run(
            self._config(),
            as_of,
            n_titles=self.sample_titles,
            n_days=self.sample_days,
            sessions=self.sample_sessions,
            seed=self.seed,
        )
        self.partitions = self.plan.shards
        self.next(self.aggregate, foreach="partitions")

    @step
    def aggregate(self):
        """Aggregate one shard of whole days and stage its rows."""
        self.partition = pv.aggregate_partition(self._config(), self.input, self.plan.as_of)
        self.next(self.join)

    @step
    def join(self, inputs):
        """Commit the daily table once; build the catalogue; open the cache generation."""
        self.merge_artifacts(inputs, exclude=["partition"])
        self.daily = pv.commit_partitions(self._config(), self.plan, [i.partition for i in inputs])
        self.next(self.split_titles)

    @step
    def split_titles(self):
        """Fan the titles out in buckets (Metaflow: a join step cannot split again)."""
        self.title_buckets = self.daily.buckets
        self.next(self.write, foreach="title_buckets")

    @step
    def write(self):
        """Write one bucket of titles' values into the open generation."""
        self.bucket_totals = pv.write_title_bucket(self._config(), self.daily, self.input)
        self.next(self.publish)

    @step
    def publish(self, inputs):
        """Write the genre totals, catalogue and meta; publish the generation atomically."""
        self.merge_artifacts(inputs, exclude=["bucket_totals"])
        self.published = pv.publish_run(
            self._config(),
            self.plan,
            self.daily,
            [i.bucket_totals for i in inputs],
            run_id=f"{current.flow_name}/{current.run_id}",
        )
        self.next(self.end)

    @step
    def end(self):
        """Done: the generation is current; the previous one stays for rollback."""
        logger.info("published %s", self.published)


if __name__ == "__main__":
    TitlePerformanceFlow()
