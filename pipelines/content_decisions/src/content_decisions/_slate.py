"""Slate selection: which titles to license in a region, as an exact MILP solved by HiGHS.

One binary variable per offered title (1: in the slate). Maximise the slate's net value
(risk-adjusted value minus licence cost, in whole k$) subject to:

- ``budget``: total licence cost <= budget;
- ``min_titles`` / ``max_titles``: the slate's size;
- ``genre_min[g]`` / ``genre_max[g]``: each genre's share of the slate's titles within its
  bounds (linear: ``sum_g x - share * sum x >= 0``);
- ``min_local_language_share``: the share of titles in a local language;
- ``must_keep[T]``: the title is in the slate (a bound of its variable).

HiGHS proves optimality (branch and bound, ``mip_rel_gap = 0``; with whole-k$ objective
coefficients an optimum is exact). When the constraints admit no slate, a deletion filter
over the named constraint groups finds an irreducible set that conflicts (dropping any one of
them makes the rest feasible), and the error names it. A greedy baseline (best value per
cost first, within the budget and the genre caps, then repairs for the minimum shares) is
solved too, to show what the exact solver gains.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa

from content_decisions._config import RegionConfig
from content_decisions._errors import InputDataError, SlateInfeasibleError
from content_decisions._schemas import SLATE_SCHEMA

__all__ = [
    "MONEY_UNIT_K",
    "Constraint",
    "SlateProblem",
    "SlateResult",
    "find_conflicts",
    "greedy_slate",
    "select_slates",
    "slate_payloads",
    "solve_slate",
]

logger = logging.getLogger(__name__)

MONEY_UNIT_K = 0.1
"""Values and costs are whole multiples of this many k$ ($100) in the MILP."""


@dataclass(frozen=True)
class Constraint:
    """One named linear constraint ``lower <= coefficients @ x <= upper``."""

    name: str
    coefficients: np.ndarray
    lower: float
    upper: float


@dataclass(frozen=True)
class SlateProblem:
    """A region's slate problem: the offered titles, their figures and the constraints.

    Attributes:
        region: The region.
        title_ids: The offered titles.
        value: Risk-adjusted value of each title over the horizon (k$).
        cost: Licence cost of each title over the horizon (k$).
        genres: Genre of each title.
        local: Whether each title is in one of the region's local languages.
        must_keep: Whether each title must be in the slate.
        budget: Budget (k$).
        min_titles: Fewest titles.
        max_titles: Most titles (None: no cap).
        genre_min_share: Lowest share per genre.
        genre_max_share: Highest share per genre present.
        min_local_share: Lowest share of local-language titles.
    """

    region: str
    title_ids: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    genres: np.ndarray
    local: np.ndarray
    must_keep: np.ndarray
    budget: float
    min_titles: int = 0
    max_titles: int | None = None
    genre_min_share: dict[str, float] = field(default_factory=dict)
    genre_max_share: dict[str, float] = field(default_factory=dict)
    min_local_share: float = 0.0

    @classmethod
    def from_config(
        cls,
        config: RegionConfig,
        *,
        title_ids: Sequence[str],
        value: np.ndarray,
        value_low: np.ndarray,
        cost: np.ndarray,
        genres: Sequence[str],
        languages: Sequence[str],
    ) -> SlateProblem:
        """The problem a region's configuration sets over its offered titles.

        Values are risk-adjusted (``value - risk_aversion * (value - value_low)``); values
        and costs are rounded to whole $100 (costs up, the budget down), so every objective
        coefficient is a whole number of `MONEY_UNIT_K` and the optimum HiGHS proves is exact.

        Raises:
            InputDataError: A must-keep title is not offered in the region.
        """
        ids = np.asarray(title_ids, dtype=object)
        known = set(ids.tolist())
        missing = [t for t in config.must_keep if t not in known]
        if missing:
            raise InputDataError(
                f"region {config.region}: must_keep titles {missing} are not offered in the "
                f"region ({len(ids)} titles are); fix must_keep in its config"
            )
        adjusted = value - config.risk_aversion * (value - value_low)
        cost = np.ceil(np.asarray(cost, dtype=np.float64) / MONEY_UNIT_K) * MONEY_UNIT_K
        budget = (
            config.budget_k if config.budget_k is not None else config.budget_share * cost.sum()
        )
        present = sorted(set(genres))
        return cls(
            region=config.region,
            title_ids=ids,
            value=np.round(np.asarray(adjusted, dtype=np.float64) / MONEY_UNIT_K) * MONEY_UNIT_K,
            cost=cost,
            genres=np.asarray(genres, dtype=object),
            local=np.isin(np.asarray(languages, dtype=object), config.local_languages),
            must_keep=np.isin(ids, config.must_keep),
            budget=_money(np.floor(budget / MONEY_UNIT_K) * MONEY_UNIT_K),
            min_titles=config.min_titles,
            max_titles=config.max_titles,
            genre_min_share={g: s for g, s in config.genre_min_share.items() if s > 0},
            genre_max_share={g: config.max_share(g) for g in present if config.max_share(g) < 1},
            min_local_share=config.min_local_language_share,
        )

    @property
    def objective(self) -> np.ndarray:
        """Net value of each title: value minus cost (k$)."""
        return self.value - self.cost

    def constraints(self) -> list[Constraint]:
        """Every constraint row, named (must-keeps are bounds, see `must_keep`)."""
        n = len(self.title_ids)
        ones = np.ones(n)
        rows = [Constraint("budget", self.cost, -np.inf, self.budget)]
        if self.min_titles > 0:
            rows.append(Constraint("min_titles", ones, self.min_titles, np.inf))
        if self.max_titles is not None:
            rows.append(Constraint("max_titles", ones, -np.inf, self.max_titles))
        for genre, share in sorted(self.genre_min_share.items()):
            member = (self.genres == genre).astype(np.float64)
            rows.append(Constraint(f"genre_min[{genre}]", member - share, 0.0, np.inf))
        for genre, share in sorted(self.genre_max_share.items()):
            member = (self.genres == genre).astype(np.float64)
            rows.append(Constraint(f"genre_max[{genre}]", member - share, -np.inf, 0.0))
        if self.min_local_share > 0:
            local = self.local.astype(np.float64) - self.min_local_share
            rows.append(Constraint("min_local_language_share", local, 0.0, np.inf))
        return rows

    def must_keep_names(self) -> list[str]:
        """``must_keep[T]`` for every must-keep title."""
        return [f"must_keep[{t}]" for t in self.title_ids[self.must_keep]]

    def is_feasible(self, selected: np.ndarray, tolerance: float = 1e-6) -> bool:
        """Whether a 0/1 selection meets every constraint."""
        x = selected.astype(np.float64)
        if np.any(self.must_keep & ~selected.astype(bool)):
            return False
        for row in self.constraints():
            activity = float(row.coefficients @ x)
            if activity < row.lower - tolerance or activity > row.upper + tolerance:
                return False
        return True


@dataclass(frozen=True)
class SlateResult:
    """The optimal slate of one region, and how it was found.

    Attributes:
        region: The region.
        selected: 0/1 per offered title.
        objective: Net value of the slate (k$).
        value: Risk-adjusted value of the slate (k$).
        cost: Licence cost of the slate (k$).
        budget: The budget (k$).
        mip_gap: HiGHS's relative gap between the slate and its proven bound (0: optimal).
        dual_bound: The proven upper bound of the objective.
        solve_seconds: HiGHS's solve time.
        nodes: Branch-and-bound nodes.
        greedy_objective: Net value of the greedy baseline's slate (k$).
        greedy_feasible: Whether the greedy slate meets every constraint.
    """

    region: str
    selected: np.ndarray
    objective: float
    value: float
    cost: float
    budget: float
    mip_gap: float
    dual_bound: float
    solve_seconds: float
    nodes: int
    greedy_objective: float
    greedy_feasible: bool

    @property
    def titles(self) -> int:
        """Titles in the slate."""
        return int(self.selected.sum())

    @property
    def value_vs_greedy(self) -> float | None:
        """The slate's net value divided by the greedy slate's (None if not comparable)."""
        if not self.greedy_feasible or self.greedy_objective <= 0:
            return None
        return self.objective / self.greedy_objective

    def summary(self) -> dict[str, float | int | str | bool | None]:
        """The figures as plain values."""
        ratio = self.value_vs_greedy
        return {
            "region": self.region,
            "titles": self.titles,
            "objective_k": self.objective,
            "value_k": self.value,
            "cost_k": self.cost,
            "budget_k": self.budget,
            "mip_gap": self.mip_gap,
            "dual_bound_k": self.dual_bound,
            "solve_seconds": round(self.solve_seconds, 4),
            "nodes": self.nodes,
            "greedy_objective_k": self.greedy_objective,
            "greedy_feasible": self.greedy_feasible,
            "value_vs_greedy": None if ratio is None else round(ratio, 4),
        }


def _highs(time_limit_s: float):
    import highspy

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("time_limit", float(time_limit_s))
    highs.setOptionValue("random_seed", 0)
    return highs


def _model(
    problem: SlateProblem,
    rows: list[Constraint],
    must_keep: np.ndarray,
    objective: np.ndarray,
):
    import highspy

    n = len(problem.title_ids)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    # Whole money units: HiGHS sees an integral objective and closes the gap exactly.
    lp.col_cost_ = np.round(objective / MONEY_UNIT_K)
    lp.col_lower_ = must_keep.astype(np.float64)
    lp.col_upper_ = np.ones(n)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    lp.row_lower_ = np.array([r.lower for r in rows], dtype=np.float64)
    lp.row_upper_ = np.array([r.upper for r in rows], dtype=np.float64)
    starts, indices, values = [0], [], []
    for row in rows:
        nonzero = np.flatnonzero(row.coefficients)
        indices.append(nonzero)
        values.append(row.coefficients[nonzero])
        starts.append(starts[-1] + len(nonzero))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.concatenate(indices or [np.zeros(0)]).astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate(values or [np.zeros(0)]).astype(np.float64)
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = len(rows)
    return lp


def _feasible(
    problem: SlateProblem, rows: list[Constraint], must_keep: np.ndarray, time_limit_s: float
) -> bool:
    import highspy

    highs = _highs(time_limit_s)
    highs.passModel(_model(problem, rows, must_keep, np.zeros(len(problem.title_ids))))
    highs.run()
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return False
    if status == highspy.HighsModelStatus.kOptimal:
        return True
    raise SlateInfeasibleError(
        f"region {problem.region}: HiGHS could not decide whether a constraint subset is "
        f"feasible within {time_limit_s} s ({highs.modelStatusToString(status)})"
    )


def find_conflicts(problem: SlateProblem, time_limit_s: float = 30.0) -> list[str]:
    """An irreducible set of constraint names that admits no slate (a deletion filter).

    Each constraint group (a row, or one must-keep title) is dropped in turn; if the rest is
    still infeasible it stays dropped. What remains conflicts, and dropping any one of it
    makes the others feasible.

    Returns:
        The conflicting constraints' names ([] if the problem is feasible).
    """
    rows = {row.name: row for row in problem.constraints()}
    keeps = {
        name: index
        for name, index in zip(
            problem.must_keep_names(), np.flatnonzero(problem.must_keep), strict=True
        )
    }
    active = [*rows, *keeps]

    def feasible(names: list[str]) -> bool:
        must = np.zeros(len(problem.title_ids), dtype=bool)
        must[[keeps[n] for n in names if n in keeps]] = True
        return _feasible(problem, [rows[n] for n in names if n in rows], must, time_limit_s)

    if feasible(active):
        return []
    for name in list(active):
        trial = [n for n in active if n != name]
        if not feasible(trial):
            active = trial
    return active


def greedy_slate(problem: SlateProblem) -> np.ndarray:
    """The greedy baseline: must-keeps, then best net value per cost while it fits.

    A title is added if the budget allows, the slate stays under ``max_titles`` and its
    genre stays under its cap (counted against at least ``min_titles``); afterwards each
    unmet minimum share is repaired with the group's best remaining titles, swapping out the
    weakest title outside the group when the budget is spent. The result may still miss a
    constraint (check with `SlateProblem.is_feasible`).
    """
    n = len(problem.title_ids)
    selected = problem.must_keep.copy()
    spent = float(problem.cost[selected].sum())
    cap = problem.max_titles if problem.max_titles is not None else n
    ratio = problem.objective / np.maximum(problem.cost, 1.0)
    order = np.argsort(-ratio, kind="stable")
    counts: dict[str, int] = {}
    for genre in problem.genres[selected]:
        counts[genre] = counts.get(genre, 0) + 1

    def fits(index: int) -> bool:
        if selected[index] or spent + problem.cost[index] > problem.budget:
            return False
        if selected.sum() + 1 > cap:
            return False
        genre = problem.genres[index]
        limit = problem.genre_max_share.get(genre, 1.0)
        size = max(int(selected.sum()) + 1, problem.min_titles)
        return counts.get(genre, 0) + 1 <= limit * size

    def take(index: int) -> None:
        nonlocal spent
        selected[index] = True
        spent += float(problem.cost[index])
        genre = problem.genres[index]
        counts[genre] = counts.get(genre, 0) + 1

    def drop(index: int) -> None:
        nonlocal spent
        selected[index] = False
        spent -= float(problem.cost[index])
        counts[problem.genres[index]] -= 1

    for index in order:
        if problem.objective[index] > 0 and fits(index):
            take(index)
    groups = [(problem.local, problem.min_local_share)]
    groups += [(problem.genres == g, s) for g, s in problem.genre_min_share.items()]

    def short(member: np.ndarray, share: float) -> bool:
        size = max(int(selected.sum()), problem.min_titles)
        return member[selected].sum() < share * size - 1e-9

    def admit(member: np.ndarray) -> bool:
        """Add the group's best title that fits; else swap out the weakest titles outside
        the group until one of its five best fits. False when nothing helps."""
        candidates = [i for i in order if member[i] and not selected[i]]
        added = next((i for i in candidates if fits(i)), None)
        if added is not None:
            take(added)
            return True
        outside = [
            i for i in order[::-1] if selected[i] and not member[i] and not problem.must_keep[i]
        ]
        for candidate in candidates[:5]:
            dropped = []
            for index in outside:
                if fits(candidate):
                    break
                drop(index)
                dropped.append(index)
            if fits(candidate):
                take(candidate)
                return True
            for index in dropped:
                take(index)
        return False

    # Repair the minimum shares until every one holds or no repair helps.
    for _ in range(4 * n):
        deficient = [member for member, share in groups if short(member, share)]
        if not deficient or not any(admit(member) for member in deficient):
            break
    for index in order:  # fill up to min_titles
        if selected.sum() >= problem.min_titles:
            break
        if fits(index):
            take(index)
    return selected


def solve_slate(problem: SlateProblem, time_limit_s: float = 60.0) -> SlateResult:
    """Solve a region's slate exactly with HiGHS.

    Raises:
        SlateInfeasibleError: No slate meets the constraints (the message names a set of
            constraints that conflict), or HiGHS stopped without proving an optimum.
    """
    import highspy

    rows = problem.constraints()
    highs = _highs(time_limit_s)
    highs.passModel(_model(problem, rows, problem.must_keep, problem.objective))
    started = time.perf_counter()
    highs.run()
    seconds = time.perf_counter() - started
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        conflicts = find_conflicts(problem, time_limit_s)
        raise SlateInfeasibleError(
            f"region {problem.region}: no slate meets the constraints; these conflict (drop "
            f"or relax any one of them): {', '.join(conflicts) or 'unknown'}. Budget "
            f"{problem.budget:.0f} k$, {len(problem.title_ids)} titles offered, must-keeps cost "
            f"{problem.cost[problem.must_keep].sum():.0f} k$. Nothing was published; the "
            "previous slate stays"
        )
    if status != highspy.HighsModelStatus.kOptimal:
        raise SlateInfeasibleError(
            f"region {problem.region}: HiGHS stopped with status "
            f"{highs.modelStatusToString(status)} after {seconds:.1f} s without a proven "
            f"optimum; raise time_limit_s (now {time_limit_s}) or relax the constraints"
        )
    info = highs.getInfo()
    selected = np.asarray(highs.getSolution().col_value) > 0.5
    greedy = greedy_slate(problem)
    result = SlateResult(
        region=problem.region,
        selected=selected,
        objective=_money(problem.objective[selected].sum()),
        value=_money(problem.value[selected].sum()),
        cost=_money(problem.cost[selected].sum()),
        budget=problem.budget,
        mip_gap=max(float(info.mip_gap), 0.0),
        dual_bound=_money(float(info.mip_dual_bound) * MONEY_UNIT_K),
        solve_seconds=seconds,
        nodes=int(info.mip_node_count),
        greedy_objective=_money(problem.objective[greedy].sum()),
        greedy_feasible=problem.is_feasible(greedy),
    )
    logger.info("slate %s", result.summary())
    return result


def _money(amount: float) -> float:
    """A sum of money in k$, rounded to the MILP's unit (sums of floats drift)."""
    return round(round(float(amount) / MONEY_UNIT_K) * MONEY_UNIT_K, 6)


def select_slates(
    values: pa.Table,
    titles: pa.Table,
    configs: Mapping[str, RegionConfig],
    as_of: dt.date,
    *,
    time_limit_s: float = 60.0,
) -> tuple[pa.Table, dict[str, SlateResult]]:
    """Solve every configured region's slate.

    Every region is solved before anything is returned, so one infeasible region stops the
    whole publication (the previous slates stay).

    Args:
        values: The value table's rows for ``as_of`` (every offer of every region).
        titles: ``etl.titles`` (genre, language).
        configs: Region -> config (budget and constraints).
        as_of: The day the values are as of.
        time_limit_s: HiGHS's time limit per region.

    Returns:
        ``(slate rows, region -> result)``.

    Raises:
        SlateInfeasibleError: One or more regions have no feasible slate; the message names
            each one's conflicting constraints.
    """
    frame = pl.from_arrow(values).join(
        pl.from_arrow(titles.select(["title_id", "genre", "language"])), on="title_id"
    )
    results: dict[str, SlateResult] = {}
    parts: list[pl.DataFrame] = []
    failures: list[str] = []
    for region, config in configs.items():
        offered = frame.filter(pl.col("region") == region).sort("title_id")
        if offered.is_empty():
            raise InputDataError(f"no valued offers for region {region} as of {as_of}")
        problem = SlateProblem.from_config(
            config,
            title_ids=offered["title_id"].to_list(),
            value=offered["value_k"].to_numpy(),
            value_low=offered["value_low_k"].to_numpy(),
            cost=offered["cost_k"].to_numpy(),
            genres=offered["genre"].to_list(),
            languages=offered["language"].to_list(),
        )
        try:
            result = solve_slate(problem, time_limit_s)
        except SlateInfeasibleError as error:
            failures.append(str(error))
            continue
        results[region] = result
        chosen = offered.filter(pl.Series(result.selected))
        parts.append(
            chosen.with_columns(
                pl.lit(as_of).alias("as_of_date"),
                pl.col("title_id").is_in(config.must_keep).alias("must_keep"),
            ).select(SLATE_SCHEMA.names)
        )
    if failures:
        raise SlateInfeasibleError(" | ".join(failures))
    table = pl.concat(parts).to_arrow().cast(SLATE_SCHEMA)
    return table, results


def slate_payloads(
    slates: pa.Table, results: Mapping[str, SlateResult], as_of: dt.date, run: str
) -> dict[str, dict]:
    """What the cache holds per region: the slate's titles and its figures."""
    frame = pl.from_arrow(slates.select(["region", "title_id"]))
    payloads = {}
    for region, result in results.items():
        titles = frame.filter(pl.col("region") == region)["title_id"].sort().to_list()
        payloads[region] = {
            **result.summary(),
            "as_of": as_of.isoformat(),
            "title_ids": titles,
            "run": run,
        }
    return payloads
