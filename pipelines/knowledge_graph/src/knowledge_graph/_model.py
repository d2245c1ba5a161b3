"""Fellegi-Sunter scoring with m/u probabilities estimated by expectation-maximisation.

`train_model` fits the model of a matching configuration on unlabelled candidate pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from knowledge_graph._compare import PreparedRecords, compare_pairs
from knowledge_graph._config import MatchConfig
from knowledge_graph._errors import InputDataError

__all__ = [
    "FellegiSunterModel",
    "estimate_u",
    "expectation_maximisation",
    "isotonic_regression",
    "term_frequencies",
    "train_model",
]

logger = logging.getLogger(__name__)

_FLOOR = 1e-6  # no level is ever impossible: a log of zero would be an infinite weight


def _normalise(counts: np.ndarray) -> np.ndarray:
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 0) + _FLOOR
    return counts / counts.sum()


def isotonic_regression(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence closest to ``values`` in weighted least squares.

    Pool adjacent violators: neighbours out of order are replaced by their weighted mean
    until none is. Weighted sums are preserved (``sum(weights * result) == sum(weights *
    values)``), which the constrained M-steps rely on.

    Args:
        values: One value per level, worst level first.
        weights: Positive weights, same length.
    """
    blocks: list[list[float]] = []  # [weighted sum, weight, number of levels]
    for value, weight in zip(np.asarray(values, float), np.asarray(weights, float), strict=True):
        blocks.append([value * weight, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] > blocks[-1][0] * blocks[-2][1]:
            total, weight_sum, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += weight_sum
            blocks[-1][2] += count
    return np.concatenate([np.full(int(count), total / weight) for total, weight, count in blocks])


def _m_given_u(matched: np.ndarray, u: np.ndarray, monotone: bool) -> np.ndarray:
    """M-step for m with u fixed: maximises sum(matched * log m), m/u non-decreasing if asked.

    The constrained maximum pools levels: m/u is the isotonic regression of matched/u with
    weights u (each pooled block gets the ratio sum(matched) / sum(u) of its levels).
    """
    matched = np.maximum(matched, 0) + _FLOOR
    if not monotone:
        return matched / matched.sum()
    m = u * isotonic_regression(matched / u, u)
    return m / m.sum()


def _m_and_u(
    matched: np.ndarray, unmatched: np.ndarray, monotone: bool
) -> tuple[np.ndarray, np.ndarray]:
    """M-step for m and u from expected counts, m/u non-decreasing if asked.

    The maximum under a likelihood-ratio order (Dykstra, Kochar and Robertson, 1995): with
    w = matched + unmatched per level, the share theta = matched / w is replaced by its
    isotonic regression (weights w); m is proportional to w * theta and u to w * (1 - theta),
    so m/u is proportional to theta / (1 - theta), non-decreasing.
    """
    matched = np.maximum(matched, 0) + _FLOOR
    unmatched = np.maximum(unmatched, 0) + _FLOOR
    if not monotone:
        return matched / matched.sum(), unmatched / unmatched.sum()
    total = matched + unmatched
    share = isotonic_regression(matched / total, total)
    m, u = total * share, total * (1 - share)
    return m / m.sum(), u / u.sum()


@dataclass
class FellegiSunterModel:
    """m and u probabilities per comparison level, a prior, and term frequencies.

    A pair's match weight is ``log2(prior / (1 - prior)) + sum_f log2(m_f[l] / u_f[l])``
    over the comparisons with evidence (level ``-1`` adds nothing). For comparisons with
    term-frequency adjustment, an exact match on value ``v`` adds
    ``log2(tf_reference / max(tf(v), tf_minimum))``: ``tf_reference`` is the chance that two
    random records agree exactly, so a match on "Home" counts for less than a match on a rare
    title, and a typical value is left as it is.

    Attributes:
        names: Comparison names, in level-column order.
        m: Per comparison, P(level | match), indexed by level.
        u: Per comparison, P(level | non-match), indexed by level.
        prior: Share of matches among candidate pairs.
        tf: Per term-frequency-adjusted comparison, ``(values, frequencies)`` of the values
            seen at least twice.
        tf_reference: Per term-frequency-adjusted comparison, the share of random record
            pairs that agree exactly.
        tf_default: Frequency of a value seen once (1 / number of records).
        tf_minimum: Lower bound of a frequency.
        iterations: EM iterations run.
        converged: Whether EM met its tolerance.
        monotone: Whether the levels' weights were constrained to be non-decreasing; then a
            term-frequency adjusted exact match never weighs less than the level below it.
    """

    names: list[str]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    tf: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    tf_reference: dict[str, float] = field(default_factory=dict)
    tf_default: float = 1e-6
    tf_minimum: float = 1e-6
    iterations: int = 0
    converged: bool = True
    monotone: bool = False

    def match_weight(
        self, levels: np.ndarray, tf_frequencies: Mapping[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """Match weight (log2 odds) of each pair.

        Args:
            levels: ``(n_pairs, n_comparisons)`` levels from `compare_pairs`.
            tf_frequencies: Per term-frequency-adjusted comparison name, the frequency of each
                pair's left value (only used where that comparison is an exact match).
        """
        if levels.ndim != 2 or levels.shape[1] != len(self.names):
            raise InputDataError(
                f"levels must have shape (n_pairs, {len(self.names)}) for comparisons "
                f"{self.names}; got {levels.shape}"
            )
        weight = np.full(len(levels), self.prior_weight)
        for column, name in enumerate(self.names):
            frequency = (tf_frequencies or {}).get(name)
            weight += self.comparison_weight(column, levels[:, column], frequency)
        return weight

    @property
    def prior_weight(self) -> float:
        """The match weight of a pair before any comparison."""
        return float(np.log2(self.prior / (1 - self.prior)))

    def comparison_weight(
        self, column: int, levels: np.ndarray, tf_frequency: np.ndarray | None = None
    ) -> np.ndarray:
        """What one comparison adds to each pair's match weight (`match_weight` sums these).

        Args:
            column: The comparison's position in `names`.
            levels: Its level for each pair.
            tf_frequency: For a term-frequency-adjusted comparison, the frequency of each
                pair's left value.
        """
        m, u = self.m[column], self.u[column]
        weight = np.append(np.log2(m / u), 0.0)[levels]  # level -1 indexes the trailing 0
        if tf_frequency is not None:
            top = len(u) - 1
            exact = levels == top
            reference = self.tf_reference.get(self.names[column], u[top])
            adjusted = weight[exact] + np.log2(
                reference / np.maximum(tf_frequency[exact], self.tf_minimum)
            )
            if self.monotone and top > 0:  # a common value still agrees better than a near miss
                adjusted = np.maximum(adjusted, np.log2(m[top - 1] / u[top - 1]))
            weight[exact] = adjusted
        return weight

    def level_weights(self, column: int) -> np.ndarray:
        """The weight of each level of one comparison, worst first (``log2(m / u)``)."""
        return np.log2(self.m[column] / self.u[column])

    def max_comparison_weight(self, column: int) -> float:
        """The most one comparison can add to a match weight (0: no evidence)."""
        m, u = self.m[column], self.u[column]
        factors = np.log2(m / u)
        if self.names[column] in self.tf:
            top = len(u) - 1
            reference = self.tf_reference.get(self.names[column], u[top])
            factors[top] += max(0.0, float(np.log2(reference / self.tf_minimum)))
        return max(0.0, float(factors.max()))

    @staticmethod
    def probability(weight: np.ndarray) -> np.ndarray:
        """Match probability of a match weight."""
        return 1.0 / (1.0 + np.exp2(-np.asarray(weight, dtype=np.float64)))

    def record_frequencies(self, prepared: PreparedRecords) -> dict[str, np.ndarray]:
        """Per term-frequency comparison, the frequency of each record's value.

        Index the result with a chunk's left record indices to get `match_weight`'s
        ``tf_frequencies``.
        """
        frequencies: dict[str, np.ndarray] = {}
        for name, (values, freqs) in self.tf.items():
            entry = prepared.fields[name]
            position = pd.Index(values).get_indexer(entry.uniques)
            per_code = np.where(position >= 0, freqs[position], self.tf_default)
            per_code = np.append(per_code, self.tf_default)  # code -1 (null)
            frequencies[name] = per_code[entry.codes]
        return frequencies

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (a Metaflow artifact, a file)."""
        return {
            "names": list(self.names),
            "m": [values.tolist() for values in self.m],
            "u": [values.tolist() for values in self.u],
            "prior": self.prior,
            "tf": {
                name: [values.tolist(), freqs.tolist()] for name, (values, freqs) in self.tf.items()
            },
            "tf_reference": dict(self.tf_reference),
            "tf_default": self.tf_default,
            "tf_minimum": self.tf_minimum,
            "iterations": self.iterations,
            "converged": self.converged,
            "monotone": self.monotone,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FellegiSunterModel:
        """Inverse of `to_dict`."""
        return cls(
            names=list(data["names"]),
            m=[np.asarray(values, dtype=np.float64) for values in data["m"]],
            u=[np.asarray(values, dtype=np.float64) for values in data["u"]],
            prior=float(data["prior"]),
            tf={
                name: (np.asarray(values, dtype=object), np.asarray(freqs, dtype=np.float64))
                for name, (values, freqs) in data.get("tf", {}).items()
            },
            tf_reference={k: float(v) for k, v in data.get("tf_reference", {}).items()},
            tf_default=float(data.get("tf_default", 1e-6)),
            tf_minimum=float(data.get("tf_minimum", 1e-6)),
            iterations=int(data.get("iterations", 0)),
            converged=bool(data.get("converged", True)),
            monotone=bool(data.get("monotone", False)),
        )


def term_frequencies(
    prepared: PreparedRecords, names: Sequence[str]
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    """Frequency of each normalised value seen at least twice, for the named comparisons.

    Returns:
        ``({name: (values, frequencies)}, default frequency of a value seen once)``.
    """
    n = max(prepared.n, 1)
    tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in names:
        entry = prepared.fields[name]
        counts = np.bincount(entry.codes[entry.codes >= 0], minlength=len(entry.uniques))
        common = np.flatnonzero(counts >= 2)
        tables[name] = (entry.uniques[common], counts[common] / n)
    return tables, 1.0 / n


def estimate_u(levels: np.ndarray, n_levels: Sequence[int]) -> list[np.ndarray]:
    """u probabilities from the levels of random record pairs (nearly all non-matches)."""
    result = []
    for column, count in enumerate(n_levels):
        observed = levels[:, column]
        result.append(_normalise(np.bincount(observed[observed >= 0], minlength=count)))
    return result


def _patterns(levels: np.ndarray, n_levels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct level vectors and how often each occurs (EM then runs on patterns, not pairs)."""
    key = np.zeros(len(levels), dtype=np.int64)
    for column, count in enumerate(n_levels):
        key = key * (count + 1) + (levels[:, column].astype(np.int64) + 1)
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    return levels[first], counts.astype(np.float64)


def expectation_maximisation(
    levels: np.ndarray,
    n_levels: Sequence[int],
    names: Sequence[str],
    *,
    u: Sequence[np.ndarray] | None = None,
    fix_u: bool = True,
    monotone: bool = True,
    prior: float = 0.1,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
) -> FellegiSunterModel:
    """Estimate m (and u unless fixed) and the prior from unlabelled pairs by EM.

    Assumes the comparisons are conditionally independent given match status. Nulls (level
    -1) are left out of the comparison they belong to. With ``monotone`` every M-step is the
    maximum under the constraint that m/u does not fall from one level to the next (levels
    in agreement order), so no better agreement ever weighs less than a worse one.

    Args:
        levels: ``(n_pairs, n_comparisons)`` levels of candidate pairs.
        n_levels: Number of levels of each comparison.
        names: Comparison names.
        u: Starting (or fixed) u per comparison; default favours level 0.
        fix_u: Keep ``u`` as given instead of re-estimating it.
        monotone: Constrain m/u to be non-decreasing with the level.
        prior: Starting share of matches.
        max_iterations: Upper bound on iterations.
        tolerance: Stop when no probability moves more than this.

    Raises:
        InputDataError: The levels' shape does not match ``n_levels``, or ``fix_u`` without ``u``.
    """
    if levels.ndim != 2 or levels.shape[1] != len(n_levels):
        raise InputDataError(
            f"levels must have {len(n_levels)} columns (one per comparison), got {levels.shape}"
        )
    if fix_u and u is None:
        raise InputDataError("fix_u needs u probabilities (see estimate_u)")
    m = [_normalise((np.arange(count) + 1.0) ** 3) for count in n_levels]
    u_values = (
        [_normalise(values) for values in u]
        if u is not None
        else [_normalise((count - np.arange(count)) ** 3.0) for count in n_levels]
    )
    if len(levels) == 0:
        logger.info("EM: no pairs to learn from; keeping the starting probabilities")
        return FellegiSunterModel(
            list(names), m, u_values, prior, iterations=0, converged=False, monotone=monotone
        )
    patterns, counts = _patterns(levels, n_levels)
    total = counts.sum()
    evidence = [patterns[:, column] >= 0 for column in range(len(n_levels))]
    converged = False
    iteration = 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007 - reported after the loop
        log_m = np.zeros(len(patterns))
        log_u = np.zeros(len(patterns))
        for column in range(len(n_levels)):
            observed = patterns[evidence[column], column]
            log_m[evidence[column]] += np.log(m[column][observed])
            log_u[evidence[column]] += np.log(u_values[column][observed])
        match_part = np.log(prior) + log_m
        posterior = np.exp(match_part - np.logaddexp(match_part, np.log1p(-prior) + log_u))
        weighted_match = counts * posterior
        weighted_non = counts * (1 - posterior)
        change = 0.0
        new_prior = float(np.clip(weighted_match.sum() / total, _FLOOR, 1 - _FLOOR))
        change = abs(new_prior - prior)
        prior = new_prior
        for column, count in enumerate(n_levels):
            observed = patterns[evidence[column], column]
            matched = np.bincount(
                observed, weights=weighted_match[evidence[column]], minlength=count
            )
            if fix_u:
                new_m = _m_given_u(matched, u_values[column], monotone)
            else:
                unmatched = np.bincount(
                    observed, weights=weighted_non[evidence[column]], minlength=count
                )
                new_m, new_u = _m_and_u(matched, unmatched, monotone)
                change = max(change, float(np.abs(new_u - u_values[column]).max()))
                u_values[column] = new_u
            change = max(change, float(np.abs(new_m - m[column]).max()))
            m[column] = new_m
        if change < tolerance:
            converged = True
            break
    logger.info(
        "EM: %d iterations on %d pairs (%d patterns), prior %.4f, converged=%s",
        iteration,
        int(total),
        len(patterns),
        prior,
        converged,
    )
    return FellegiSunterModel(
        list(names),
        m,
        u_values,
        prior,
        iterations=iteration,
        converged=converged,
        monotone=monotone,
    )


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

    u comes from random record pairs (and is re-estimated on the candidates only with
    ``em.fix_u`` off); m and the prior are estimated by EM on (a sample of) the candidate
    pairs, each comparison's m/u non-decreasing with agreement under ``em.monotone``; term
    frequencies come from all records.

    Args:
        prepared: Records prepared by `prepare_records`.
        left: Left record indices of the candidate pairs.
        right: Right record indices (same length).
        config: The matching configuration (comparisons, ``em``, ``tf_minimum``).
        workers: Cores for comparing (default: ``config.workers``; -1 = all available).
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
        monotone=config.em.monotone,
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
