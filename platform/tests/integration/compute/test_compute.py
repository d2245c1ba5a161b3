"""One flow file, local or Kubernetes by profile; resource limits checked before a run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
from metaflow import Runner

from mlplatform.orchestration import deploy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FLOWS = Path(__file__).parent / "flows"


def test_a_request_above_the_limit_fails_before_the_run_starts(mlp_home, monkeypatch):
    monkeypatch.setenv("MLP_COMPUTE__MAX_MEMORY_MB", "4000")
    result = subprocess.run(
        [sys.executable, str(FLOWS / "resource_flow.py"), "run"],
        cwd=FLOWS,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert result.returncode != 0
    assert (
        "step start asks for more than the profile allows: memory=6000 MB is above "
        "compute.max_memory_mb = 4000 MB"
    ) in result.stderr
    assert not (mlp_home / "metaflow" / "ResourceFlow").exists()  # no run was made
    monkeypatch.setenv("MLP_COMPUTE__MAX_MEMORY_MB", "8000")
    with Runner(str(FLOWS / "resource_flow.py"), cwd=str(FLOWS)).run() as running:
        assert running.run.successful  # locally the hints are only hints


def overlaps(spans: list[tuple[float, float]]) -> int:
    """The most spans that overlap at one moment."""
    edges = sorted([(begin, 1) for begin, _ in spans] + [(end, -1) for _, end in spans])
    most = current = 0
    for _, change in edges:
        current += change
        most = max(most, current)
    return most


def test_the_local_runtime_runs_at_most_max_workers_tasks_at_once(mlp_home, monkeypatch):
    monkeypatch.setenv("MLP_COMPUTE__MAX_WORKERS", "1")
    with Runner(str(FLOWS / "parallel_flow.py"), cwd=str(FLOWS)).run() as running:
        assert running.run.successful
        assert overlaps(running.run.data.spans) == 1
    monkeypatch.setenv("MLP_COMPUTE__MAX_WORKERS", "4")
    with Runner(str(FLOWS / "parallel_flow.py"), cwd=str(FLOWS)).run() as running:
        assert overlaps(running.run.data.spans) > 1


def test_on_the_production_profile_every_step_compiles_to_a_valid_kubernetes_pod(
    mlp_home, s3_storage, monkeypatch, tmp_path
):
    for name, value in {
        "MLP_DATA__CATALOG_URI": "http://127.0.0.1:9/iceberg",  # not contacted to compile
        "MLP_CACHE__REDIS_URL": "redis://127.0.0.1:9/0",
        "MLP_METAFLOW__METADATA_SERVICE_URL": "http://127.0.0.1:9/metadata",
        "MLP_COMPUTE__KUBERNETES_IMAGE": "registry.internal/mlp:1.0",
        "MLP_COMPUTE__KUBERNETES_NAMESPACE": "ml",
        "MLP_COMPUTE__KUBERNETES_SERVICE_ACCOUNT": "metaflow",
        "MLP_COMPUTE__KUBERNETES_NODE_SELECTOR": "pool=cpu",
    }.items():
        monkeypatch.setenv(name, value)
    flow = tmp_path / "resource_flow.py"
    shutil.copy(FLOWS / "resource_flow.py", flow)  # the same file as the local run
    template = deploy(flow, target="argo", dry_run=True).workflow_template
    steps = {t["name"]: t for t in template["spec"]["templates"] if "container" in t}
    assert {"start", "end"} <= set(steps)
    start = steps["start"]
    container = start["container"]
    assert container["image"] == "registry.internal/mlp:1.0"
    assert float(container["resources"]["requests"]["cpu"]) == 2
    assert float(container["resources"]["requests"]["memory"].removesuffix("M")) == 6000
    assert start["serviceAccountName"] == "metaflow"
    assert start["nodeSelector"] == {"pool": "cpu"}
    assert template["metadata"]["namespace"] == "ml"
    for name, entry in steps.items():
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"resource-flow-{name}", "namespace": "ml"},
            "spec": {
                "containers": [entry["container"]],
                "serviceAccountName": entry.get("serviceAccountName"),
                "nodeSelector": entry.get("nodeSelector"),
                "restartPolicy": "Never",
            },
        }
        pod["spec"] = {k: v for k, v in pod["spec"].items() if v is not None}
        kubernetes_validate.validate(pod, kubernetes_validate.utils.latest_version(), strict=True)
