"""The `mlp` command.

Each layer contributes its commands as click commands or groups in its own ``_cli`` module,
named in its entry of `mlplatform._layers.LAYERS` and imported only when used, so
``mlp --help`` stays fast and a layer's dependencies load only for its commands.

A pipeline adds commands without the platform importing it: an entry point in the group
``mlplatform.commands`` of its ``pyproject.toml`` (``features = "media_features._cli:features"``)
becomes ``mlp features``; a name that a layer already uses is refused. A pipeline command that
fails to import breaks only itself: ``mlp --help`` lists it as broken and running it exits 2
with the import error.

Exit codes, the same for every command:

- 0: done;
- 1: the command ran and reports a failure it found (``mlp doctor``: a backend is not usable);
- 2: the command could not do what was asked — bad usage, bad settings, or any platform
  error — with one line ``error: ...`` on stderr naming what is wrong and what was expected;
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from mlplatform._errors import MLPlatformError
from mlplatform._layers import LAYERS
from mlplatform._loader import load_object

__all__ = ["COMMAND_ENTRY_POINTS", "SUBCOMMANDS", "USER_ERROR", "cli", "main", "plugin_commands"]

USER_ERROR = 2

# Command name -> "module:attribute" of a click command; imported lazily. `mlp nightly` sits
# above the layers, like doctor: it runs every pipeline through its entry point.
SUBCOMMANDS: dict[str, str] = {
    **{name: spec for layer in LAYERS for name, spec in layer.commands.items()},
    "nightly": "mlplatform.nightly._cli:nightly",
}
COMMAND_ENTRY_POINTS = "mlplatform.commands"


def _broken_command(name: str, spec: str, error: Exception) -> click.Command:
    reason = f"{type(error).__name__}: {error}"

    def fail() -> None:
        raise click.ClickException(
            f"the command {name!r} ({spec}) could not be loaded: {reason}; "
            "expected its package to be installed whole (uv sync --all-packages)"
        )

    return click.Command(name, callback=fail, short_help=f"(broken: {reason})")


def plugin_commands() -> dict[str, str]:
    """Commands that installed packages (pipelines) add through entry points."""
    from importlib.metadata import entry_points

    return {
        point.name: point.value
        for point in entry_points(group=COMMAND_ENTRY_POINTS)
        if point.name not in SUBCOMMANDS and point.name != "doctor"
    }


class _OneLineError(click.ClickException):
    """A platform error as the CLI shows it: ``error: <message>``, exit code 2."""

    exit_code = USER_ERROR

    def show(self, file: Any = None) -> None:
        click.secho(f"error: {self.format_message()}", fg="red", err=True)


class _PlatformGroup(click.Group):
    """The root group: lazily loaded layer commands, and one error policy for all of them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS, *plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            return load_object(SUBCOMMANDS[cmd_name])
        plugins = plugin_commands()
        if cmd_name in plugins:
            try:
                return load_object(plugins[cmd_name])
            except (ImportError, AttributeError) as error:
                return _broken_command(cmd_name, plugins[cmd_name], error)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MLPlatformError as error:
            raise _OneLineError(str(error)) from None
        except click.ClickException as error:
            if type(error) is click.ClickException:  # a plain failure: same code as above
                raise _OneLineError(error.format_message()) from None
            raise


@click.group(cls=_PlatformGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def cli(verbose: bool) -> None:
    """mlp: the open ML platform around Metaflow.

    Settings come from MLP_* environment variables, then mlp.toml at the workspace root
    (or MLP_CONFIG), then the defaults of the profile (MLP_PROFILE=local|production).

    Exit codes: 0 done, 1 a check failed (doctor), 2 an error (one line on stderr),
    130 interrupted.
    """
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
def doctor() -> None:
    """Print the resolved settings and check each backend of the active profile.

    Exits 1 when a required backend is not usable.
    """
    from mlplatform.config import load_settings
    from mlplatform.doctor import print_report, run_checks

    settings = load_settings()
    results = run_checks(settings)
    if not print_report(settings, results):
        sys.exit(1)


def main() -> None:
    """Entry point of the ``mlp`` console script."""
    try:
        cli(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except MLPlatformError as error:  # raised before a command runs (e.g. while loading one)
        _OneLineError(str(error)).show()
        sys.exit(USER_ERROR)
