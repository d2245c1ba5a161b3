"""`mlp serve --emit knative`: the objects validate against Kubernetes' schemas (there is no
cluster here: emitted and validated, not applied)."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from mlplatform.cli import cli

pytestmark = pytest.mark.integration


def validate(obj: dict) -> None:
    kubernetes_validate.validate(obj, kubernetes_validate.utils.latest_version(), strict=True)


def test_the_emitted_objects_serve_from_zero_and_scale_the_job_workers_on_the_queue(
    mlp_home, example, monkeypatch
):
    for name, value in {
        "MLP_HOSTING__IMAGE": "registry.internal/mlp:1.0",
        "MLP_HOSTING__QUEUE": "redis",
        "MLP_HOSTING__REDIS_URL": "redis://redis.internal:6379/0",
        "MLP_HOSTING__MAX_WORKERS": "5",
        "MLP_HOSTING__TARGET_CONCURRENCY": "8",
        "MLP_COMPUTE__KUBERNETES_NAMESPACE": "ml",
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["serve", str(example / "service.py"), "--emit", "knative"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Deploy iris: kubectl apply -f")
    objects = {obj["kind"]: obj for obj in yaml.safe_load_all(result.stdout)}
    assert set(objects) == {"Service", "Deployment", "ScaledObject"}

    knative = objects["Service"]
    assert knative["apiVersion"] == "serving.knative.dev/v1"
    annotations = knative["spec"]["template"]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/min-scale"] == "0"
    assert annotations["autoscaling.knative.dev/max-scale"] == "5"
    assert annotations["autoscaling.knative.dev/target"] == "8"
    pod_spec = knative["spec"]["template"]["spec"]
    worker = pod_spec["containers"][0]
    assert worker["image"] == "registry.internal/mlp:1.0"
    assert worker["command"][-3:] == ["--port", "8080", "--guard"]
    assert {
        "name": "MLP_HOSTING__TOKENS",
        "valueFrom": {"secretKeyRef": {"name": "iris-tokens", "key": "tokens"}},
    } in worker["env"]
    # Knative's PodSpec is Kubernetes' (plus its own fields): validate it as a Pod's.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "iris", "namespace": "ml"},
        "spec": {"containers": pod_spec["containers"]},
    }
    validate(pod)

    deployment = objects["Deployment"]
    validate(deployment)
    assert deployment["spec"]["replicas"] == 0
    assert deployment["spec"]["template"]["spec"]["containers"][0]["command"][3] == "consumer"

    scaled = objects["ScaledObject"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert scaled["spec"]["minReplicaCount"] == 0
    assert scaled["spec"]["maxReplicaCount"] == 5  # max_job_consumers unset: max_workers
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "redis"
    assert trigger["metadata"] == {
        "address": "redis.internal:6379",
        "listName": "huey.redis.mlp-iris",
        "listLength": "8",  # target_concurrency x max_job_workers: as the front scales them
    }
