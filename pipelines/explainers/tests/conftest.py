"""Shared fixtures of the explainers tests.

Built environments are content-addressed (one folder per lock hash), so every test of the
session shares one environments folder: a test still gets a fresh profile (registry,
catalog, Metaflow state) from `mlp_home`, but a lock another test built is not built again.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import explainers as ex
import pytest

from mlplatform.environments import EnvironmentSpec, build, compose, resolve

PIPELINE = Path(__file__).resolve().parents[1]
MODELS_CONFIG = ex.load_models_config(PIPELINE / "models.json")
EXPLAINER_CONFIG = ex.load_explainer_config(PIPELINE / "explainer.json")


@pytest.fixture(scope="session")
def shared_envs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environments folder for the whole session (environments are immutable by hash)."""
    return tmp_path_factory.mktemp("envs")


@pytest.fixture
def env_home(mlp_home: Path, shared_envs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`mlp_home`, with built environments kept in the session's shared folder."""
    monkeypatch.setenv("MLP_ENVIRONMENTS__ENVS_DIR", str(shared_envs_dir))
    return mlp_home


def _explainer_python(model: str, shared_envs_dir: Path, home: Path) -> str:
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("MLP_")]:
            patch.delenv(name)
        patch.setenv("MLP_HOME", str(home))
        patch.setenv("MLP_ENVIRONMENTS__ENVS_DIR", str(shared_envs_dir))
        requirements = MODELS_CONFIG.models[model].environment.requirements
        lock = compose(resolve(EnvironmentSpec(tuple(requirements))), EXPLAINER_CONFIG.requirements)
        return str(build(lock).python)


@pytest.fixture(scope="session")
def gradient_boosting_python(shared_envs_dir: Path, tmp_path_factory) -> str:
    """The interpreter of the gradient-boosting model's environment + the explainer's SHAP."""
    return _explainer_python("gradient_boosting", shared_envs_dir, tmp_path_factory.mktemp("h"))


@pytest.fixture(scope="session")
def ridge_python(shared_envs_dir: Path, tmp_path_factory) -> str:
    """The interpreter of the ridge model's environment + the explainer's SHAP."""
    return _explainer_python("ridge", shared_envs_dir, tmp_path_factory.mktemp("h"))


def run_python(python: str, code: str) -> dict:
    """Run ``code`` with ``python``; it prints one JSON object as its last line."""
    result = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
