"""The ETL command line: ``uv run pipelines/content_decisions/etl.py --date D``."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from content_decisions._config import REGION_CONFIG_DIR
from content_decisions._dates import parse_date
from content_decisions._errors import ContentDecisionsError
from content_decisions._etl import next_etl_date, run_etl
from content_decisions._tables import Outputs
from content_decisions._world import WorldSpec

__all__ = ["PIPELINE_DIR", "etl_command"]

PIPELINE_DIR = REGION_CONFIG_DIR.parents[1]
"""The pipeline's folder: the orchestrator discovers the chain's four flows here."""


@click.command(context_settings={"show_default": True})
@click.option(
    "--date", "day", default=None, help="Day to write, YYYY-MM-DD [default: the next one]."
)
@click.option(
    "--revision", default=0, type=click.IntRange(min=0), help="0: first delivery; N: a restatement."
)
@click.option("--no-publish", is_flag=True, help="Write the day without publishing the event.")
@click.option(
    "--orchestrate", is_flag=True, help="Then run the orchestrator until the chain is idle."
)
@click.option(
    "--production", is_flag=True, help="With --orchestrate: run the chain on the production branch."
)
@click.option("--branch", default=None, help="With --orchestrate: run the chain on test.<branch>.")
@click.option("--titles", default=2_000, type=click.IntRange(min=1), help="Seeding only: titles.")
@click.option(
    "--countries-per-region",
    default=None,
    type=click.IntRange(min=1),
    help="Seeding only [default: all 190 countries].",
)
@click.option(
    "--history-weeks",
    default=12,
    type=click.IntRange(min=1),
    help="Seeding only: weeks of history.",
)
@click.option("--seed", default=0, type=int, help="Seeding only: random seed.")
def etl_command(
    day: str | None,
    revision: int,
    no_publish: bool,
    orchestrate: bool,
    production: bool,
    branch: str | None,
    titles: int,
    countries_per_region: int | None,
    history_weeks: int,
    seed: int,
) -> None:
    """Write one day of viewing to etl.viewing_daily and publish etl.viewing_daily.done.

    On a fresh profile it first seeds the sample world (titles, 190 countries, licence offers
    and the viewing history).
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    spec = WorldSpec(
        n_titles=titles,
        countries_per_region=countries_per_region,
        history_weeks=history_weeks,
        seed=seed,
    )
    try:
        date = parse_date(day, what="--date") if day else next_etl_date(spec)
        result = run_etl(date, revision=revision, spec=spec, publish_event=not no_publish)
    except ContentDecisionsError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"wrote {result.rows} rows of {result.date} (revision {result.revision}) to "
        f"etl.viewing_daily, snapshot {result.snapshot_id}"
        + (f"; published etl.viewing_daily.done ({result.event_id})" if result.event_id else "")
    )
    if orchestrate:
        _orchestrate(production=production, branch=branch)


def _orchestrate(*, production: bool, branch: str | None) -> None:
    from mlplatform.cache import Cache
    from mlplatform.orchestration import Orchestrator, list_runs

    orchestrator = Orchestrator(flows_dir=Path(PIPELINE_DIR), production=production, branch=branch)
    summary = orchestrator.run(until_idle=True)
    click.echo(
        f"orchestrator: {summary.started} run(s) started, {summary.succeeded} succeeded, "
        f"{summary.failed} failed"
    )
    for record in list_runs(limit=summary.started) if summary.started else []:
        click.echo(
            f"  {record.flow:<22} {record.status:<10} run {record.run_id}  "
            f"{(record.duration_s or 0):6.1f} s  {record.branch}"
        )
    outputs = Outputs.for_branch(orchestrator.default_branch)
    published = Cache(outputs.cache_namespace).get("summary")
    if published:
        click.echo(
            f"published slates as of {published['as_of']} in cache {outputs.cache_namespace}"
        )
        for region in published["regions"]:
            slate = Cache(outputs.cache_namespace).get(f"slate:{region}")
            click.echo(
                f"  {region:<7} {slate['titles']:>5} titles  net value "
                f"{slate['objective_k']:>10,.1f} k$  gap {slate['mip_gap']:.2g}"
            )
