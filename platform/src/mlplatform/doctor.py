"""`mlp doctor`: check that each backend of the active profile is usable.

Each check returns a `CheckResult` with a status of ``ok``, ``missing`` (not there, not
created, not configured) or ``unreachable`` (configured but does not answer), and the reason.
Checks are cheap (timeouts of a couple of seconds) and have no side effects beyond creating
the local state folders the local profile owns.
"""

from __future__ import annotations

import socket
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from mlplatform.config import Settings, metaflow_config

__all__ = ["CheckResult", "run_checks"]

Status = Literal["ok", "missing", "unreachable"]
NETWORK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one backend check."""

    name: str
    backend: str
    status: Status
    detail: str
    required: bool = True

    @property
    def usable(self) -> bool:
        """True when the backend works, or when it is optional."""
        return self.status == "ok" or not self.required


def _writable_folder(path: Path) -> tuple[Status, str]:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".mlp-doctor-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        return "missing", f"cannot create or write {path}: {error.strerror or error}"
    return "ok", str(path)


def _sqlite_file(path: Path) -> tuple[Status, str]:
    status, detail = _writable_folder(path.parent)
    if status != "ok":
        return status, detail
    try:
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("pragma schema_version").fetchone()
    except sqlite3.Error as error:
        return "missing", f"cannot open SQLite database {path}: {error}"
    return "ok", str(path)


def _tcp(url: str, default_port: int) -> tuple[Status, str]:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or default_port
    if not host:
        return "missing", f"{url!r} names no host"
    try:
        with socket.create_connection((host, port), timeout=NETWORK_TIMEOUT_S):
            pass
    except OSError as error:
        return "unreachable", f"{host}:{port}: {error}"
    return "ok", f"{host}:{port} accepts connections"


def _http(url: str) -> tuple[Status, str]:
    try:
        with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT_S) as response:
            return "ok", f"{url} answered {response.status}"
    except urllib.error.HTTPError as error:  # it answered: the service is there
        return "ok", f"{url} answered {error.code}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return "unreachable", f"{url}: {reason}"


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


def _finish_events() -> tuple[Status, str]:
    """The platform's step decorator that publishes finish events is attached to every flow."""
    from metaflow import metaflow_config as mf

    if "mlp_events" in mf.DEFAULT_DECOSPECS.split():
        return "ok", "every successful run publishes its finish event"
    return "missing", (
        f"METAFLOW_DEFAULT_DECOSPECS={mf.DEFAULT_DECOSPECS!r} replaces the platform's "
        "'mlp_events' decorator: add mlp_events to it, or runs publish no finish event"
    )


def _local_checks(settings: Settings) -> list[tuple[str, str, Callable[[], tuple[Status, str]]]]:
    home = settings.home
    return [
        ("state folder", "local", lambda: _writable_folder(home)),
        ("metaflow", "local", lambda: _metaflow_wiring(settings)),
        ("finish events", "mlp_events", _finish_events),
        ("data catalog", "sql", lambda: _sqlite_file(home / "catalog.db")),
        ("data warehouse", "file", lambda: _writable_folder(home / "warehouse")),
        (
            ("cache", "redis", lambda: _tcp(str(settings.cache.redis_url), 6379))
            if settings.cache.backend == "redis"
            else ("cache", "sqlite", lambda: _sqlite_file(home / "cache.db"))
        ),
        ("event log", "sqlite", lambda: _sqlite_file(home / "events.db")),
        ("environments", "uv", lambda: _writable_folder(home / "environments")),
    ]


def _production_checks(
    settings: Settings,
) -> list[tuple[str, str, Callable[[], tuple[Status, str]]]]:
    region = settings.storage.s3_region
    s3_endpoint = settings.storage.s3_endpoint_url or f"https://s3.{region}.amazonaws.com"
    metadata_url = settings.metaflow.metadata_service_url
    checks = [
        ("metaflow", "service", lambda: _metaflow_wiring(settings)),
        ("finish events", "mlp_events", _finish_events),
        ("object storage", "s3", lambda: _tcp(s3_endpoint, 443)),
        ("metadata service", "service", lambda: _http(f"{metadata_url}/ping")),
        ("data catalog", settings.data.catalog, lambda: _http(f"{settings.catalog_uri}/v1/config")),
        ("cache", "redis", lambda: _tcp(str(settings.cache.redis_url), 6379)),
    ]
    if settings.argo.events_webhook_url:
        webhook = settings.argo.events_webhook_url
        checks.append(("argo events", "webhook", lambda: _tcp(webhook, 443)))
    return checks


def run_checks(settings: Settings) -> list[CheckResult]:
    """Run every check of the settings' profile and return the results in a stable order."""
    if settings.profile == "local":
        checks = _local_checks(settings)
    else:
        checks = _production_checks(settings)
    results = [CheckResult(name, backend, *check()) for name, backend, check in checks]
    flows_dir = settings.flows_dir
    results.append(
        CheckResult(
            "flows folder",
            "local",
            "ok" if flows_dir.is_dir() else "missing",
            str(flows_dir) if flows_dir.is_dir() else f"{flows_dir} does not exist yet",
            required=False,
        )
    )
    return results
