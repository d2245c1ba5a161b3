"""Shared fixtures of the perf_viz tests: one published profile and one service per session.

The profile's generation is made by `perf_viz.run_locally` (the flow's steps in one process,
in a subprocess here so that this test process's environment stays untouched); the flow
itself runs through `metaflow.Runner` in ``test_flow.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlplatform.testing import Served, start_serving

PIPELINE = Path(__file__).resolve().parents[1]
SERVICE = PIPELINE / "service.py"
APP = PIPELINE / "app.py"
FLOW = PIPELINE / "flow.py"
AS_OF = dt.date(2026, 3, 31)
SAMPLE = {"n_titles": 12, "n_days": 35, "sessions": 3.0, "seed": 3}


def profile_env(home: Path) -> dict[str, str]:
    """Variables that put a process on a fresh local profile whose state lives in ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "mlp.toml").write_text('profile = "local"\n')
    return {
        "MLP_HOME": str(home / "state"),
        "MLP_CONFIG": str(home / "mlp.toml"),
        "METAFLOW_USER": "tester",
    }


def clean_environ(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without its own ``MLP_*`` settings, plus ``env``."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MLP_")} | env


def serve(env: dict[str, str], log: Path) -> Served:
    """``mlp serve service.py`` with one warm worker on the profile of ``env``."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("MLP_")]:
            patch.delenv(name)
        return start_serving(SERVICE, log, "--min-workers", "1", env=env)


@pytest.fixture(scope="session")
def published_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A profile holding the seeded sample and one published generation (as of `AS_OF`)."""
    env = profile_env(tmp_path_factory.mktemp("perf_viz_published"))
    code = (
        "import datetime as dt, perf_viz as pv; "
        f"pv.run_locally(pv.load_config(), dt.date.fromisoformat({AS_OF.isoformat()!r}), "
        f"**{SAMPLE!r})"
    )
    subprocess.run([sys.executable, "-c", code], env=clean_environ(env), check=True, timeout=300)
    return env


@pytest.fixture(scope="session")
def published_service(
    published_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The real service (``mlp serve``) over the published profile, for this session."""
    served = serve(published_env, tmp_path_factory.mktemp("perf_viz_serve") / "serve.log")
    yield served
    served.stop()


@pytest.fixture(scope="session")
def empty_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The real service over a profile whose cache namespace holds nothing."""
    home = tmp_path_factory.mktemp("perf_viz_empty")
    served = serve(profile_env(home), home / "serve.log")
    yield served
    served.stop()


@pytest.fixture(scope="session")
def meta(published_service: Served) -> dict:
    """The published generation's ``/meta``."""
    with published_service.client() as client:
        return client.get("/meta").raise_for_status().json()
