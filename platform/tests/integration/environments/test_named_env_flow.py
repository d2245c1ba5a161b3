"""Steps in named environments through metaflow.Runner on the local profile."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from metaflow import Runner

from mlplatform.environments import EnvironmentSpec, lookup, register, resolve

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FLOWS = Path(__file__).parent / "flows"


def run(flow: str, **parameters):
    with Runner(str(FLOWS / flow), show_output=False, cwd=str(FLOWS)).run(**parameters) as running:
        return running.run, running.stderr


def test_a_step_runs_in_an_environment_an_earlier_step_built(mlp_home):
    register("tests/base/six-1.16:v1", resolve(EnvironmentSpec(["six==1.16.0"])))
    result, stderr = run("environment_flow.py", base_name="tests/base/six-1.16:v1")
    assert result.successful, stderr
    data = result.data
    (python,) = data.pythons  # every task of the foreach in one environment
    lock = lookup(f"tests/environment-flow/run-{result.id}:v1")
    assert python == str(mlp_home / "envs" / lock.hash / "bin" / "python")
    assert data.versions == [{"six": "1.16.0", "termcolor": "2.4.0"}] * 3
    assert lock.version_of("six") == "1.16.0" and lock.version_of("termcolor") == "2.4.0"
    assert data.end_python == sys.executable  # the next step is back in the flow's own
    assert data.end_six != "1.16.0"
    built = [p for p in (mlp_home / "envs").iterdir() if not p.name.startswith(".")]
    assert len(built) == 2  # the base (built to capture it) and the composed one


def test_a_step_runs_in_a_statically_named_environment(mlp_home):
    lock = resolve(EnvironmentSpec(["six==1.16.0"]))
    register("tests/static/six-1.16:v1", lock)
    result, stderr = run("static_env_flow.py")
    assert result.successful, stderr
    assert result["start"].task.data.six == "1.16.0"
    assert result["start"].task.data.python == str(mlp_home / "envs" / lock.hash / "bin" / "python")


def test_an_unknown_static_name_fails_the_step_with_one_clear_line(mlp_home):
    result, stderr = run("static_env_flow.py")
    assert not result.successful
    assert "no environment is registered as tests/static/six-1.16:v1" in stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "step start (task 1) has no artifact 'env_name'"),
        (
            "not a name",
            "artifact 'env_name' of step start is 'not a name', not an environment name",
        ),
    ],
)
def test_from_artifact_needs_an_artifact_that_is_an_environment_name(mlp_home, value, expected):
    result, stderr = run("bad_artifact_flow.py", value=value)
    assert not result.successful
    assert expected in stderr
