"""Named environments in production: the compiled Argo template bootstraps them in the pod,
and the bootstrap itself, run here against the local registry, builds and links them.

There is no cluster here: the template is compiled (moto's S3 server stands in for S3 to
receive the code package) and checked, not run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from metaflow import Runner

from mlplatform.environments import EnvironmentSpec, register, resolve
from mlplatform.orchestration import deploy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FLOWS = Path(__file__).parent / "flows"


def containers_by_step(template: dict) -> dict[str, dict]:
    return {
        entry["name"]: entry["container"]
        for entry in template["spec"]["templates"]
        if "container" in entry
    }


def test_the_compiled_template_bootstraps_named_environments(
    mlp_home, s3_storage, monkeypatch, tmp_path
):
    for name, value in {
        "MLP_DATA__CATALOG_URI": "http://127.0.0.1:9/iceberg",  # not contacted to compile
        "MLP_CACHE__REDIS_URL": "redis://127.0.0.1:9/0",
        "MLP_METAFLOW__METADATA_SERVICE_URL": "http://127.0.0.1:9/metadata",
    }.items():
        monkeypatch.setenv(name, value)
    flow = tmp_path / "remote_env_flow.py"
    shutil.copy(FLOWS / "remote_env_flow.py", flow)
    result = deploy(flow, target="argo", dry_run=True)
    containers = containers_by_step(result.workflow_template)

    start = " ".join(containers["start"]["command"])
    assert (
        "python -m mlplatform.environments._bootstrap --step start --name tests/static/six-1.16:v1"
        in start
    )
    assert ".mlp-env/bin/python remote_env_flow.py" in start
    assert "--environment=mlp" in start
    inside = " ".join(containers["inside"]["command"])
    assert "--from-artifact env_name --flow RemoteEnvFlow" in inside
    assert "--run-id argo-{{workflow.name}} --input-paths $INPUT_PATHS" in inside
    end = " ".join(containers["end"]["command"])
    assert "_bootstrap" not in end and ".mlp-env" not in end  # only @named_env steps


def bootstrap(cwd: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlplatform.environments._bootstrap", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )


def test_the_bootstrap_builds_the_named_environment_and_links_it(mlp_home, tmp_path):
    lock = resolve(EnvironmentSpec(["six==1.16.0"]))
    register("tests/static/six-1.16:v1", lock)
    pod = tmp_path / "pod"
    pod.mkdir()
    result = bootstrap(pod, "--step", "start", "--name", "tests/static/six-1.16:v1")
    assert result.returncode == 0, result.stderr
    python = pod / ".mlp-env" / "bin" / "python"
    version = subprocess.run(
        [str(python), "-c", "import six; print(six.__version__)"], capture_output=True, text=True
    )
    assert version.stdout.strip() == "1.16.0"
    assert (pod / ".mlp-env").resolve() == mlp_home / "envs" / lock.hash


def test_the_bootstrap_reads_the_name_from_the_task_inputs(mlp_home, tmp_path):
    register("tests/static/six-1.16:v1", resolve(EnvironmentSpec(["six==1.16.0"])))
    with Runner(str(FLOWS / "bad_artifact_flow.py"), cwd=str(FLOWS), show_output=False).run(
        value="tests/static/six-1.16:v1"
    ) as running:
        run = running.run
    assert run.successful
    start = next(iter(run["start"]))
    pod = tmp_path / "pod"
    pod.mkdir()
    arguments = ["--step", "inside", "--from-artifact", "env_name", "--flow", "BadArtifactFlow"]
    ok = bootstrap(
        pod, *arguments, "--run-id", run.id, "--input-paths", f"{run.id}/start/{start.id}"
    )
    assert ok.returncode == 0, ok.stderr
    assert "runs in tests/static/six-1.16:v1" in ok.stderr
    missing = bootstrap(
        pod,
        "--step", "inside", "--from-artifact", "nope", "--flow", "BadArtifactFlow",
        "--run-id", run.id, "--input-paths", f"{run.id}/start/{start.id}",
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"error: step inside: step start (task {start.id}) of BadArtifactFlow/{run.id} has no "
        "artifact 'nope'"
    ]
