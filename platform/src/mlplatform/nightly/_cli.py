"""``mlp nightly``: run every pipeline end to end and write the report."""

from __future__ import annotations

import sys

import click

from mlplatform.nightly._context import SIZES


def _print_table(report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"mlp nightly --size {report.size}: {report.seconds:.0f} s")
    for column in ("pipeline", "check", "result", "value", "expected"):
        table.add_column(column)
    for result in report.pipelines:
        table.add_row(
            f"[bold]{result.pipeline}[/]",
            f"{result.seconds:.0f} s",
            "[green]passed[/]" if result.passed else f"[red]{result.status}[/]",
            "",
            "",
        )
        for check in result.checks:
            table.add_row(
                "",
                check.name,
                "[green]ok[/]" if check.passed else "[red]FAIL[/]",
                "" if check.value is None else str(check.value),
                check.expected,
            )
        if result.error:
            table.add_row("", "[red]error[/]", "[red]FAIL[/]", result.error[:120], "")
    Console(width=160).print(table)


@click.command()
@click.option(
    "--size",
    type=click.Choice(SIZES),
    default="default",
    show_default=True,
    help="Sample data size for every pipeline.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="PIPELINE",
    help="Run only this pipeline (repeatable); default every pipeline with a nightly hook.",
)
@click.option("--keep", is_flag=True, help="Keep each pipeline's state (tables, runs) after.")
@click.option(
    "--jobs", type=int, default=2, show_default=True, help="Pipelines run at the same time."
)
@click.option(
    "--timeout",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Stop a pipeline's hook after this long [default: 420 small, 900 default, 3600 large].",
)
@click.option(
    "--inject-failure",
    multiple=True,
    metavar="PIPELINE",
    hidden=True,
    help="For tests: make this pipeline's hook fail at once.",
)
def nightly(
    size: str,
    only: tuple[str, ...],
    keep: bool,
    jobs: int,
    timeout: float | None,
    inject_failure: tuple[str, ...],
) -> None:
    """Run every pipeline end to end on fresh local state, check it, and write a report.

    Each pipeline's nightly hook seeds sample data, runs its flows (event chains included)
    and services, calls its endpoints and checks its quality thresholds. The report goes to
    <home>/reports/nightly-<timestamp>.json and .html. Exits 1 when any check fails (naming
    it), 2 when another nightly run holds the lock, 130 when interrupted.
    """
    from mlplatform.nightly._run import run_nightly

    report = run_nightly(
        size=size,
        only=only,
        keep=keep,
        jobs=jobs,
        inject_failure=inject_failure,
        echo=click.echo,
        timeout_s=timeout,
    )
    _print_table(report)
    click.echo(f"report: {report.html_path}\n        {report.json_path}")
    if report.interrupted:
        click.echo("error: interrupted; the hooks that were running are stopped", err=True)
        sys.exit(130)
    if not report.passed:
        failures = report.failures()
        click.echo(f"error: {len(failures)} check(s) failed: {'; '.join(failures)}", err=True)
        sys.exit(1)
