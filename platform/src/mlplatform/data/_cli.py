"""``mlp data``: list, inspect, preview tables and collect unreferenced staged files.

Every listing takes ``--format table|json|csv`` (`mlplatform._output`): a table for people,
which never cuts ids, names or paths and never wraps when piped; JSON or CSV for programs.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import click

from mlplatform._output import emit, format_option, wide_console
from mlplatform.config import load_settings
from mlplatform.data._backend import open_source
from mlplatform.data._catalog import list_tables
from mlplatform.data._frame import DataFrame
from mlplatform.data._write import gc, staging_root

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
@format_option
def ls(namespace: str | None, output_format: str) -> None:
    """List tables (optionally of one NAMESPACE)."""
    settings = load_settings()
    rows = [{"table": name} for name in list_tables(settings, namespace)]
    empty = f"no tables in the {settings.data.catalog} catalog at {settings.data.catalog_uri}"
    emit(rows, ["table"], output_format, keys=["table"], empty=empty)


@data.command()
@click.argument("name")
@format_option
def show(name: str, output_format: str) -> None:
    """Show NAME's schema, partitions, current files and snapshots.

    A table or Hive folder path. ``--format json`` prints one object with every part;
    ``--format csv`` prints the snapshots, one line each.
    """
    source = open_source(name)
    files = source.files()
    snapshots = [
        {
            "snapshot_id": snapshot.snapshot_id,
            "time": snapshot.timestamp,
            "operation": snapshot.operation,
            "added_rows": int(snapshot.summary.get("added-records", 0)),
            "run": snapshot.summary.get("mlp.run"),
        }
        for snapshot in source.snapshots()
    ]
    snapshot_columns = ["snapshot_id", "time", "operation", "added_rows", "run"]
    schema = [
        {"column": field.name, "type": str(field.type), "nullable": field.nullable}
        for field in source.schema
    ]
    spec = source.partition_spec
    if output_format == "csv":
        emit(snapshots, snapshot_columns, "csv")
        return
    summary = {
        "current_snapshot_id": source.current_snapshot_id,
        "files": len(files),
        "bytes": sum(f.size_bytes for f in files),
        "rows": sum(f.record_count for f in files),
    }
    if output_format == "json":
        described = {"table": name, "schema": schema, "partition_spec": spec, **summary}
        click.echo(json.dumps({**described, "snapshots": snapshots}, default=str))
        return
    emit(schema, ["column", "type", "nullable"], title=f"{name} schema", keys=["column"])
    console = wide_console()
    partitions = ", ".join(f"{c} ({t})" for c, t in spec) or "unpartitioned"
    console.print(f"[bold]partitioned by[/bold] {partitions}", highlight=False)
    console.print(
        f"[bold]current snapshot[/bold] {summary['current_snapshot_id']}: {len(files)} files, "
        f"{_size(summary['bytes'])}, {summary['rows']} rows",
        highlight=False,
    )
    emit(
        snapshots,
        snapshot_columns,
        title="snapshots",
        keys=["snapshot_id", "time", "run"],
        empty="no snapshots",
    )


@data.command()
@click.argument("name")
@click.option(
    "-n", "rows", default=10, show_default=True, type=click.IntRange(min=0), help="Rows to show."
)
@click.option("--columns", "-c", default=None, help="Comma-separated columns.")
@click.option("--filter", "-f", "row_filter", default=None, help='e.g. "year >= 2000".')
@format_option
def head(
    name: str, rows: int, columns: str | None, row_filter: str | None, output_format: str
) -> None:
    """Print the first N rows of NAME (a table or a Hive folder path)."""
    selected = [c.strip() for c in columns.split(",")] if columns else None
    result = DataFrame.load(name, selected, row_filter, limit=rows).to_arrow()
    emit(
        result.to_pylist(),
        result.schema.names,
        output_format,
        title=f"{name}: {result.num_rows} rows",
        empty=f"{name}: 0 rows",
    )


@data.command(name="gc")
@click.option(
    "--older-than",
    "older_than",
    default="7d",
    show_default=True,
    help="Only delete staged files older than this (s, m, h, d, w), e.g. 24h.",
)
@click.option("--dry-run", is_flag=True, help="List what would be deleted.")
@format_option
def gc_command(older_than: str, dry_run: bool, output_format: str) -> None:
    """Delete staged files that no table snapshot references.

    Lists each file (one line each, whole paths); the summary goes to stderr.
    """
    settings = load_settings()
    result = gc(parse_duration(older_than), settings=settings, dry_run=dry_run)
    action = "would delete" if dry_run else "deleted"
    rows = [{"path": path, "action": action} for path in result.deleted]
    emit(rows, ["path", "action"], output_format, keys=["path"], empty="no files to delete")
    click.echo(
        f"{staging_root(settings)}: {action} {len(result.deleted)} files; kept "
        f"{result.referenced} committed and {result.recent} newer than {older_than}",
        err=True,
    )
