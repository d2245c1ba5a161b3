"""Starting the feature service in the background (``mlp features get --serve``, notebooks).

It runs ``mlp serve pipelines/media_features/service.py --port N`` as a process of its own
(port 0 picks a free one: the address is read from the line the service announces), logs to
``<state folder>/media_features/serve-<time>.log``, and is ready once ``/healthz`` answers.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from media_features._errors import FeatureServiceError

__all__ = ["SERVICE_FILE", "ServiceProcess", "start_service"]

SERVICE_FILE = Path(__file__).resolve().parents[2] / "service.py"
_ANNOUNCED = re.compile(r"serving \S+ on (http://\S+)")
_MLP = "from mlplatform.cli import main; main()"


@dataclass
class ServiceProcess:
    """A feature service started by `start_service`."""

    url: str
    process: subprocess.Popen
    log: Path

    def stop(self, timeout: float = 30.0) -> None:
        """Stop it (SIGTERM drains the service) and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_service(
    port: int = 0,
    *,
    service_file: Path = SERVICE_FILE,
    detach: bool = False,
    settings: Any = None,
    timeout_s: float = 60.0,
) -> ServiceProcess:
    """Start the feature service and wait until it answers.

    Args:
        port: The port (0: a free one).
        service_file: The service file (default the pipeline's ``service.py``).
        detach: Keep it running after this process exits (its own session).
        settings: Settings (the state folder for the log); default `load_settings()`.
        timeout_s: How long to wait for it to answer.

    Raises:
        FeatureServiceError: It exited or did not answer in time (the log is named).
    """
    if settings is None:
        from mlplatform.config import load_settings

        settings = load_settings()
    folder = settings.home / "media_features"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"serve-{time.strftime('%Y%m%dT%H%M%S')}-{port}.log"
    command = [sys.executable, "-c", _MLP, "serve", str(service_file), "--port", str(port)]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=detach
        )
    deadline = time.monotonic() + timeout_s
    url = None
    while time.monotonic() < deadline and process.poll() is None:
        if url is None:
            match = _ANNOUNCED.search(log.read_text(errors="replace"))
            url = match.group(1) if match else None
        if url is not None:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return ServiceProcess(url, process, log)
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    if process.poll() is None:
        process.kill()
    raise FeatureServiceError(
        f"the feature service did not start within {timeout_s:g} s; see its log {log}"
    )
