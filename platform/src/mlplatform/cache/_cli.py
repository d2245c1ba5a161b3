"""`mlp cache`: inspect and manage the online cache of the active profile."""

from __future__ import annotations

import json
from typing import Any

import click

from mlplatform._output import emit, format_option
from mlplatform.cache._backend import open_backend
from mlplatform.cache._cache import Cache, list_namespaces
from mlplatform.cache._codec import kind_of
from mlplatform.cache._errors import CacheError
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
@click.option(
    "--limit", default=100, show_default=True, type=click.IntRange(min=0), help="At most N keys."
)
@format_option
def ls(namespace: str | None, prefix: str, limit: int, output_format: str) -> None:
    """List namespaces (current generation, keys), or the keys of NAMESPACE."""
    if namespace is None:
        settings = load_settings()
        backend = open_backend(settings.cache.backend, settings)  # one connection for all
        try:
            rows = []
            for name in list_namespaces(backend=backend):
                current = backend.current(name)
                keys = backend.count(name, current) if current else 0
                rows.append({"namespace": name, "current generation": current, "keys": keys})
        finally:
            backend.close()
        emit(
            rows,
            ["namespace", "current generation", "keys"],
            output_format,
            keys=["namespace", "current generation"],
            empty="no cache namespaces yet",
        )
        return
    with Cache(namespace) as opened:
        if opened.current_generation() is None:
            raise CacheError(
                f"namespace {namespace!r} has no published generation; `mlp cache ls` lists "
                "the namespaces that have one"
            )
        rows = []
        for key, blob in opened.backend.scan(namespace, prefix, max(1, min(limit, 1000))):
            if len(rows) == limit:
                click.echo(f"... more keys; raise --limit (now {limit}) to see them", err=True)
                break
            rows.append({"key": key, "kind": kind_of(blob, key), "bytes": len(blob)})
    emit(rows, ["key", "kind", "bytes"], output_format, keys=["key"])


@cache.command("get")
@click.argument("namespace")
@click.argument("key")
def get(namespace: str, key: str) -> None:
    """Print the value of KEY in NAMESPACE's current generation."""
    with Cache(namespace) as opened:
        missing = object()
        value = opened.get(key, missing)
        if value is missing:
            raise CacheError(
                f"no key {key!r} in the current generation "
                f"({opened.current_generation() or 'none published'}) of namespace {namespace!r}"
            )
        click.echo(_render(value))


@cache.command("generations")
@click.argument("namespace")
@format_option
def generations(namespace: str, output_format: str) -> None:
    """List NAMESPACE's open, current and previous generations, newest first."""
    with Cache(namespace) as opened:
        infos = opened.generations()
    if not infos:
        raise CacheError(f"namespace {namespace!r} has no generations")
    rows = [
        {
            "generation": info.id,
            "status": info.status,
            "created": info.created,
            "published": info.published,
            "writer run": info.writer_run_id,
            "keys": info.key_count,
        }
        for info in infos
    ]
    columns = ["generation", "status", "created", "published", "writer run", "keys"]
    emit(rows, columns, output_format, keys=["generation", "writer run"])


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
