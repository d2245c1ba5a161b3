"""Run `mlp serve` for real: the front as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mlplatform.testing import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "hosting_example"
MLP = "from mlplatform.cli import main; main()"


@dataclass
class Served:
    """A running `mlp serve`."""

    url: str
    process: subprocess.Popen
    log: Path

    def client(self, **options) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **options)

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start_serving(service: Path, log: Path, *options: str, env: dict | None = None) -> Served:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", MLP, "serve", str(service), "--port", str(port), *options],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
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


@pytest.fixture
def serve(mlp_home, tmp_path) -> Iterator[Callable[..., Served]]:
    """Start `mlp serve SERVICE [options]`; every one is stopped at the end of the test."""
    started: list[Served] = []

    def start(service: Path, *options: str, env: dict | None = None) -> Served:
        served = start_serving(service, tmp_path / f"serve-{len(started)}.log", *options, env=env)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(timeout=30)


@pytest.fixture
def example() -> Path:
    """The folder of the hosting example (its flow and services)."""
    return EXAMPLE


@pytest.fixture
def iris_run(mlp_home):
    """A successful run of the example's training flow."""
    from metaflow import Runner

    with Runner(str(EXAMPLE / "train_flow.py"), cwd=str(EXAMPLE)).run() as running:
        assert running.run.successful, running.stderr
        return running.run
