"""Entity resolution of title records: sample data, blocking, scoring, clustering.

The matcher is driven by a `MatchConfig` (a JSON file next to ``flow.py``): fields and their
comparators, blocking rules, threshold. Everything here is a plain function on Arrow tables
and numpy arrays; ``flow.py`` only wires them into Metaflow steps.
"""

from knowledge_graph._blocking import (
    BlockingIndex,
    block_records,
    build_blocking_index,
    candidate_pairs,
    pairs_pass_blocking,
)
from knowledge_graph._card import evaluation_card, largest_entities
from knowledge_graph._cluster import cluster_matches, resolve_entities
from knowledge_graph._compare import (
    PreparedRecords,
    compare_pairs,
    comparison_stages,
    prepare_records,
)
from knowledge_graph._config import (
    BlockingKey,
    BlockingRule,
    FieldComparison,
    MatchConfig,
    check_columns,
    load_match_config,
)
from knowledge_graph._errors import InputDataError, KnowledgeGraphError, MatchConfigError
from knowledge_graph._evaluate import (
    bcubed_scores,
    evaluate_resolution,
    pairwise_scores,
    true_pairs,
)
from knowledge_graph._match import (
    MATCH_CHUNK_PAIRS,
    MatchResult,
    ScoredPairs,
    available_cores,
    match_pairs,
    score_pairs,
)
from knowledge_graph._model import (
    FellegiSunterModel,
    estimate_u,
    expectation_maximisation,
    term_frequencies,
    train_model,
)
from knowledge_graph._records import order_records
from knowledge_graph._sample import SampleData, generate_title_records
from knowledge_graph._schemas import (
    PAIRS_SCHEMA,
    RECORD_SCHEMA,
    TRUTH_SCHEMA,
    entities_schema,
    matches_schema,
)
from knowledge_graph._tables import (
    commit_matches,
    create_output_tables,
    ensure_input_table,
    flow_config,
    load_matches,
    load_pair_shard,
    load_records,
    load_truth,
    stage_matches,
    write_entities,
    write_pairs,
)

__all__ = [
    "MATCH_CHUNK_PAIRS",
    "PAIRS_SCHEMA",
    "RECORD_SCHEMA",
    "TRUTH_SCHEMA",
    "BlockingIndex",
    "BlockingKey",
    "BlockingRule",
    "FellegiSunterModel",
    "FieldComparison",
    "InputDataError",
    "KnowledgeGraphError",
    "MatchConfig",
    "MatchConfigError",
    "MatchResult",
    "PreparedRecords",
    "SampleData",
    "ScoredPairs",
    "available_cores",
    "bcubed_scores",
    "block_records",
    "build_blocking_index",
    "candidate_pairs",
    "check_columns",
    "cluster_matches",
    "commit_matches",
    "compare_pairs",
    "comparison_stages",
    "create_output_tables",
    "ensure_input_table",
    "entities_schema",
    "estimate_u",
    "evaluate_resolution",
    "evaluation_card",
    "expectation_maximisation",
    "flow_config",
    "generate_title_records",
    "largest_entities",
    "load_match_config",
    "load_matches",
    "load_pair_shard",
    "load_records",
    "load_truth",
    "match_pairs",
    "matches_schema",
    "order_records",
    "pairs_pass_blocking",
    "pairwise_scores",
    "prepare_records",
    "resolve_entities",
    "score_pairs",
    "stage_matches",
    "term_frequencies",
    "train_model",
    "true_pairs",
    "write_entities",
    "write_pairs",
]
