"""Run `mlp serve` for real in a test: the front as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from mlplatform.testing._net import free_port

__all__ = ["Served", "start_serving"]

_MLP = "from mlplatform.cli import main; main()"


@dataclass
class Served:
    """A running `mlp serve`.

    Attributes:
        url: ``http://127.0.0.1:<port>``.
        process: The front's process.
        log: The file its stdout and stderr go to (request lines, spans, errors).
    """

    url: str
    process: subprocess.Popen
    log: Path

    def client(self, **options) -> httpx.Client:
        """An HTTP client for the service (60 s timeout unless given)."""
        return httpx.Client(base_url=self.url, **{"timeout": 60, **options})

    def lines(self) -> list[str]:
        """What the service has logged so far."""
        return self.log.read_text().splitlines()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Stop it (SIGTERM drains) and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start_serving(
    service: Path,
    log: Path,
    *options: str,
    env: dict[str, str] | None = None,
    timeout_s: float = 60,
) -> Served:
    """Start ``mlp serve SERVICE --port <free> [options]`` and wait until ``/healthz`` answers.

    Raises:
        AssertionError: It exited or did not answer within ``timeout_s`` (with its log).
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _MLP, "serve", str(service), "--port", str(port), *options],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Served(url, process, log)
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"mlp serve did not start:\n{log.read_text()}")
        time.sleep(0.05)
