"""The match kernel: compare and score candidate pairs, keep those that match.

`score_pairs` is the per-pair cost of the pipeline (comparing and scoring, pruned and
chunked); `match_pairs` wraps it for a match task: checks the inputs and builds the
matches table.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from knowledge_graph._compare import PreparedRecords, compare_pairs, comparison_stages
from knowledge_graph._config import MatchConfig
from knowledge_graph._errors import InputDataError
from knowledge_graph._model import FellegiSunterModel
from knowledge_graph._schemas import matches_schema

__all__ = [
    "MATCH_CHUNK_PAIRS",
    "MatchResult",
    "ScoredPairs",
    "available_cores",
    "match_pairs",
    "score_pairs",
]

MATCH_CHUNK_PAIRS = 1_000_000
"""Most pairs `score_pairs` compares at once: bounds its temporaries (~120 MB a chunk)."""


def available_cores() -> int:
    """CPU cores this process may run on (respects affinity and container CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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

    Raises:
        InputDataError: The model scores other comparisons than the records are prepared for.
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
