"""The `mlp` command.

Each layer contributes its commands as a click command or group in its own module; they are
listed in `SUBCOMMANDS` and imported only when used, so ``mlp --help`` stays fast and a
layer's dependencies load only for its commands.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click
from rich.console import Console
from rich.table import Table as RichTable

from mlplatform._errors import MLPlatformError
from mlplatform.config import load_settings

__all__ = ["SUBCOMMANDS", "main"]

# Command name -> "module:attribute" of a click command; imported lazily.
SUBCOMMANDS: dict[str, str] = {
    "cache": "mlplatform.cache._cli:cache",
    "data": "mlplatform.data._cli:data",
    "deploy": "mlplatform.orchestration._cli:deploy",
    "events": "mlplatform.orchestration._cli:events",
    "orchestrate": "mlplatform.orchestration._cli:orchestrate",
    "runs": "mlplatform.orchestration._cli:runs",
}

_STATUS_STYLE = {"ok": "green", "missing": "yellow", "unreachable": "red"}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *SUBCOMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            module_name, _, attribute = SUBCOMMANDS[cmd_name].partition(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def cli(verbose: bool) -> None:
    """mlp: the open ML platform around Metaflow.

    Settings come from MLP_* environment variables, then mlp.toml at the workspace root
    (or MLP_CONFIG), then the defaults of the profile (MLP_PROFILE=local|production).
    """
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
def doctor() -> None:
    """Print the resolved settings and check each backend of the active profile.

    Exits 1 when a required backend is not usable.
    """
    from mlplatform.doctor import run_checks

    settings = load_settings()
    console = Console()
    console.print(f"[bold]profile[/bold]      {settings.profile}")
    console.print(f"[bold]workspace[/bold]    {settings.root}")
    console.print(f"[bold]state folder[/bold] {settings.home}")
    console.print(f"[bold]config file[/bold]  {settings.config_file or '(none: defaults)'}")
    console.print(f"[bold]metaflow user[/bold] {settings.metaflow_user}")
    console.print(f"[bold]catalog[/bold]      {settings.data.catalog} {settings.catalog_uri}")
    console.print(f"[bold]warehouse[/bold]    {settings.warehouse}")
    console.print(f"[bold]cache[/bold]        {settings.cache.backend}")
    console.print(f"[bold]orchestration[/bold] {settings.orchestration.backend}")
    console.print(f"[bold]compute[/bold]      {settings.compute.backend}")

    table = RichTable("check", "backend", "status", "detail", title="backends")
    results = run_checks(settings)
    for result in results:
        style = _STATUS_STYLE[result.status]
        status = f"[{style}]{result.status}[/{style}]" + ("" if result.required else " (optional)")
        table.add_row(result.name, result.backend, status, result.detail)
    console.print(table)
    unusable = [result.name for result in results if not result.usable]
    if unusable:
        console.print(f"[red]not usable: {', '.join(unusable)}[/red]")
        sys.exit(1)
    console.print("[green]all required backends are usable[/green]")


def main() -> None:
    """Entry point of the ``mlp`` console script: platform errors print as one clear line."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except MLPlatformError as error:
        click.secho(f"error: {error}", fg="red", err=True)
        sys.exit(2)
