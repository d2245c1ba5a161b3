"""Settings of the compute layer: where steps run, and how big a step may ask to be."""

from __future__ import annotations

import os
import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from mlplatform.config import ProfileDefaults, Settings, SettingsSection

__all__ = ["ComputeSettings", "available_cores"]

_NODE_SELECTOR = re.compile(r"^[^=,\s]+=[^=,\s]+(,[^=,\s]+=[^=,\s]+)*$")


def available_cores() -> int:
    """CPU cores this process may run on (respects affinity and container CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ComputeSettings(SettingsSection):
    """Where steps run (``[<profile>.compute]``).

    The flow file never changes between the two: the profile decides.
    """

    profile_defaults: ClassVar[ProfileDefaults] = {"production": {"backend": "kubernetes"}}

    backend: Literal["local", "kubernetes"] = "local"
    """``local``: Metaflow's local runtime. ``kubernetes``: the platform attaches Metaflow's
    ``@kubernetes`` to every step (a step's own ``@kubernetes`` wins)."""
    max_workers: int | None = Field(default=None, ge=1, le=1024)
    """Tasks of a run (a foreach) that run at once in the local runtime; default: the cores
    of this machine."""
    max_cpu: float | None = Field(default=None, gt=0)
    """The most CPUs a step may request (``@resources(cpu=)``, ``@kubernetes(cpu=)``); a
    larger request fails before the run starts. None: no limit."""
    max_memory_mb: int | None = Field(default=None, gt=0)
    """The most memory (MB) a step may request; None: no limit."""
    max_gpu: int | None = Field(default=None, ge=0)
    """The most GPUs a step may request; None: no limit."""
    # -- kubernetes ----------------------------------------------------------------------
    kubernetes_namespace: str = "default"
    kubernetes_service_account: str | None = None
    kubernetes_image: str | None = None
    """The container image of every step (it must hold mlplatform and Metaflow)."""
    kubernetes_node_selector: str | None = None
    """Nodes to run on, ``key=value,key2=value2`` (Metaflow's format)."""

    @field_validator("kubernetes_node_selector")
    @classmethod
    def _node_selector(cls, value: str | None) -> str | None:
        if value is not None and not _NODE_SELECTOR.match(value):
            raise ValueError(
                f"expected 'key=value' pairs separated by commas, e.g. "
                f"'node.kubernetes.io/instance-type=m5.xlarge', got {value!r}"
            )
        return value

    @property
    def workers(self) -> int:
        """Tasks the local runtime runs at once."""
        return self.max_workers or available_cores()

    def decospecs(self, settings: Settings) -> list[str]:
        # Checks every step's resource requests against the limits before the run starts;
        # on Kubernetes, runs every step there.
        return ["mlp_compute", *(["kubernetes"] if self.backend == "kubernetes" else [])]

    def metaflow_values(self, settings: Settings) -> dict[str, str]:
        if self.backend != "kubernetes" and settings.profile != "production":
            return {}
        optional = {
            "KUBERNETES_SERVICE_ACCOUNT": self.kubernetes_service_account,
            "KUBERNETES_CONTAINER_IMAGE": self.kubernetes_image,
            "KUBERNETES_NODE_SELECTOR": self.kubernetes_node_selector,
        }
        return {"KUBERNETES_NAMESPACE": self.kubernetes_namespace} | {
            name: value for name, value in optional.items() if value
        }
