"""``mlp serve FILE --emit knative``: the Kubernetes objects that serve a service in production.

- A Knative Service: each pod is one worker (Knative's activator holds requests at zero
  and its autoscaler scales on concurrency: min-scale 0, max-scale ``hosting.max_workers``,
  target ``hosting.target_concurrency``); the worker itself checks bearer tokens (from the
  Secret ``<service>-tokens``, key ``tokens``, which you create) and body sizes, as the
  local front does; Knative's ``timeoutSeconds`` is ``hosting.request_timeout_s``.
- For async endpoints, a Deployment of job consumers at 0 replicas and a KEDA ScaledObject
  that scales it on the length of the service's Redis queue (huey's list
  ``huey.redis.mlp-<service>``), from zero — the production counterpart of the local
  front starting consumers when jobs wait.

The image (``hosting.image``, default ``compute.kubernetes_image``) must hold the workspace
at ``/app`` with mlplatform installed; the service file's path is taken relative to the
workspace root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from mlplatform.config import Settings
from mlplatform.hosting._jobs import queue_name
from mlplatform.hosting._service import Service

__all__ = ["knative_manifests", "knative_objects"]

WORKDIR = "/app"
PORT = 8080


def _container(
    service_file: str, role: str, service: Service, settings: Settings
) -> dict[str, Any]:
    command = ["python", "-m", "mlplatform.hosting._process", role, "--service", service_file]
    if service.artifacts is not None:
        command += ["--artifacts", str(getattr(service.artifacts, "pathspec", service.artifacts))]
    env = [
        {"name": "MLP_PROFILE", "value": "production"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
        {
            "name": "MLP_HOSTING__TOKENS",
            "valueFrom": {"secretKeyRef": {"name": f"{service.name}-tokens", "key": "tokens"}},
        },
    ]
    container: dict[str, Any] = {
        "name": role,
        "image": settings.hosting.image or "REPLACE-WITH-THE-IMAGE",
        "workingDir": WORKDIR,
        "command": command,
        "env": env,
    }
    if role == "worker":
        container["command"] += ["--port", str(PORT), "--guard"]
        container["ports"] = [{"containerPort": PORT, "protocol": "TCP"}]
        container["readinessProbe"] = {"httpGet": {"path": "/__mlp/ready", "port": PORT}}
    return container


def knative_objects(
    service_file: Path, service: Service, settings: Settings
) -> list[dict[str, Any]]:
    """The objects to apply, as dicts (see the module's docstring)."""
    options = settings.hosting
    namespace = settings.compute.kubernetes_namespace
    relative = str(Path(service_file).resolve().relative_to(settings.root))
    labels = {"app.kubernetes.io/name": service.name, "app.kubernetes.io/part-of": "mlplatform"}
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": service.name, "namespace": namespace, "labels": labels},
            "spec": {
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {
                            "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
                            "autoscaling.knative.dev/metric": "concurrency",
                            "autoscaling.knative.dev/target": str(options.target_concurrency),
                            "autoscaling.knative.dev/min-scale": str(options.min_workers),
                            "autoscaling.knative.dev/max-scale": str(options.workers),
                            "autoscaling.knative.dev/scale-to-zero-pod-retention-period": (
                                f"{int(options.idle_timeout_s)}s"
                            ),
                        },
                    },
                    "spec": {
                        "containerConcurrency": 0,
                        "timeoutSeconds": int(options.request_timeout_s),
                        "containers": [_container(relative, "worker", service, settings)],
                    },
                }
            },
        }
    ]
    if service.async_endpoints():
        jobs = f"{service.name}-jobs"
        job_labels = {**labels, "app.kubernetes.io/component": "jobs"}
        objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": jobs, "namespace": namespace, "labels": job_labels},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": job_labels},
                    "template": {
                        "metadata": {"labels": job_labels},
                        "spec": {
                            "terminationGracePeriodSeconds": int(options.request_timeout_s) + 30,
                            "containers": [_container(relative, "consumer", service, settings)],
                        },
                    },
                },
            }
        )
        redis = urlsplit(options.redis_url or "redis://REPLACE-WITH-REDIS:6379")
        objects.append(
            {
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject",
                "metadata": {"name": jobs, "namespace": namespace, "labels": job_labels},
                "spec": {
                    "scaleTargetRef": {"name": jobs},
                    "minReplicaCount": 0,
                    "maxReplicaCount": options.max_job_consumers or options.workers,
                    "cooldownPeriod": int(options.idle_timeout_s),
                    "triggers": [
                        {
                            "type": "redis",
                            "metadata": {
                                "address": f"{redis.hostname}:{redis.port or 6379}",
                                "listName": f"huey.redis.{queue_name(service.name)}",
                                "listLength": str(options.jobs_per_consumer),
                            },
                        }
                    ],
                },
            }
        )
    return objects


def knative_manifests(service_file: Path, service: Service, settings: Settings) -> str:
    """The objects as one YAML stream, with a note on the Secret to create."""
    header = (
        f"# Deploy {service.name}: kubectl apply -f this file, after creating its tokens:\n"
        f"#   kubectl -n {settings.compute.kubernetes_namespace} create secret generic "
        f"{service.name}-tokens --from-literal=tokens=<token>[,<token>...]\n"
    )
    return header + yaml.safe_dump_all(
        knative_objects(service_file, service, settings), sort_keys=False
    )
