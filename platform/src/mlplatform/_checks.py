"""What ``mlp doctor`` reports of one backend, and the probes the backends' checks share.

A check returns a `CheckResult` with a status of ``ok``, ``missing`` (not there, not
created, not configured) or ``unreachable`` (configured but does not answer), and the reason.
Probes are cheap (timeouts of a couple of seconds) and have no side effects beyond creating
the local state folders the local profile owns.
"""

from __future__ import annotations

import socket
import sqlite3
import urllib.error
import urllib.request
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

__all__ = [
    "NETWORK_TIMEOUT_S",
    "CheckResult",
    "Status",
    "http_probe",
    "sqlite_probe",
    "tcp_probe",
    "writable_folder_probe",
]

Status = Literal["ok", "missing", "unreachable"]
NETWORK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one backend check.

    Attributes:
        name: What was checked (``cache``, ``data catalog``, ...).
        backend: The backend's short name (``sqlite``, ``redis``, ``rest``, ...).
        status: ``ok``, ``missing`` or ``unreachable``.
        detail: Where it is, or why it is not usable.
        required: False for a check whose failure does not make the profile unusable.
    """

    name: str
    backend: str
    status: Status
    detail: str
    required: bool = True

    @property
    def usable(self) -> bool:
        """True when the backend works, or when it is optional."""
        return self.status == "ok" or not self.required


def writable_folder_probe(path: Path) -> tuple[Status, str]:
    """A folder that exists (created if needed) and takes a file."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".mlp-doctor-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        return "missing", f"cannot create or write {path}: {error.strerror or error}"
    return "ok", str(path)


def sqlite_probe(path: Path) -> tuple[Status, str]:
    """A SQLite database file that opens (created with its folder if needed)."""
    status, detail = writable_folder_probe(path.parent)
    if status != "ok":
        return status, detail
    try:
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("pragma schema_version").fetchone()
    except sqlite3.Error as error:
        return "missing", f"cannot open SQLite database {path}: {error}"
    return "ok", str(path)


def tcp_probe(url: str, default_port: int) -> tuple[Status, str]:
    """A server that accepts TCP connections at the URL's host and port."""
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


def http_probe(url: str) -> tuple[Status, str]:
    """An HTTP server that answers the URL (any status: it is there)."""
    try:
        with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT_S) as response:
            return "ok", f"{url} answered {response.status}"
    except urllib.error.HTTPError as error:
        return "ok", f"{url} answered {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return "unreachable", f"{url}: {reason}"
