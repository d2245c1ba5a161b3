"""The slate MILP: optimal against brute force, conflicts, the greedy baseline, publication rows."""

import dataclasses
import datetime as dt
import itertools

import content_decisions as cd
import numpy as np
import pyarrow as pa
import pytest


def _problem(n=14, seed=0, **changes) -> cd.SlateProblem:
    rng = np.random.default_rng(seed)
    cost = np.round(rng.uniform(1, 10, n), 1)
    problem = cd.SlateProblem(
        region="na",
        title_ids=np.array([f"T{i:05d}" for i in range(n)], dtype=object),
        value=np.round(cost * rng.lognormal(0.1, 0.5, n), 1),
        cost=cost,
        genres=np.array(rng.choice(["drama", "comedy", "horror"], n), dtype=object),
        local=rng.random(n) < 0.35,
        must_keep=np.isin(np.arange(n), [2]),
        budget=round(float(cost.sum()) * 0.45, 1),
        min_titles=3,
        max_titles=8,
        genre_min_share={"comedy": 0.2},
        genre_max_share={"horror": 0.25, "drama": 0.6},
        min_local_share=0.3,
    )
    return dataclasses.replace(problem, **changes)


def _brute_force(
    problem: cd.SlateProblem, names: set[str] | None = None
) -> tuple[float, np.ndarray | None]:
    """Best net value over every subset of titles that meets every constraint (or ``names``)."""
    n = len(problem.title_ids)
    subsets = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float64)
    keep = problem.must_keep.copy()
    if names is not None:
        keep &= np.isin([f"must_keep[{t}]" for t in problem.title_ids], list(names))
    feasible = np.all(subsets[:, keep] == 1, axis=1)
    for row in problem.constraints():
        if names is not None and row.name not in names:
            continue
        activity = subsets @ row.coefficients
        feasible &= (activity >= row.lower - 1e-9) & (activity <= row.upper + 1e-9)
    if not feasible.any():
        return float("-inf"), None
    values = subsets @ problem.objective
    values[~feasible] = -np.inf
    best = int(np.argmax(values))
    return float(values[best]), subsets[best].astype(bool)


@pytest.mark.parametrize("seed", range(6))
def test_the_milp_optimum_equals_brute_force_on_small_instances(seed):
    problem = _problem(seed=seed)
    best, _ = _brute_force(problem)
    if best == float("-inf"):
        with pytest.raises(cd.SlateInfeasibleError):
            cd.solve_slate(problem)
        return
    result = cd.solve_slate(problem)
    assert result.objective == pytest.approx(best, abs=1e-6)
    assert result.mip_gap == 0
    assert problem.is_feasible(result.selected)
    assert result.selected[2]  # the must-keep title
    assert result.objective >= result.greedy_objective or not result.greedy_feasible


def test_at_least_one_small_instance_is_feasible_and_greedy_is_beaten_somewhere():
    outcomes = []
    for seed in range(6):
        problem = _problem(seed=seed)
        if _brute_force(problem)[1] is not None:
            result = cd.solve_slate(problem)
            outcomes.append(result.objective - result.greedy_objective)
    assert outcomes and max(outcomes) > 0


def test_must_keeps_over_the_budget_conflict_with_the_budget():
    problem = _problem(
        must_keep=np.isin(np.arange(14), [0, 1]),
        min_titles=0,
        max_titles=None,
        genre_min_share={},
        genre_max_share={},
        min_local_share=0.0,
    )
    problem = dataclasses.replace(problem, budget=float(problem.cost[:2].sum()) - 0.1)
    with pytest.raises(cd.SlateInfeasibleError, match="these conflict") as raised:
        cd.solve_slate(problem)
    assert "budget, must_keep[T00000], must_keep[T00001]." in str(raised.value)
    assert "previous slate stays" in str(raised.value)


def test_an_infeasible_set_names_an_irreducible_conflict():
    problem = _problem(must_keep=np.isin(np.arange(14), [0, 1, 2, 3]))
    problem = dataclasses.replace(problem, budget=float(problem.cost[:4].sum()) - 0.1)
    assert _brute_force(problem)[1] is None
    with pytest.raises(cd.SlateInfeasibleError, match="these conflict") as raised:
        cd.solve_slate(problem)
    conflicts = cd.find_conflicts(problem)
    assert conflicts and all(name in str(raised.value) for name in conflicts)
    # Irreducible (checked by brute force): together they admit no slate; without any one of
    # them, the others do.
    assert _brute_force(problem, set(conflicts))[1] is None
    for name in conflicts:
        assert _brute_force(problem, set(conflicts) - {name})[1] is not None, name


def test_conflicting_shares_are_named():
    problem = _problem(genre_min_share={"comedy": 0.9}, must_keep=np.zeros(14, dtype=bool))
    problem = dataclasses.replace(problem, min_local_share=0.9)
    conflicts = cd.find_conflicts(problem)
    assert {"genre_min[comedy]"} <= set(conflicts) or {"min_local_language_share"} <= set(conflicts)
    assert cd.find_conflicts(_problem(seed=1)) == [] or _brute_force(_problem(seed=1))[1] is None


def test_the_greedy_baseline_stays_within_the_budget_and_the_caps():
    problem = _problem(n=200, seed=4, max_titles=60, min_titles=10)
    problem = dataclasses.replace(problem, must_keep=np.isin(np.arange(200), [2]))
    greedy = cd.greedy_slate(problem)
    assert problem.cost[greedy].sum() <= problem.budget
    assert greedy.sum() <= 60 and greedy[2]
    result = cd.solve_slate(problem)
    assert result.mip_gap == 0 and result.objective >= result.greedy_objective


def test_a_region_problem_from_its_config(region_configs):
    config = region_configs["na"]
    n = 60
    genres = [cd.GENRES[i % len(cd.GENRES)] for i in range(n)]
    languages = ["en" if i % 2 else "fr" for i in range(n)]
    ids = [f"T{i:05d}" for i in range(n)]
    value = np.linspace(1, 30, n)
    problem = cd.SlateProblem.from_config(
        config, title_ids=ids, value=value, value_low=value / 2, cost=np.full(n, 4.04),
        genres=genres, languages=languages,
    )  # fmt: skip
    assert problem.cost[0] == pytest.approx(4.1)  # costs round up to $100
    assert problem.value[-1] == pytest.approx(30 - config.risk_aversion * 15, abs=0.05)
    assert problem.must_keep.sum() == len(config.must_keep)
    assert problem.budget == pytest.approx(np.floor(config.budget_share * 4.1 * n * 10) / 10)
    with pytest.raises(cd.InputDataError, match=r"must_keep titles \['T00001', 'T00002'\]"):
        cd.SlateProblem.from_config(
            config, title_ids=ids[3:], value=value[3:], value_low=value[3:], cost=np.ones(n - 3),
            genres=genres[3:], languages=languages[3:],
        )  # fmt: skip


def test_select_slates_solves_every_region_and_fails_all_at_once(region_configs):
    n = 120
    rng = np.random.default_rng(5)
    ids = [f"T{i:05d}" for i in range(n)]
    titles = pa.table(
        {
            "title_id": ids,
            "genre": [cd.GENRES[i % len(cd.GENRES)] for i in range(n)],
            "language": [["en", "es", "fr", "ar", "ja"][i % 5] for i in range(n)],
        }
    )
    rows = []
    for region in cd.REGIONS:
        cost = rng.uniform(1, 10, n)
        value = cost * rng.lognormal(0.1, 0.4, n)
        rows += [
            {"region": region, "title_id": t, "value_k": v, "value_low_k": 0.8 * v,
             "value_high_k": 1.2 * v, "cost_k": c}
            for t, v, c in zip(ids, value, cost, strict=True)
        ]  # fmt: skip
    values = pa.Table.from_pylist(rows)
    day = dt.date(2026, 2, 16)
    slates, results = cd.select_slates(values, titles, region_configs, day)
    assert set(results) == set(cd.REGIONS)
    assert all(r.mip_gap == 0 for r in results.values())
    for region, result in results.items():
        chosen = slates.filter(pa.compute.equal(slates["region"], region))
        assert chosen.num_rows == result.titles
        assert set(region_configs[region].must_keep) <= set(chosen["title_id"].to_pylist())
    payloads = cd.slate_payloads(slates, results, day, "SlateSelectionFlow/1/start/1")
    assert payloads["na"]["title_ids"] == sorted(payloads["na"]["title_ids"])
    assert payloads["na"]["titles"] == len(payloads["na"]["title_ids"])
    tight = {**region_configs}
    tight["na"] = tight["na"].model_copy(update={"budget_share": None, "budget_k": 1.0})
    tight["mea"] = tight["mea"].model_copy(update={"min_titles": 200})
    conflicts = r"region na: .*budget.*\| region mea: .*: min_titles\. "
    with pytest.raises(cd.SlateInfeasibleError, match=conflicts):
        cd.select_slates(values, titles, tight, day)
