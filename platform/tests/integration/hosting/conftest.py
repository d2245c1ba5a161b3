"""The hosting tests' fixtures: the example folder, a trained example model, and `serve`
(the platform's `mlp_serve` fixture: `mlp serve` for real on a free loopback port)."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "hosting_example"


@pytest.fixture
def serve(mlp_serve):
    """Start `mlp serve SERVICE [options]`; every one is stopped at the end of the test."""
    return mlp_serve


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
