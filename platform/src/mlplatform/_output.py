"""One way for every listing command to print rows: ``--format table|json|csv``.

- ``table`` (the default): a rich table. On a terminal it fits the window by wrapping the
  wide text columns; key columns (ids, names, paths) are never cut or wrapped. When the
  output is piped or redirected, nothing wraps: each row is one line, whatever its width.
- ``json``: one JSON array of objects (times as ISO 8601 strings), for programs.
- ``csv``: a header line and one line per row, for spreadsheets and ``cut``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["FORMATS", "emit", "format_option", "wide_console"]

FORMATS = ("table", "json", "csv")
_UNBOUNDED_WIDTH = 100_000
F = TypeVar("F", bound=Callable[..., Any])


def format_option(command: F) -> F:
    """The ``--format`` option of a listing command (parameter ``output_format``)."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for people; json or csv for programs (no truncation in any of them).",
    )(command)


def wide_console() -> Console:
    """A console for stdout that wraps to the terminal, or never wraps when piped."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=_UNBOUNDED_WIDTH, soft_wrap=True)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def emit(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    output_format: str = "table",
    *,
    title: str | None = None,
    keys: Sequence[str] = (),
    styles: Mapping[str, Callable[[Any], str]] | None = None,
    empty: str | None = None,
) -> None:
    """Print ``rows`` (dicts) with ``columns`` in the chosen format.

    Args:
        rows: The rows; each maps column name -> value.
        columns: The columns to print, in order.
        output_format: ``table``, ``json`` or ``csv``.
        title: A table's title.
        keys: Columns that are never cut or wrapped in a table (ids, names, paths).
        styles: Column -> function of the value returning a rich style, e.g. a status color.
        empty: For a table, the line printed instead of an empty table.
    """
    if output_format == "json":
        click.echo(
            json.dumps([{c: _plain(row.get(c)) for c in columns} for row in rows], default=str)
        )
        return
    if output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
        return
    if output_format != "table":
        raise click.BadParameter(
            f"{output_format!r} is not one of {FORMATS}", param_hint="--format"
        )
    console = wide_console()
    if not rows and empty is not None:
        console.print(empty, highlight=False)
        return
    table = Table(title=title)
    for column in columns:
        key = column in keys
        table.add_column(
            column, no_wrap=key, overflow="fold", min_width=len(column) if key else None
        )
    styles = styles or {}
    for row in rows:
        cells = []
        for column in columns:
            text = Text(_cell(row.get(column)))
            if column in styles:
                text.stylize(styles[column](row.get(column)))
            cells.append(text)
        table.add_row(*cells)
    console.print(table)
