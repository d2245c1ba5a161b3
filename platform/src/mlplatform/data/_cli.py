"""``mlp data``: list, inspect, preview tables and collect unreferenced staged files."""

from __future__ import annotations

import re
from datetime import timedelta

import click
from rich.console import Console
from rich.table import Table as RichTable

from mlplatform.config import load_settings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """Parse ``30m``, ``24h``, ``7d`` (units s, m, h, d, w) into a timedelta.

    Raises:
        click.BadParameter: The text is not a duration.
    """
    match = _DURATION.match(text)
    if not match:
        raise click.BadParameter(
            f"{text!r} is not a duration; expected a number and a unit (s, m, h, d, w), e.g. 24h"
        )
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def _size(num_bytes: int) -> str:
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


@click.group(name="data")
def data() -> None:
    """Iceberg tables of the active profile: list, show, head, gc."""


@data.command(name="ls")
@click.argument("namespace", required=False)
def ls(namespace: str | None) -> None:
    """List tables (optionally of one NAMESPACE)."""
    from mlplatform.data._catalog import list_tables

    settings = load_settings()
    names = list_tables(settings, namespace)
    console = Console()
    if not names:
        console.print(
            f"no tables in the {settings.data.catalog} catalog at {settings.data.catalog_uri}"
        )
        return
    for name in names:
        console.print(name)


@data.command()
@click.argument("name")
def show(name: str) -> None:
    """Show NAME's schema, partitions, snapshots, file count and bytes."""
    from mlplatform.data._table import Table

    table = Table(name)
    console = Console()
    schema = table.schema
    columns = RichTable("column", "type", "nullable", title=f"{name} schema")
    for field in schema:
        columns.add_row(field.name, str(field.type), "yes" if field.nullable else "no")
    console.print(columns)
    spec = table.partition_spec
    partitions = ", ".join(f"{c} ({t})" for c, t in spec) or "unpartitioned"
    console.print(f"[bold]partitioned by[/bold] {partitions}")
    files = table.files()
    rows = sum(f.record_count for f in files)
    console.print(
        f"[bold]current snapshot[/bold] {table.current_snapshot_id}: {len(files)} files, "
        f"{_size(sum(f.size_bytes for f in files))}, {rows} rows"
    )
    snapshots = RichTable(
        "snapshot", "time (UTC)", "operation", "added rows", "run", title="snapshots"
    )
    for snapshot in table.snapshots():
        snapshots.add_row(
            str(snapshot.snapshot_id),
            snapshot.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            snapshot.operation,
            snapshot.summary.get("added-records", "0"),
            snapshot.summary.get("mlp.run", ""),
        )
    console.print(snapshots)


@data.command()
@click.argument("name")
@click.option("-n", "rows", default=10, show_default=True, help="Rows to show.")
@click.option("--columns", "-c", default=None, help="Comma-separated columns.")
@click.option("--filter", "-f", "row_filter", default=None, help='e.g. "year >= 2000".')
def head(name: str, rows: int, columns: str | None, row_filter: str | None) -> None:
    """Print the first N rows of NAME."""
    from mlplatform.data._frame import DataFrame

    if rows < 0:
        raise click.BadParameter(f"-n must be 0 or more, got {rows}")
    selected = [c.strip() for c in columns.split(",")] if columns else None
    result = DataFrame.load(name, selected, row_filter, limit=rows).to_arrow()
    view = RichTable(*result.schema.names)
    for record in result.to_pylist():
        view.add_row(*("" if v is None else str(v) for v in record.values()))
    console = Console()
    console.print(f"{name}: {result.num_rows} rows")
    console.print(view)


@data.command(name="gc")
@click.option(
    "--older-than",
    "older_than",
    default="7d",
    show_default=True,
    help="Only delete staged files older than this (s, m, h, d, w), e.g. 24h.",
)
@click.option("--dry-run", is_flag=True, help="List what would be deleted.")
def gc_command(older_than: str, dry_run: bool) -> None:
    """Delete staged files that no table snapshot references."""
    from mlplatform.data._write import gc, staging_root

    settings = load_settings()
    result = gc(parse_duration(older_than), settings=settings, dry_run=dry_run)
    console = Console()
    for path in result.deleted:
        console.print(("would delete " if dry_run else "deleted ") + path)
    console.print(
        f"{staging_root(settings)}: {'would delete' if dry_run else 'deleted'} "
        f"{len(result.deleted)} files; kept {result.referenced} committed and "
        f"{result.recent} newer than {older_than}"
    )
