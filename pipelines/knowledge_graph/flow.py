"""Entity resolution: records from several sources resolved into one entity per real thing.

    uv run pipelines/knowledge_graph/flow.py run        # titles (match_config.json)
    uv run pipelines/knowledge_graph/flow.py --config match_config \
        pipelines/knowledge_graph/person_match_config.json run   # people

start -> block -> match (foreach shard of candidate pairs) -> join -> cluster -> evaluate -> end.
The matching configuration (tables, fields, comparators, blocking rules, threshold, sample) is
data: the ``match_config`` Config, by default ``match_config.json`` (film and series titles)
next to this file. All logic lives in the ``knowledge_graph`` package; this file only wires
steps.
"""

import logging
import time
from pathlib import Path

import knowledge_graph as kg
from metaflow import Config, FlowSpec, Parameter, card, current, step

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("knowledge_graph.flow")

DEFAULT_CONFIG = str(Path(__file__).resolve().with_name("match_config.json"))


class EntityResolutionFlow(FlowSpec):
    """Resolve noisy records from several sources into entities."""

    match_config = Config(
        "match_config",
        default=DEFAULT_CONFIG,
        parser=kg.flow_config,
        plain=True,
        help="Matching configuration (JSON): tables, fields, comparators, blocking rules, "
        "threshold, sample.",
    )
    sample_records = Parameter(
        "sample_records",
        default=0,
        type=int,
        help="Records generated when the input table is missing (local profile, a config "
        "with a sample; 0: the config's sample.records).",
    )
    sample_sources = Parameter(
        "sample_sources", default=0, type=int, help="0: the config's sample.sources."
    )
    seed = Parameter("seed", default=0, type=int)
    match_tasks = Parameter(
        "match_tasks",
        default=0,
        type=int,
        help="Number of match tasks (0: one per shard_target_bytes of candidate pairs).",
    )

    def _config(self) -> kg.MatchConfig:
        return kg.MatchConfig.model_validate(self.match_config)

    @step
    def start(self):
        """Resolve the input table (seeding it locally from the config's sample) and pin it."""
        config = self._config()
        self.records_snapshot_id = kg.ensure_input_table(
            config,
            n_records=self.sample_records,
            n_sources=self.sample_sources,
            seed=self.seed,
        )
        logger.info("input %s at snapshot %s", config.input_table, self.records_snapshot_id)
        self.next(self.block)

    @step
    def block(self):
        """Candidate pairs from the blocking rules, the trained model, shards of pairs."""
        config = self._config()
        records = kg.load_records(config, self.records_snapshot_id)
        self.n_records = records.num_rows
        kg.create_output_tables(config, records.schema)
        started = time.perf_counter()
        left, right, self.pairs_by_rule, _ = kg.block_records(records, config)
        self.block_seconds = time.perf_counter() - started
        self.candidate_pairs = len(left)
        started = time.perf_counter()
        # Normalised once here and shared as an artifact: match tasks do not prepare again.
        self.prepared = kg.prepare_records(records, config)
        self.prepare_seconds = time.perf_counter() - started
        model = kg.train_model(self.prepared, left, right, config)
        self.model_summary = {
            "prior": model.prior,
            "iterations": model.iterations,
            "converged": model.converged,
        }
        self.model = model.to_dict()
        self.pairs_snapshot_id, self.shards = kg.write_pairs(
            config, left, right, self.records_snapshot_id, self.match_tasks
        )
        logger.info(
            "%d records (prepared in %.1f s), %d candidate pairs %s, %d match tasks",
            self.n_records,
            self.prepare_seconds,
            self.candidate_pairs,
            self.pairs_by_rule,
            len(self.shards),
        )
        self.next(self.match, foreach="shards")

    @step
    def match(self):
        """Score one shard of candidate pairs and stage the matches."""
        config = self._config()
        records = kg.load_records(config, self.records_snapshot_id)
        left, right = kg.load_pair_shard(self.input, self.records_snapshot_id)
        prepared = self.prepared
        # Drop the cached copy: Metaflow then passes the block step's artifact on by reference
        # instead of pickling it again in every task (its bytes would differ, so the join
        # could not merge it).
        del self.prepared
        model = kg.FellegiSunterModel.from_dict(self.model)
        result = kg.match_pairs(records, prepared, left, right, model, config)
        self.manifest = kg.stage_matches(config, result.matches)
        self.pairs_compared = result.pairs
        self.core_seconds = result.seconds * result.cores
        self.compare_core_seconds = result.compare_seconds * result.cores
        logger.info(
            "shard: %d pairs, %d matches, %.2f s on %d cores",
            result.pairs,
            result.matches.num_rows,
            result.seconds,
            result.cores,
        )
        self.next(self.join)

    @step
    def join(self, inputs):
        """Commit every task's matches as one snapshot of the matches table."""
        config = inputs[0]._config()
        self.matches_snapshot_id = kg.commit_matches(config, [i.manifest for i in inputs])
        pairs = sum(i.pairs_compared for i in inputs)
        core_seconds = sum(i.core_seconds for i in inputs)
        compare_core_seconds = sum(i.compare_core_seconds for i in inputs)
        # Whole match step (loading and preparing records included) and the per-pair kernel.
        self.pairs_per_second_per_core = pairs / core_seconds if pairs and core_seconds else None
        self.compare_pairs_per_second_per_core = (
            pairs / compare_core_seconds if pairs and compare_core_seconds else None
        )
        self.merge_artifacts(
            inputs, exclude=["manifest", "pairs_compared", "core_seconds", "compare_core_seconds"]
        )
        self.next(self.cluster)

    @step
    def cluster(self):
        """Cluster matches into entities and replace the entities table."""
        config = self._config()
        records = kg.load_records(config, self.records_snapshot_id)
        matches = kg.load_matches(config, self.matches_snapshot_id)
        self.n_matches = matches.num_rows
        entities, self.labels = kg.resolve_entities(records, matches, config)
        self.entities_snapshot_id = kg.write_entities(config, entities)
        self.n_entities = entities.num_rows
        if self.n_entities == 0:
            logger.info("no records in %s: zero entities written", config.input_table)
        else:
            logger.info("%d records resolved into %d entities", records.num_rows, self.n_entities)
        self.example_entities = kg.largest_entities(entities)
        self.next(self.evaluate)

    @card(type="blank", timeout=180)  # rendered in its own process: slow on a busy machine
    @step
    def evaluate(self):
        """Quality metrics against the truth table (when there is one) and a card."""
        config = self._config()
        records = kg.load_records(config, self.records_snapshot_id)
        quality = kg.evaluate_resolution(records, self.labels, kg.load_truth(config), config)
        self.metrics = {
            **quality,
            "candidate_pairs": self.candidate_pairs,
            "pairs_per_second_per_core": self.pairs_per_second_per_core,
            "compare_pairs_per_second_per_core": self.compare_pairs_per_second_per_core,
            "records": self.n_records,
            "matches": self.n_matches,
            "entities": self.n_entities,
        }
        logger.info("metrics: %s", self.metrics)
        current.card.extend(
            kg.evaluation_card(
                self.metrics,
                has_truth=bool(quality),
                pairs_by_rule=self.pairs_by_rule,
                entities=self.example_entities,
                canonical_columns=config.canonical_columns,
                model=kg.FellegiSunterModel.from_dict(self.model),
                fields=config.fields,
            )
        )
        self.next(self.end)

    @step
    def end(self):
        """Done: the entities are in the entities table."""
        logger.info("done: %s", self.metrics)


if __name__ == "__main__":
    EntityResolutionFlow()
