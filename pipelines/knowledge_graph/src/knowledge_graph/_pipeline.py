"""The pipeline's steps as plain functions on Arrow tables and numpy arrays.

``flow.py`` wires these into Metaflow steps; the benchmark and the tests call them directly.
Records are always put in one deterministic order first (`order_records`), so that a record
index means the same record in every task that loads the same snapshot.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from knowledge_graph._blocking import BlockingIndex, build_blocking_index, candidate_pairs
from knowledge_graph._blocking import pairs_pass_blocking as _pairs_pass_blocking
from knowledge_graph._cluster import cluster_matches
from knowledge_graph._compare import (
    PreparedRecords,
    compare_pairs,
    comparison_stages,
)
from knowledge_graph._config import MatchConfig
from knowledge_graph._errors import InputDataError
from knowledge_graph._evaluate import bcubed_scores, pairwise_scores, true_pairs
from knowledge_graph._model import (
    FellegiSunterModel,
    estimate_u,
    expectation_maximisation,
    term_frequencies,
)

__all__ = [
    "PAIRS_SCHEMA",
    "MatchResult",
    "ScoredPairs",
    "available_cores",
    "block_records",
    "entities_schema",
    "evaluate_resolution",
    "match_pairs",
    "matches_schema",
    "order_records",
    "resolve_entities",
    "score_pairs",
    "train_model",
]

logger = logging.getLogger(__name__)

MATCH_CHUNK_PAIRS = 1_000_000

PAIRS_SCHEMA = pa.schema(
    [
        pa.field("left", pa.int64(), nullable=False),
        pa.field("right", pa.int64(), nullable=False),
        pa.field("records_snapshot_id", pa.int64()),
    ]
)
"""Schema of the candidate pairs table: record indices into the ordered records snapshot."""


def available_cores() -> int:
    """CPU cores this process may run on (respects affinity and container CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def order_records(records: pa.Table, config: MatchConfig) -> pa.Table:
    """Records sorted by the id columns: the order every step's record indices refer to.

    Raises:
        InputDataError: An id column is missing, null, or two records share an id.
    """
    missing = [c for c in config.id_columns if c not in records.column_names]
    if missing:
        raise InputDataError(f"records lack id columns {missing}; they have {records.column_names}")
    for column in config.id_columns:
        nulls = records.column(column).null_count
        if nulls:
            raise InputDataError(
                f"id column {column!r} has {nulls} null values; every record needs an id"
            )
    ordered = records.sort_by([(c, "ascending") for c in config.id_columns])
    if ordered.num_rows > 1:
        ids = ordered.select(config.id_columns)
        same = np.ones(ordered.num_rows - 1, dtype=bool)
        for column in config.id_columns:
            values = ids.column(column)
            same &= pc.equal(values.slice(1), values.slice(0, ordered.num_rows - 1)).to_numpy(
                zero_copy_only=False
            )
        if same.any():
            row = int(np.flatnonzero(same)[0])
            example = {c: ids.column(c)[row].as_py() for c in config.id_columns}
            raise InputDataError(
                f"{int(same.sum())} records repeat an id ({config.id_columns}), e.g. {example}; "
                "ids must be unique: deduplicate the input table"
            )
    return ordered


def block_records(
    records: pa.Table, config: MatchConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, int], BlockingIndex]:
    """Candidate pairs of ordered records: ``(left, right, pairs_by_rule, index)``."""
    index = build_blocking_index(records, config)
    left, right, by_rule = candidate_pairs(index)
    return left, right, by_rule, index


def _random_pairs(
    prepared: PreparedRecords, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    left = rng.integers(0, prepared.n, count)
    right = rng.integers(0, prepared.n, count)
    keep = left != right
    if prepared.source_codes is not None:
        keep &= prepared.source_codes[left] != prepared.source_codes[right]
    return left[keep], right[keep]


def train_model(
    prepared: PreparedRecords,
    left: np.ndarray,
    right: np.ndarray,
    config: MatchConfig,
    workers: int | None = None,
) -> FellegiSunterModel:
    """Estimate the Fellegi-Sunter model from unlabelled candidate pairs.

    u starts from random record pairs (and stays there with ``em.fix_u``); m and the prior
    are estimated by EM on (a sample of) the candidate pairs; term frequencies come from all
    records.
    """
    rng = np.random.default_rng(config.em.seed)
    workers = config.workers if workers is None else workers
    names = [field.name for field in config.fields]
    n_levels = [field.n_levels for field in config.fields]
    if len(left) > config.em.sample_pairs:
        chosen = np.sort(rng.choice(len(left), config.em.sample_pairs, replace=False))
        left, right = left[chosen], right[chosen]
    u = None
    if prepared.n >= 2:
        random_left, random_right = _random_pairs(prepared, config.em.u_sample_pairs, rng)
        if len(random_left):
            random_levels = compare_pairs(prepared, random_left, random_right, workers)
            u = estimate_u(random_levels, n_levels)
    model = expectation_maximisation(
        compare_pairs(prepared, left, right, workers),
        n_levels,
        names,
        u=u,
        fix_u=config.em.fix_u and u is not None,
        prior=config.em.prior_match,
        max_iterations=config.em.max_iterations,
        tolerance=config.em.tolerance,
    )
    tf_names = [field.name for field in config.fields if field.tf_adjust]
    model.tf, model.tf_default = term_frequencies(prepared, tf_names)
    model.tf_minimum = config.tf_minimum
    for name in tf_names:
        column = names.index(name)
        if u is not None:
            model.tf_reference[name] = float(u[column][-1])
    return model


def matches_schema(config: MatchConfig, records_schema: pa.Schema) -> pa.Schema:
    """Schema of the matches table: both records' ids, weight, probability, levels."""
    fields = [
        pa.field(f"{side}_{column}", records_schema.field(column).type)
        for side in ("left", "right")
        for column in config.id_columns
    ]
    fields += [pa.field("match_weight", pa.float64()), pa.field("match_probability", pa.float64())]
    # int32, not int8: Iceberg has no 8-bit integers, and a table must read back as written.
    fields += [pa.field(f"level_{field.name}", pa.int32()) for field in config.fields]
    return pa.schema(fields)


@dataclass(frozen=True)
class ScoredPairs:
    """Output of `score_pairs`: the pairs at or above the threshold.

    Attributes:
        index: Their positions in the ``left``/``right`` arrays that were scored.
        levels: Their comparison levels, ``(len(index), n_comparisons)``.
        weight: Their match weights.
        probability: Their match probabilities.
    """

    index: np.ndarray
    levels: np.ndarray
    weight: np.ndarray
    probability: np.ndarray


def score_pairs(
    prepared: PreparedRecords,
    left: np.ndarray,
    right: np.ndarray,
    model: FellegiSunterModel,
    threshold: float,
    workers: int = -1,
    prune: bool = True,
) -> ScoredPairs:
    """Compare and score pairs of prepared records; keep those at or above ``threshold``.

    Comparisons run in stages (`comparison_stages`): the cheap ones on every pair, then the
    fuzzy ones a group at a time. With ``prune``, a pair is dropped before a stage once its
    weight so far plus the most the remaining comparisons could add
    (`FellegiSunterModel.max_comparison_weight`) stays below the threshold: it could never
    match, so the result is exactly that of scoring every comparison of every pair (kept
    pairs always get every level, and their weight from `FellegiSunterModel.match_weight`).

    Pairs go in chunks of at most `MATCH_CHUNK_PAIRS`, which bound the temporaries whatever
    the number of pairs. With several workers the chunks run in parallel threads, so the numpy
    and pandas work (which releases the GIL) uses every core too; rapidfuzz's ``cpdist`` holds
    the GIL on one thread, so two cores give about 1.5x one core. A single chunk gives its
    workers to rapidfuzz instead.

    Args:
        prepared: Records prepared by `prepare_records`.
        left: Left record indices into ``prepared``.
        right: Right record indices (same length).
        model: A trained model.
        threshold: Match probability to keep a pair, in (0, 1).
        workers: Cores to use (-1: all available).
        prune: Skip the comparisons that cannot change whether a pair matches.
    """
    if list(prepared.fields) != model.names:
        raise InputDataError(
            f"the model scores comparisons {model.names} but the records are prepared for "
            f"{list(prepared.fields)}: train the model with the same configuration"
        )
    workers = available_cores() if workers == -1 else max(1, workers)
    frequencies = model.record_frequencies(prepared)
    column_of = {name: column for column, name in enumerate(model.names)}
    stages = [stage for stage in comparison_stages(prepared) if stage]
    most = {name: model.max_comparison_weight(column_of[name]) for name in model.names}
    # A pair whose weight bound is below this cannot reach the threshold (with a margin for
    # rounding: pruning must never drop a pair that would be kept).
    hopeless = float(np.log2(threshold / (1 - threshold))) - 1e-6
    chunk = min(MATCH_CHUNK_PAIRS, max(1, -(-len(left) // workers)))
    starts = range(0, len(left), chunk)
    threads = min(workers, len(starts))

    def score(start: int) -> ScoredPairs:
        chunk_left, chunk_right = left[start : start + chunk], right[start : start + chunk]
        levels = np.full((len(chunk_left), len(model.names)), -1, dtype=np.int8, order="F")
        weight = np.full(len(chunk_left), model.prior_weight)
        alive = np.arange(len(chunk_left))
        remaining = sum(most.values())
        for stage in stages:
            if prune:
                alive = alive[weight[alive] + remaining >= hopeless]
            # While no pair is dropped, plain slices spare the gathers and scatters.
            rows = slice(None) if len(alive) == len(chunk_left) else alive
            pair_left, pair_right = chunk_left[rows], chunk_right[rows]
            stage_levels = compare_pairs(prepared, pair_left, pair_right, workers // threads, stage)
            stage_weight = np.zeros(len(alive))
            for position, name in enumerate(stage):
                column = column_of[name]
                levels[rows, column] = stage_levels[:, position]
                frequency = frequencies[name][pair_left] if name in frequencies else None
                stage_weight += model.comparison_weight(
                    column, stage_levels[:, position], frequency
                )
                remaining -= most[name]
            weight[rows] += stage_weight
        candidates = alive[weight[alive] >= hopeless]
        # The stored weight is match_weight's, summed in its order, whatever the stages did.
        exact_weight = model.match_weight(
            levels[candidates],
            {name: values[chunk_left[candidates]] for name, values in frequencies.items()},
        )
        probability = model.probability(exact_weight)
        keep = np.flatnonzero(probability >= threshold)
        return ScoredPairs(
            candidates[keep] + start,
            levels[candidates[keep]],
            exact_weight[keep],
            probability[keep],
        )

    if threads > 1:
        with ThreadPoolExecutor(threads, thread_name_prefix="score-pairs") as pool:
            parts = list(pool.map(score, starts))
    else:
        parts = [score(start) for start in starts]
    if not parts:
        return ScoredPairs(
            np.empty(0, dtype=np.int64),
            np.empty((0, len(model.names)), dtype=np.int8),
            np.empty(0),
            np.empty(0),
        )
    return ScoredPairs(
        *(np.concatenate([getattr(part, name) for part in parts]) for name in
          ("index", "levels", "weight", "probability"))
    )  # fmt: skip


@dataclass(frozen=True)
class MatchResult:
    """Output of `match_pairs`.

    Attributes:
        matches: Pairs at or above the threshold (`matches_schema`).
        pairs: Pairs compared.
        seconds: Wall time of the whole call: comparing, scoring, building the matches.
        cores: Cores the call was allowed to use.
        compare_seconds: Wall time of comparing and scoring alone (the per-pair cost).
    """

    matches: pa.Table
    pairs: int
    seconds: float
    cores: int
    compare_seconds: float = 0.0


def match_pairs(
    records: pa.Table,
    prepared: PreparedRecords,
    left: np.ndarray,
    right: np.ndarray,
    model: FellegiSunterModel,
    config: MatchConfig,
    workers: int | None = None,
) -> MatchResult:
    """Compare and score candidate pairs; keep those at or above the threshold.

    Args:
        records: Ordered records (`order_records`) that ``left``/``right`` index into; the
            matches take their id columns from here.
        prepared: The same records prepared once (`prepare_records`; the flow's block step
            does it, so match tasks do not normalise records again).
        left: Left record indices.
        right: Right record indices.
        model: A trained model.
        config: The matching configuration.
        workers: Cores to use (default: ``config.workers``; -1 = all available).

    Raises:
        InputDataError: ``prepared`` holds another number of records, or a pair points past
            the records (pairs from another snapshot).
    """
    workers = config.workers if workers is None else workers
    cores = available_cores() if workers == -1 else max(1, workers)
    started = time.perf_counter()
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    schema = matches_schema(config, records.schema)
    if prepared.n != records.num_rows:
        raise InputDataError(
            f"the prepared records hold {prepared.n} records but there are {records.num_rows}: "
            "prepare the same snapshot of the records"
        )
    if len(left) and max(left.max(), right.max()) >= records.num_rows:
        raise InputDataError(
            f"pairs refer to record {max(left.max(), right.max())} but there are only "
            f"{records.num_rows} records: the pairs were made from another snapshot"
        )
    scored = score_pairs(prepared, left, right, model, config.threshold, cores)
    compare_seconds = time.perf_counter() - started
    columns: dict[str, Any] = {}
    for side, indices in (("left", left), ("right", right)):
        for column in config.id_columns:
            columns[f"{side}_{column}"] = records.column(column).take(indices[scored.index])
    columns["match_weight"] = pa.array(scored.weight)
    columns["match_probability"] = pa.array(scored.probability)
    for position, field in enumerate(config.fields):
        columns[f"level_{field.name}"] = pa.array(scored.levels[:, position].astype(np.int32))
    matches = pa.Table.from_pydict(columns, schema=schema)
    return MatchResult(matches, len(left), time.perf_counter() - started, cores, compare_seconds)


def entities_schema(config: MatchConfig, records_schema: pa.Schema) -> pa.Schema:
    """Schema of the entities table."""
    member = pa.struct([records_schema.field(c) for c in config.id_columns])
    return pa.schema(
        [
            pa.field("entity_id", pa.string(), nullable=False),
            pa.field("size", pa.int32(), nullable=False),
            pa.field("members", pa.list_(member)),
            *(records_schema.field(c) for c in config.canonical_columns),
        ]
    )


def _positions(records: pa.Table, matches: pa.Table, side: str, config: MatchConfig) -> np.ndarray:
    index = pd.DataFrame(
        {c: records.column(c).to_numpy(zero_copy_only=False) for c in config.id_columns}
    )
    index["position"] = np.arange(records.num_rows)
    wanted = pd.DataFrame(
        {c: matches.column(f"{side}_{c}").to_numpy(zero_copy_only=False) for c in config.id_columns}
    )
    merged = wanted.merge(index, on=config.id_columns, how="left")
    if merged["position"].isna().any():
        row = merged[merged["position"].isna()].iloc[0]
        raise InputDataError(
            f"a match refers to record {dict(row[config.id_columns])}, which is not among the "
            "records: matches and records come from different snapshots"
        )
    return merged["position"].to_numpy(np.int64)


def _entity_id(key: tuple) -> str:
    digest = hashlib.blake2b("\x1f".join(map(str, key)).encode(), digest_size=8).hexdigest()
    return f"ent-{digest}"


def resolve_entities(
    records: pa.Table, matches: pa.Table, config: MatchConfig
) -> tuple[pa.Table, np.ndarray]:
    """Cluster matches into entities.

    Args:
        records: Ordered records.
        matches: The matches table (ids of both sides and ``match_weight``).
        config: The matching configuration (``cluster`` and ``canonical_columns``).

    Returns:
        ``(entities, labels)``: one row per entity (id, size, members, the most common value
        of each canonical column), and per record its cluster label.
    """
    n = records.num_rows
    left = _positions(records, matches, "left", config)
    right = _positions(records, matches, "right", config)
    weight = matches.column("match_weight").to_numpy()
    exclusive = None
    if config.cluster.exclusive_column:
        exclusive, _ = pd.factorize(
            records.column(config.cluster.exclusive_column).to_numpy(zero_copy_only=False)
        )
    labels = cluster_matches(
        n,
        left,
        right,
        weight,
        exclusive=exclusive,
        min_link_density=config.cluster.min_link_density,
        max_size=config.cluster.max_size,
    )
    schema = entities_schema(config, records.schema)
    if n == 0:
        return schema.empty_table(), labels
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_labels)) + 1]
    sizes = np.diff(np.r_[starts, n])
    members = pa.ListArray.from_arrays(
        pa.array(np.r_[starts, n].astype(np.int32)),
        pa.StructArray.from_arrays(
            [records.column(c).take(order).combine_chunks() for c in config.id_columns],
            fields=[records.schema.field(c) for c in config.id_columns],
        ),
    )
    first = order[starts]  # smallest index of each cluster: the label itself
    id_values = [records.column(c).take(first).to_pylist() for c in config.id_columns]
    columns: dict[str, Any] = {
        "entity_id": pa.array([_entity_id(key) for key in zip(*id_values, strict=True)]),
        "size": pa.array(sizes.astype(np.int32)),
        "members": members,
    }
    cluster_of = np.repeat(np.arange(len(starts)), sizes)  # cluster number, in sorted order
    for column in config.canonical_columns:
        values = records.column(column).take(order)
        frame = pd.DataFrame(
            {"cluster": cluster_of, "value": values.to_pandas(), "position": np.arange(n)}
        ).dropna(subset=["value"])
        counted = frame.groupby(["cluster", "value"], sort=False).agg(
            count=("position", "size"), first=("position", "min")
        )
        counted = counted.reset_index().sort_values(
            ["cluster", "count", "first"], ascending=[True, False, True]
        )
        best = counted.drop_duplicates("cluster")
        picked = np.full(len(starts), -1, dtype=np.int64)
        picked[best["cluster"].to_numpy()] = best["first"].to_numpy()
        columns[column] = values.take(pa.array(np.where(picked >= 0, picked, 0))).combine_chunks()
        if (picked < 0).any():
            mask = pa.array(picked < 0)
            columns[column] = pc.if_else(mask, pa.scalar(None, values.type), columns[column])
    return pa.Table.from_pydict(columns, schema=schema), labels


def evaluate_resolution(
    records: pa.Table,
    labels: np.ndarray,
    truth: pa.Table | None,
    config: MatchConfig,
) -> dict[str, float]:
    """Quality metrics against a truth table; empty when there is no truth.

    Args:
        records: Ordered records.
        labels: Per record, its cluster label (`resolve_entities`).
        truth: Id columns plus ``entity_id``, or None.
        config: The matching configuration (id columns, blocking rules).

    Returns:
        ``precision``, ``recall``, ``f1`` (pairwise), ``cluster_precision``,
        ``cluster_recall``, ``cluster_f1`` (B-cubed), ``blocking_recall`` and ``true_pairs``;
        ``{}`` without truth.

    Raises:
        InputDataError: The truth table lacks the id columns or ``entity_id``.
    """
    if truth is None:
        return {}
    needed = [*config.id_columns, "entity_id"]
    missing = [c for c in needed if c not in truth.column_names]
    if missing:
        raise InputDataError(
            f"truth table lacks columns {missing}; it needs {needed}, it has {truth.column_names}"
        )
    ids = pd.DataFrame(
        {c: records.column(c).to_numpy(zero_copy_only=False) for c in config.id_columns}
    )
    truth_frame = truth.select(needed).to_pandas().drop_duplicates(config.id_columns)
    joined = ids.merge(truth_frame, on=config.id_columns, how="left")
    unknown = joined["entity_id"].isna().to_numpy()
    if unknown.any():
        logger.warning("%d records have no truth row; each counts as its own entity", unknown.sum())
        joined.loc[unknown, "entity_id"] = [f"__unknown_{i}" for i in np.flatnonzero(unknown)]
    true_labels = joined["entity_id"].to_numpy()
    pairwise = pairwise_scores(labels, true_labels)
    bcubed = bcubed_scores(labels, true_labels)
    index = build_blocking_index(records, config)
    true_left, true_right = true_pairs(true_labels)
    survived = _pairs_pass_blocking(index, true_left, true_right)
    return {
        "precision": pairwise["precision"],
        "recall": pairwise["recall"],
        "f1": pairwise["f1"],
        "cluster_precision": bcubed["precision"],
        "cluster_recall": bcubed["recall"],
        "cluster_f1": bcubed["f1"],
        "blocking_recall": float(survived.mean()) if len(survived) else 1.0,
        "true_pairs": len(true_left),
    }
