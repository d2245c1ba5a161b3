"""``mlp env``: resolve, create, list, show and collect named environments."""

from __future__ import annotations

import time
from pathlib import Path

import click

from mlplatform._output import emit, format_option
from mlplatform.config import load_settings


def _requirements(arguments: tuple[str, ...], requirement_files: tuple[Path, ...]) -> list[str]:
    requirements = list(arguments)
    for file in requirement_files:
        for line in file.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                requirements.append(line)
    return requirements


def _size(num_bytes: int) -> str:
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


_REQUIREMENT_FILE = click.option(
    "-r",
    "--requirements",
    "requirement_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A requirements file (one requirement per line); may be repeated.",
)
_PYTHON = click.option("--python", default=None, help="major.minor (default: this Python).")
_BASE = click.option("--base", default=None, help="A registered environment to extend.")


@click.group(name="env")
def env() -> None:
    """Named, portable environments built with uv (registry from the active profile)."""


@env.command("resolve")
@click.argument("requirement", nargs=-1)
@_REQUIREMENT_FILE
@_PYTHON
@_BASE
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the lock here (default: standard output).",
)
def resolve_command(
    requirement: tuple[str, ...],
    requirement_files: tuple[Path, ...],
    python: str | None,
    base: str | None,
    output: Path | None,
) -> None:
    """Resolve REQUIREMENT... (or -r FILE) into a lock: exact pins with hashes."""
    from mlplatform.environments._api import resolve
    from mlplatform.environments._spec import EnvironmentSpec, current_python

    requirements = _requirements(requirement, requirement_files)
    if not requirements and not base:
        raise click.UsageError("give requirements (e.g. 'scikit-learn==1.5.2'), -r FILE or --base")
    spec = EnvironmentSpec(tuple(requirements), python or current_python(), base)
    lock = resolve(spec)
    if output is None:
        click.echo(lock.to_json())
    else:
        output.write_text(lock.to_json() + "\n")
    click.echo(f"lock {lock.hash}: {len(lock.packages)} packages, Python {lock.python}", err=True)


@env.command("create")
@click.argument("name")
@click.argument("requirement", nargs=-1)
@_REQUIREMENT_FILE
@_PYTHON
@_BASE
@click.option("--no-build", is_flag=True, help="Register the lock without building it here.")
def create(
    name: str,
    requirement: tuple[str, ...],
    requirement_files: tuple[Path, ...],
    python: str | None,
    base: str | None,
    no_build: bool,
) -> None:
    """Resolve REQUIREMENT..., register the lock as NAME (team/project/name:tag), build it."""
    from mlplatform.environments._api import build, register, resolve
    from mlplatform.environments._names import parse_name
    from mlplatform.environments._spec import EnvironmentSpec, current_python

    parsed = parse_name(name)  # a malformed name fails before any work
    requirements = _requirements(requirement, requirement_files)
    if not requirements and not base:
        raise click.UsageError("give requirements (e.g. 'scikit-learn==1.5.2'), -r FILE or --base")
    settings = load_settings()
    started = time.perf_counter()
    lock = resolve(
        EnvironmentSpec(tuple(requirements), python or current_python(), base), settings=settings
    )
    entry = register(str(parsed), lock, settings=settings)
    where = "not built (--no-build)"
    if not no_build:
        click.echo(f"building {lock.hash} ({len(lock.packages)} packages)...", err=True)
        where = str(build(lock, settings=settings).path)
    click.echo(
        f"{entry} -> lock {lock.hash}: {len(lock.packages)} packages, Python {lock.python}, "
        f"{where} ({time.perf_counter() - started:.1f} s)"
    )


@env.command("ls")
@format_option
def ls(output_format: str) -> None:
    """List registered environments (name:tag, lock, packages, built here?)."""
    from mlplatform.environments._api import list_environments
    from mlplatform.environments._backend import open_registry
    from mlplatform.environments._store import built_environment

    settings = load_settings()
    registry = open_registry(settings)
    rows = []
    try:
        for entry in list_environments(settings=settings):
            lock = registry.get_lock(entry.lock_hash)
            built = lock is not None and built_environment(lock, settings.environments)
            rows.append(
                {
                    "environment": str(entry),
                    "lock": entry.lock_hash,
                    "packages": len(lock.packages) if lock else None,
                    "python": lock.python if lock else None,
                    "built here": "yes" if built else "no",
                    "registered": entry.registered,
                }
            )
    finally:
        registry.close()
    emit(
        rows,
        ["environment", "lock", "packages", "python", "built here", "registered"],
        output_format,
        keys=["environment", "lock"],
        empty="no environment is registered yet (mlp env create NAME REQUIREMENT...)",
    )


@env.command("show")
@click.argument("name")
@format_option
def show(name: str, output_format: str) -> None:
    """Show NAME's pins, lock hash, size and where it is used."""
    from mlplatform.environments._api import list_environments, lookup
    from mlplatform.environments._store import built_environment

    settings = load_settings()
    lock = lookup(name, settings=settings)
    built = built_environment(lock, settings.environments)
    users = [str(e) for e in list_environments(settings=settings) if e.lock_hash == lock.hash]
    if output_format == "table":
        click.echo(f"environment  {name}")
        click.echo(
            f"lock         {lock.hash} (Python {lock.python}, {len(lock.packages)} packages)"
        )
        click.echo(f"asked for    {', '.join(lock.requirements) or '-'}")
        click.echo(
            f"built here   {built.path} ({_size(built.size_bytes())})"
            if built
            else "built here   no"
        )
        click.echo(f"names        {', '.join(users)}")
    rows = [
        {"package": p.name, "version": p.version, "hashes": len(p.hashes)} for p in lock.packages
    ]
    emit(rows, ["package", "version", "hashes"], output_format, keys=["package", "version"])


@env.command("gc")
@click.option("--dry-run", is_flag=True, help="List what would be removed.")
def gc(dry_run: bool) -> None:
    """Remove built environments no name references (never one a running task uses)."""
    from mlplatform.environments._api import list_environments
    from mlplatform.environments._store import collect_environments

    settings = load_settings()
    referenced = {entry.lock_hash for entry in list_environments(settings=settings)}
    result = collect_environments(settings.environments, referenced, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for path in result.removed:
        click.echo(f"{verb} {path}")
    for path in result.kept_in_use:
        click.echo(f"kept {path}: in use by a running process")
    click.echo(
        f"{verb} {len(result.removed)} environment(s); kept {result.kept_referenced} "
        f"referenced and {len(result.kept_in_use)} in use"
    )
