"""Pytest fixtures: an isolated local profile per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlplatform.config import Settings, load_settings


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
