"""`mlp cache`: inspect and manage the online cache of the active profile."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from mlplatform.cache._backend import open_backend
from mlplatform.cache._cache import Cache, list_namespaces
from mlplatform.cache._codec import kind_of
from mlplatform.config import load_settings


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return f"bytes ({len(value)}): {value[:200]!r}{'...' if len(value) > 200 else ''}"
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return f"numpy array dtype={value.dtype} shape={value.shape}\n{value}"
    if hasattr(value, "schema") and hasattr(value, "num_rows"):
        return f"Arrow table, {value.num_rows} rows\n{value.slice(0, 20)}"
    return json.dumps(value, indent=2, ensure_ascii=False)


@click.group(name="cache")
def cache() -> None:
    """Inspect and manage the online cache (backend from the active profile)."""


@cache.command("ls")
@click.argument("namespace", required=False)
@click.option("--prefix", default="", help="Only keys starting with this.")
@click.option("--limit", default=100, show_default=True, help="At most this many keys.")
def ls(namespace: str | None, prefix: str, limit: int) -> None:
    """List namespaces, or the keys of NAMESPACE's current generation."""
    if namespace is None:
        settings = load_settings()
        backend = open_backend(settings.cache.backend, settings)  # one connection for all
        try:
            names = list_namespaces(backend=backend)
            if not names:
                click.echo("no cache namespaces yet")
            for name in names:
                current = Cache(name, backend=backend).current_generation()
                click.echo(f"{name}\t{current or '(nothing published)'}")
        finally:
            backend.close()
        return
    with Cache(namespace) as opened:
        current = opened.current_generation()
        if current is None:
            raise click.ClickException(
                f"namespace {namespace!r} has no published generation; `mlp cache ls` lists "
                "the namespaces that have one"
            )
        entries = opened.backend.scan(namespace, prefix, max(1, min(limit, 1000)))
        for shown, (key, blob) in enumerate(entries):
            if shown == limit:
                click.echo(f"... more keys; raise --limit (now {limit}) to see them")
                break
            click.echo(f"{key}\t{kind_of(blob, key)}\t{len(blob)} bytes")


@cache.command("get")
@click.argument("namespace")
@click.argument("key")
def get(namespace: str, key: str) -> None:
    """Print the value of KEY in NAMESPACE's current generation."""
    with Cache(namespace) as opened:
        missing = object()
        value = opened.get(key, missing)
        if value is missing:
            raise click.ClickException(
                f"no key {key!r} in the current generation "
                f"({opened.current_generation() or 'none published'}) of namespace {namespace!r}"
            )
        click.echo(_render(value))


@cache.command("generations")
@click.argument("namespace")
def generations(namespace: str) -> None:
    """List NAMESPACE's open, current and previous generations, newest first."""
    with Cache(namespace) as opened:
        infos = opened.generations()
        if not infos:
            raise click.ClickException(f"namespace {namespace!r} has no generations")
        table = RichTable("generation", "status", "created", "published", "writer run", "keys")
        for info in infos:
            table.add_row(
                info.id,
                info.status,
                _when(info.created),
                _when(info.published),
                info.writer_run_id or "-",
                str(info.key_count),
            )
        Console(width=160).print(table)


@cache.command("rollback")
@click.argument("namespace")
@click.option("--to", "to", default=None, help="A previous generation (default: the latest).")
def rollback(namespace: str, to: str | None) -> None:
    """Make NAMESPACE's previous generation current again; newer ones are deleted."""
    with Cache(namespace) as opened:
        replaced = opened.current_generation()
        info = opened.rollback(to)
        click.echo(
            f"rolled back {namespace}: current generation is now {info.id} "
            f"({info.key_count} keys, published {_when(info.published)}); {replaced} is deleted"
        )
