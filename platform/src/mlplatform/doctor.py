"""`mlp doctor`: the resolved settings, and whether each backend of the profile is usable.

The checks of what every layer shares (the state folder, Metaflow's wiring, object storage,
the metadata service) live here; each layer checks its own backends (its ``check`` in
`mlplatform._layers.LAYERS`). This module knows no layer by name.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from mlplatform._checks import CheckResult, Status, http_probe, tcp_probe, writable_folder_probe
from mlplatform._layers import LAYERS
from mlplatform._loader import load_object
from mlplatform._output import emit, wide_console
from mlplatform.config import Settings, metaflow_config

__all__ = ["print_report", "run_checks"]

_STATUS_STYLE = {"ok": "green", "missing": "yellow", "unreachable": "red"}


def _metaflow_wiring(settings: Settings) -> tuple[Status, str]:
    """The Metaflow extension applied this profile's values when Metaflow was imported."""
    from metaflow import metaflow_config as mf

    expected = metaflow_config(settings)
    wrong = {
        name: getattr(mf, name, None)
        for name, value in expected.items()
        if str(getattr(mf, name, None)) != value
    }
    if wrong:
        return "missing", (
            f"Metaflow does not see this profile (differs: {wrong}); is mlplatform installed "
            "in this environment and no METAFLOW_* variable overriding it?"
        )
    root = expected.get("DATASTORE_SYSROOT_LOCAL") or expected["DATASTORE_SYSROOT_S3"]
    return "ok", f"datastore {expected['DEFAULT_DATASTORE']} at {root}, user {expected['USER']}"


def _shared_checks(settings: Settings) -> list[tuple[str, str, Callable[[], tuple[Status, str]]]]:
    checks: list[tuple[str, str, Callable[[], tuple[Status, str]]]] = [
        ("state folder", "local", lambda: writable_folder_probe(settings.home)),
        (
            "metaflow",
            "local" if settings.profile == "local" else "service",
            lambda: _metaflow_wiring(settings),
        ),
    ]
    if settings.profile == "production":
        storage = settings.storage
        endpoint = storage.s3_endpoint_url or f"https://s3.{storage.s3_region}.amazonaws.com"
        metadata_url = settings.metaflow.metadata_service_url
        checks += [
            ("object storage", "s3", lambda: tcp_probe(endpoint, 443)),
            ("metadata service", "service", lambda: http_probe(f"{metadata_url}/ping")),
        ]
    return checks


def run_checks(settings: Settings) -> list[CheckResult]:
    """Every check of the settings' profile, in a stable order: shared ones, then by layer."""
    results = [
        CheckResult(name, backend, *probe()) for name, backend, probe in _shared_checks(settings)
    ]
    for layer in LAYERS:
        if layer.check:
            results.extend(load_object(layer.check)(settings))
    return results


def print_report(settings: Settings, results: list[CheckResult]) -> bool:
    """Print the settings and the check results; True when every required backend is usable."""
    console = wide_console()
    console.print(f"[bold]profile[/bold]      {settings.profile}")
    console.print(f"[bold]workspace[/bold]    {settings.root}")
    console.print(f"[bold]state folder[/bold] {settings.home}")
    console.print(f"[bold]config file[/bold]  {settings.config_file or '(none: defaults)'}")
    console.print(f"[bold]metaflow user[/bold] {settings.metaflow_user}")

    values = [
        {
            "setting": f"{name}.{key}",
            "value": _shown(key, value),
            "from": settings.source_of(name, key),
        }
        for name, section in settings.sections.items()
        for key, value in section.model_dump().items()
    ]
    emit(values, ["setting", "value", "from"], title="settings", keys=["setting"])
    checks = [
        {
            "check": result.name,
            "backend": result.backend,
            "status": result.status + ("" if result.required else " (optional)"),
            "detail": result.detail,
        }
        for result in results
    ]
    emit(
        checks,
        ["check", "backend", "status", "detail"],
        title="backends",
        keys=["check", "backend", "status"],
        styles={"status": lambda status: _STATUS_STYLE[status.split()[0]]},
    )
    unusable = [result.name for result in results if not result.usable]
    if unusable:
        console.print(f"[red]not usable: {', '.join(unusable)}[/red]")
        return False
    console.print("[green]all required backends are usable[/green]")
    return True


def _shown(key: str, value: object) -> str:
    """A setting's value for the report: secrets and passwords in URLs are not printed."""
    if value is None:
        return "-"
    if any(word in key for word in ("token", "password", "secret")):
        return "***"
    text = str(value)
    parts = urlsplit(text)
    if parts.password:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(parts.password, "***")))
    return text
