"""The pipeline's part of ``mlp nightly``: one ETL event through the whole chain, checked.

On the fresh local profile it seeds a sample world (its size from ``context.sized``), writes
the next day of viewing and publishes ``etl.viewing_daily.done`` as the partner's ETL does,
then runs the real local orchestrator over the pipeline's folder until the chain is idle
(production branch): ViewingAggregatesFlow -> DemandForecastFlow -> ValuationFlow ->
SlateSelectionFlow. It then checks what the tests and the README hold the chain to: every
region's forecast beats seasonal naive by `REQUIRED_IMPROVEMENT` on the backtest (with its
interval's coverage in the tests' band), every slate is proven optimal (MIP gap 0), at least
as good as the greedy baseline, within its constraints and solved within the benchmark's
target, and the cache's current generation is this run's, holding each region's slate as
the slate table has it.
"""

from __future__ import annotations

import datetime as dt
import os

from content_decisions._config import REQUIRED_IMPROVEMENT, load_region_config
from content_decisions._outputs import Outputs
from content_decisions._vocabulary import REGIONS
from content_decisions._world import WorldSpec
from mlplatform.nightly import NightlyContext

__all__ = ["nightly"]

CHAIN = ["ViewingAggregatesFlow", "DemandForecastFlow", "ValuationFlow", "SlateSelectionFlow"]

#: The backtest's observed coverage of the 80% interval must lie in this band
#: (`tests/test_forecast.py`); the README measures 79.7-80.0% on the default world.
COVERAGE_BAND = (0.6, 0.95)

#: HiGHS's solve time per region, the README's target for 2,000 titles (benchmarks/chain.py).
SOLVE_TARGET_S = 5.0


def _world(context: NightlyContext) -> WorldSpec:
    """The sample world: the chain tests' small world; the README's 2,000 titles (the slate
    benchmark's instance size) in 15 countries; the README's default world (190 countries,
    12 weeks, 13M rows of viewing)."""
    return context.sized(
        small=WorldSpec(n_titles=200, countries_per_region=2, history_weeks=6, seed=3),
        default=WorldSpec(n_titles=2_000, countries_per_region=3, history_weeks=6),
        large=WorldSpec(),
    )


def _aggregates_and_values(context: NightlyContext, spec: WorldSpec, aggregated, valued) -> None:
    days = len(aggregated.data.plan["dates"])
    context.check(
        "aggregates: the branch's first run processed the whole history and the new day",
        days == 7 * spec.history_weeks + 1 and aggregated.data.changed,
        value=f"{days} days",
        expected=f"{7 * spec.history_weeks + 1} days",
    )
    context.figure("aggregate rows written", aggregated.data.aggregate_rows)
    offers = spec.n_titles * len(REGIONS)
    context.check(
        "valuation: a value for every title offered in every region",
        valued.data.valued == offers,
        value=valued.data.valued,
        expected=f"{offers:,} ({spec.n_titles:,} titles x {len(REGIONS)} regions)",
    )


def _chain(context: NightlyContext, spec: WorldSpec) -> tuple[dt.date, list]:
    """Seed, deliver the next day with its event, and run the chain until idle."""
    from content_decisions._cli import PIPELINE_DIR
    from content_decisions._etl import run_etl
    from content_decisions._tables import ensure_world
    from mlplatform.orchestration import Orchestrator, list_runs

    countries = spec.countries_per_region or "all"
    with context.stage(
        f"seed the sample world ({spec.n_titles:,} titles, {countries} countries per region, "
        f"{7 * spec.history_weeks} days)"
    ):
        ensure_world(spec)
    day = spec.history_end + dt.timedelta(days=1)
    with context.stage(f"partner ETL: write {day} and publish etl.viewing_daily.done"):
        delivered = run_etl(day, spec=spec)
    context.figure("viewing rows of the new day", delivered.rows)
    with context.stage("orchestrator until idle: ETL event -> ... -> SlateSelectionFlow"):
        before = len(list_runs(limit=100_000))
        summary = Orchestrator(flows_dir=PIPELINE_DIR, production=True).run(until_idle=True)
        runs = list_runs(limit=100_000)[before:]
    ran = [(r.flow, r.status) for r in runs]
    context.check(
        "chain: the ETL event ran all four flows, each succeeded, on branch prod",
        [r.flow for r in runs] == CHAIN
        and all(r.status == "succeeded" and r.branch == "prod" for r in runs)
        and summary.failed == 0,
        value=", ".join(f"{flow} {status}" for flow, status in ran) or "nothing ran",
        expected=" -> ".join(CHAIN) + ", all succeeded",
        detail="; ".join(f"{r.flow}: {r.error}" for r in runs if r.error)[-3000:],
    )
    for record in runs:
        context.figure(f"{record.flow} run time", round(record.duration_s or 0.0, 1), " s")
    return day, runs


def _forecast(context: NightlyContext, run) -> None:
    backtests = run.data.backtests
    context.check(
        "forecast: a backtest per region",
        sorted(b["region"] for b in backtests) == sorted(REGIONS),
        value=len(backtests),
        expected=f"{len(REGIONS)} ({', '.join(REGIONS)})",
    )
    low, high = COVERAGE_BAND
    for b in backtests:
        region = b["region"]
        context.at_least(
            f"forecast {region}: improvement over seasonal naive (1 - WAPE ratio)",
            b["improvement"],
            REQUIRED_IMPROVEMENT,
        )
        context.figure(f"forecast {region}: WAPE model", b["wape_model"])
        context.figure(f"forecast {region}: WAPE seasonal naive", b["wape_seasonal_naive"])
        observed = b["interval_observed_coverage"]
        context.check(
            f"forecast {region}: backtest coverage of the {b['interval_coverage']:.0%} interval",
            low <= observed <= high,
            value=observed,
            expected=f"in [{low}, {high}]",
        )


def _slates(context: NightlyContext, run, day: dt.date) -> None:
    import polars as pl

    from content_decisions._tables import load_partition
    from mlplatform.cache import Cache

    outputs = Outputs.for_branch("prod")
    results = {r["region"]: r for r in run.data.results}
    table = pl.from_arrow(load_partition(outputs.slate, "as_of_date", day))
    for region in REGIONS:
        result = results.get(region)
        if result is None:
            context.check(f"slate {region}: solved", False, value="no result")
            continue
        context.at_most(f"slate {region}: MIP gap (proven optimal)", result["mip_gap"], 0.0)
        # The optimum is at least the greedy slate's net value whenever greedy is feasible
        # (tests/test_chain.py); value_vs_greedy is their ratio when greedy's is positive.
        objective, greedy = result["objective_k"], result["greedy_objective_k"]
        shown = result["value_vs_greedy"]
        if not result["greedy_feasible"]:
            shown = "greedy slate infeasible"
        elif shown is None:
            shown = f"{objective:,.1f} k$ vs greedy {greedy:,.1f} k$"
        context.check(
            f"slate {region}: net value vs the greedy baseline",
            objective >= greedy or not result["greedy_feasible"],
            value=shown,
            expected=">= 1.0 (net value >= greedy's, or greedy infeasible)",
        )
        context.at_most(
            f"slate {region}: HiGHS solve time", result["solve_seconds"], SOLVE_TARGET_S, unit=" s"
        )
        config = load_region_config(region)
        chosen = sorted(table.filter(pl.col("region") == region)["title_id"].to_list())
        problems = []
        if result["cost_k"] > result["budget_k"]:
            problems.append(f"cost {result['cost_k']} k$ > budget {result['budget_k']} k$")
        if not config.min_titles <= len(chosen) <= (config.max_titles or len(chosen)):
            allowed = f"{config.min_titles}..{config.max_titles or ''}"
            problems.append(f"{len(chosen)} titles, allowed {allowed}")
        if missing := sorted(set(config.must_keep) - set(chosen)):
            problems.append(f"must-keep titles missing: {missing}")
        if len(chosen) != result["titles"]:
            problems.append(f"the table has {len(chosen)} titles, the run {result['titles']}")
        context.check(
            f"slate {region}: budget, size and must-keeps met (table as of {day})",
            not problems,
            value="; ".join(problems) or f"{len(chosen)} titles, {result['cost_k']:,.1f} k$",
            expected=f"cost <= {result['budget_k']:,.1f} k$, >= {config.min_titles} titles, "
            f"{len(config.must_keep)} must-keeps",
        )
        context.figure(f"slate {region}: net value", result["objective_k"], " k$")
        context.figure(f"slate {region}: greedy net value", result["greedy_objective_k"], " k$")

    with context.stage(f"read the published slate back from cache {outputs.cache_namespace}"):
        cache = Cache(outputs.cache_namespace)
        generation = cache.current_generation()
        summary = cache.get("summary") or {}
        cached = {region: cache.get(f"slate:{region}") or {} for region in REGIONS}
    context.check(
        "cache: the current generation is this run's, as of the new day",
        generation is not None
        and generation == run.data.generation
        and summary.get("as_of") == day.isoformat()
        and summary.get("run") == run.pathspec,
        value=f"{generation}, as of {summary.get('as_of')}, run {summary.get('run')}",
        expected=f"{run.data.generation}, as of {day}, run {run.pathspec}",
    )
    differing = [
        region
        for region in REGIONS
        if cached[region].get("title_ids")
        != sorted(table.filter(pl.col("region") == region)["title_id"].to_list())
    ]
    context.check(
        "cache: every region's slate holds the slate table's titles",
        not differing,
        value=f"differ: {', '.join(differing)}" if differing else f"{len(REGIONS)} regions equal",
        expected=f"{len(REGIONS)} regions equal",
    )


def nightly(context: NightlyContext) -> None:
    """Seed, publish the ETL event, run the chain, check forecast, slates and cache."""
    from metaflow import Run, namespace

    # Hand-offs between the chain's flows at the tests' pace; a failure fails the night at
    # once (the chain's failures are deterministic, a retry would fail the same way).
    os.environ.setdefault("MLP_ORCHESTRATION__POLL_INTERVAL_S", "0.2")
    os.environ.setdefault("MLP_ORCHESTRATION__MAX_ATTEMPTS", "1")
    spec = _world(context)
    day, runs = _chain(context, spec)
    by_flow = {record.flow: record for record in runs if record.status == "succeeded"}
    missing = [flow for flow in CHAIN if flow not in by_flow]
    if missing:
        raise RuntimeError(f"the chain did not finish: no successful run of {', '.join(missing)}")
    namespace(None)  # production runs (@project branch prod)
    aggregated, forecast, valued, slate = (Run(by_flow[flow].pathspec) for flow in CHAIN)
    _aggregates_and_values(context, spec, aggregated, valued)
    _forecast(context, forecast)
    _slates(context, slate, day)
    context.cards(forecast.pathspec)
    context.cards(slate.pathspec)
