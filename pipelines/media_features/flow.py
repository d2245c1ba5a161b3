"""Backfill media features: compute a set of features for every asset into one cache generation.

    uv run pipelines/media_features/flow.py run [--features palette,shot_stats] [--shards 2]

start -> compute (foreach shard of assets) -> join -> end. Triggered by the event
``media_assets_landed`` that `media_features.register_assets` publishes when new assets (or
new versions) land; its ``snapshot_id`` becomes the ``assets_snapshot_id`` parameter. The
configuration is data: the ``features_config`` Config, by default ``features_config.json``
next to this file. All logic lives in the ``media_features`` package.
"""

import logging
from pathlib import Path

import media_features as mf
from metaflow import Config, FlowSpec, Parameter, step, trigger

from mlplatform.orchestration import current_trigger

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("media_features.flow")

DEFAULT_CONFIG = str(Path(__file__).resolve().with_name("features_config.json"))


@trigger(event={"name": "media_assets_landed", "parameters": {"assets_snapshot_id": "snapshot_id"}})
class MediaFeatureBackfillFlow(FlowSpec):
    """Compute features of every asset into one generation of the backfill cache."""

    features_config = Config(
        "features_config",
        default=DEFAULT_CONFIG,
        parser=mf.flow_config,
        plain=True,
        help="Configuration (JSON): assets table, sample, cache namespaces, backfill features.",
    )
    features = Parameter(
        "features", default="", help="Comma-separated features (default: backfill.features)."
    )
    shards = Parameter("shards", default=0, type=int, help="Foreach tasks (0: backfill.shards).")
    assets_snapshot_id = Parameter(
        "assets_snapshot_id", default=0, type=int, help="Assets snapshot to read (0: current)."
    )

    def _config(self) -> mf.MediaFeaturesConfig:
        return mf.MediaFeaturesConfig.model_validate(self.features_config)

    @step
    def start(self):
        """Pin the assets snapshot, shard the assets, open a cache generation."""
        config = self._config()
        event = current_trigger()
        self.triggered_by = event.name if event else None
        self.feature_names = mf.check_backfill_features(config, self.features)
        plan = mf.plan_backfill(
            config, shards=self.shards, snapshot_id=self.assets_snapshot_id or None
        )
        self.snapshot_id, self.generation, self.asset_shards = (
            plan.snapshot_id,
            plan.generation,
            plan.shards,
        )
        logger.info(
            "backfilling %s for snapshot %s (trigger: %s)",
            self.feature_names,
            self.snapshot_id,
            self.triggered_by,
        )
        self.next(self.compute, foreach="asset_shards")

    @step
    def compute(self):
        """Compute one shard's features into the generation."""
        self.summary = mf.backfill_shard(
            self._config(),
            snapshot_id=self.snapshot_id,
            asset_ids=self.input,
            features=self.feature_names,
            generation=self.generation,
        )
        self.next(self.join)

    @step
    def join(self, inputs):
        """Publish the generation: readers switch to the whole backfill at once."""
        summaries = [i.summary for i in inputs]
        self.merge_artifacts(inputs, exclude=["summary"])
        self.published = mf.publish_backfill(self._config(), self.generation)
        self.totals = {
            "assets": sum(s["assets"] for s in summaries),
            "nodes": sum(s["nodes"] for s in summaries),
            "computed": sum(s["computed"] for s in summaries),
            "reused": sum(s["reused"] for s in summaries),
            "failed": {k: v for s in summaries for k, v in s["failed"].items()},
            "shards": len(summaries),
        }
        logger.info("published %s: %s", self.published, self.totals)
        self.next(self.end)

    @step
    def end(self):
        """Done: the backfill namespace's current generation holds the features."""
        logger.info("done: %d nodes, %d failed", self.totals["nodes"], len(self.totals["failed"]))


if __name__ == "__main__":
    MediaFeatureBackfillFlow()
