"""What ``mlp doctor`` checks of the compute layer: where steps run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlplatform._checks import CheckResult

if TYPE_CHECKING:
    from mlplatform.config import Settings

__all__ = ["check"]


def check(settings: Settings) -> list[CheckResult]:
    """Where steps run and with what (nothing is contacted: there may be no cluster)."""
    options = settings.compute
    if options.backend == "local":
        return [
            CheckResult(
                "compute",
                "local",
                "ok",
                f"Metaflow's local runtime, up to {options.workers} tasks at once",
            )
        ]
    if not options.kubernetes_image:
        return [
            CheckResult(
                "compute",
                "kubernetes",
                "missing",
                "compute.kubernetes_image is not set: pods would start from Metaflow's default "
                "image, which lacks mlplatform",
                required=False,
            )
        ]
    return [
        CheckResult(
            "compute",
            "kubernetes",
            "ok",
            f"every step on Kubernetes, namespace {options.kubernetes_namespace}, image "
            f"{options.kubernetes_image} (the cluster is not contacted)",
        )
    ]
