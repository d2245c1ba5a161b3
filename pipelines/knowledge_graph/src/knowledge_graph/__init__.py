"""Entity resolution of records from several sources: blocking, scoring, clustering.

The matcher is driven by a `MatchConfig` (a JSON file next to ``flow.py``): fields and their
comparators, blocking rules, threshold, and optionally the sample (titles or people) that
seeds a missing input table. Everything here is a plain function on Arrow tables
and numpy arrays; ``flow.py`` only wires them into Metaflow steps. This façade exports what
the flow, the benchmark and the tests use; the rest stays in the private modules.
"""

from knowledge_graph._blocking import block_records
from knowledge_graph._card import evaluation_card, largest_entities, match_weights_figure
from knowledge_graph._cluster import resolve_entities
from knowledge_graph._compare import PreparedRecords, prepare_records
from knowledge_graph._config import MatchConfig, load_match_config
from knowledge_graph._errors import InputDataError, MatchConfigError
from knowledge_graph._evaluate import bcubed_scores, evaluate_resolution, pairwise_scores
from knowledge_graph._match import MATCH_CHUNK_PAIRS, available_cores, match_pairs, score_pairs
from knowledge_graph._model import FellegiSunterModel, train_model
from knowledge_graph._person_sample import generate_person_records
from knowledge_graph._records import order_records
from knowledge_graph._sample import SampleData, generate_title_records
from knowledge_graph._schemas import PERSON_RECORD_SCHEMA, TITLE_RECORD_SCHEMA
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
    "PERSON_RECORD_SCHEMA",
    "TITLE_RECORD_SCHEMA",
    "FellegiSunterModel",
    "InputDataError",
    "MatchConfig",
    "MatchConfigError",
    "PreparedRecords",
    "SampleData",
    "available_cores",
    "bcubed_scores",
    "block_records",
    "commit_matches",
    "create_output_tables",
    "ensure_input_table",
    "evaluate_resolution",
    "evaluation_card",
    "flow_config",
    "generate_person_records",
    "generate_title_records",
    "largest_entities",
    "load_match_config",
    "load_matches",
    "load_pair_shard",
    "load_records",
    "load_truth",
    "match_pairs",
    "match_weights_figure",
    "order_records",
    "pairwise_scores",
    "prepare_records",
    "resolve_entities",
    "score_pairs",
    "stage_matches",
    "train_model",
    "write_entities",
    "write_pairs",
]
