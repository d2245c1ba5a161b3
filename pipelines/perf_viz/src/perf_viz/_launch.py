"""``mlp app perf_viz``: the service and the Streamlit app as two processes, stopped together.

The service (``mlp serve service.py``, one warm worker) answers from the current cache
generation; the app (``streamlit run app.py``) talks to it over HTTP. Both run in their own
sessions, so Ctrl-C reaches this process only, which then stops the app and drains the
service. If either exits on its own, the other is stopped too; if this process is killed,
the kernel stops both (``PR_SET_PDEATHSIG`` on Linux).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from perf_viz._errors import PerfVizError

__all__ = ["APP_FILE", "SERVICE_FILE", "LaunchedApp", "run_app", "start_app"]

logger = logging.getLogger(__name__)

PIPELINE = Path(__file__).resolve().parents[2]
SERVICE_FILE = PIPELINE / "service.py"
APP_FILE = PIPELINE / "app.py"
_MLP = "from mlplatform.cli import main; main()"
_STOP_TIMEOUT_S = 30.0


def _die_with_parent() -> None:
    """In the child before it runs: SIGTERM when the launcher dies, however it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class LaunchedApp:
    """The running pair.

    Attributes:
        app_url: Where the Streamlit app answers.
        service_url: Where the service answers.
        service: The ``mlp serve`` process.
        app: The ``streamlit run`` process.
        log: The file both write to.
    """

    app_url: str
    service_url: str
    service: subprocess.Popen
    app: subprocess.Popen
    log: Path

    def exited(self) -> str | None:
        """Which process has exited (``service`` or ``app``), if one has."""
        for name, process in (("service", self.service), ("app", self.app)):
            if process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        """Stop the app, then drain the service; kill what does not stop in 30 s."""
        for process in (self.app, self.service):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        for process in (self.app, self.service):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_answers(
    url: str, process: subprocess.Popen, what: str, log: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise PerfVizError(
                f"the {what} exited with code {process.returncode} before answering at {url}; "
                f"see {log}"
            )
        if time.monotonic() > deadline:
            raise PerfVizError(
                f"the {what} did not answer at {url} within {timeout_s:g} s; see {log}"
            )
        time.sleep(0.1)


def start_app(
    *,
    log: Path,
    host: str = "127.0.0.1",
    port: int = 8501,
    service_port: int = 0,
    timeout_s: float = 90.0,
) -> LaunchedApp:
    """Start the service and the app; return once both answer.

    Args:
        log: File the two processes write to (appended).
        host: Address both listen on.
        port: The app's port (0: any free one).
        service_port: The service's port (0: any free one).
        timeout_s: How long each may take to answer.

    Raises:
        PerfVizError: One of them exited or did not answer in time (both are stopped).
    """
    port = port or _free_port(host)
    service_port = service_port or _free_port(host)
    service_url = f"http://{host}:{service_port}"
    app_url = f"http://{host}:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    output: IO[str] = log.open("a")
    service = subprocess.Popen(
        [sys.executable, "-c", _MLP, "serve", str(SERVICE_FILE), "--host", host,
         "--port", str(service_port), "--min-workers", "1"],
        stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=_die_with_parent,
    )  # fmt: skip
    app = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP_FILE), "--server.headless", "true",
         "--server.port", str(port), "--server.address", host,
         "--browser.gatherUsageStats", "false"],
        stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=_die_with_parent, env={**os.environ, "PERF_VIZ_SERVICE_URL": service_url},
    )  # fmt: skip
    output.close()
    launched = LaunchedApp(app_url, service_url, service, app, log)
    try:
        _wait_until_answers(f"{service_url}/readyz", service, "service", log, timeout_s)
        _wait_until_answers(f"{app_url}/_stcore/health", app, "app", log, timeout_s)
    except BaseException:
        launched.stop()
        raise
    return launched


def _published(service_url: str) -> str:
    try:
        response = httpx.get(f"{service_url}/meta", timeout=10)
    except httpx.TransportError as error:
        return f"not answering ({type(error).__name__})"
    if response.status_code == 503:
        return "nothing published yet: run uv run pipelines/perf_viz/flow.py run"
    if response.status_code != 200:
        return f"/meta answered {response.status_code}"
    meta = response.json()
    return f"generation {meta['generation']}, viewing up to {meta['date_max']}"


def run_app(announce: Callable[[str], None], **options: object) -> None:
    """Start both (`start_app` options), announce the URL, and run until Ctrl-C or SIGTERM.

    Raises:
        PerfVizError: One of the two could not start, or exited on its own.
    """
    stopping: list[int] = []

    def stop_on(signum: int, _frame: object) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop_on) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        launched = start_app(**options)  # type: ignore[arg-type]
        try:
            announce(f"perf_viz app: {launched.app_url}")
            announce(f"  service: {launched.service_url} ({_published(launched.service_url)})")
            announce(f"  logs: {launched.log}")
            announce("Ctrl-C stops both.")
            while not stopping:
                exited = launched.exited()
                if exited:
                    raise PerfVizError(f"the {exited} exited on its own; see {launched.log}")
                time.sleep(0.2)
        finally:
            launched.stop()
        announce("stopped the app and the service")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
