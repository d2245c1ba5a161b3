"""Pytest fixtures: an isolated local profile per test, a stand-in S3 on loopback, and
`mlp serve` for real."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlplatform.config import Settings, load_settings
from mlplatform.testing._serving import Served, start_serving


@pytest.fixture
def mlp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run the test on a fresh local profile whose state lives in ``tmp_path / "mlp"``.

    Clears every ``MLP_*`` variable and Metaflow's user and datastore overrides, so nothing
    from the developer's shell or ``mlp.toml`` leaks in, and sets ``METAFLOW_USER`` so that
    Metaflow runs where no ``USER`` is set (CI).
    """
    for name in list(os.environ):
        if name.startswith("MLP_"):
            monkeypatch.delenv(name)
    home = tmp_path / "mlp"
    monkeypatch.setenv("MLP_HOME", str(home))
    monkeypatch.setenv("MLP_CONFIG", str(tmp_path / "mlp.toml"))
    (tmp_path / "mlp.toml").write_text('profile = "local"\n')
    monkeypatch.setenv("METAFLOW_USER", "tester")
    yield home


@pytest.fixture
def mlp_settings(mlp_home: Path) -> Settings:
    """The resolved settings of the isolated local profile of `mlp_home`."""
    return load_settings()


@pytest.fixture
def mlp_serve(mlp_home: Path, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start ``mlp serve SERVICE [options]`` for real (a `Served`); each one started is
    stopped at the end of the test. Options as on the command line, ``env=`` for settings."""
    started: list[Served] = []

    def start(service: Path, *options: str, env: dict[str, str] | None = None) -> Served:
        log = tmp_path / f"serve-{len(started)}.log"
        served = start_serving(Path(service), log, *options, env=env)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(timeout=30)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """URL of moto's S3 server on a free loopback port, for this test session.

    moto's server mode is a stand-in for S3 (a real HTTP endpoint speaking the S3 API);
    there is no S3 here.
    """
    from moto.server import ThreadedMotoServer

    from mlplatform.testing._net import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(mlp_home: Path, s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the stand-in S3, set as ``storage.s3_root``; returns that root.

    Sets test credentials and ``storage.s3_endpoint_url`` in the environment, so that
    subprocesses (Metaflow tasks, CLIs) reach the same stand-in.
    """
    import boto3

    bucket = f"mlp-{secrets.token_hex(4)}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLP_STORAGE__S3_ENDPOINT_URL": s3_server,
        "MLP_STORAGE__S3_ROOT": f"s3://{bucket}/mlp",
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/mlp"
