"""Settings of the compute layer: where steps run."""

from __future__ import annotations

from typing import ClassVar, Literal

from mlplatform.config import ProfileDefaults, Settings, SettingsSection

__all__ = ["ComputeSettings"]


class ComputeSettings(SettingsSection):
    """Where steps run (``[<profile>.compute]``)."""

    profile_defaults: ClassVar[ProfileDefaults] = {"production": {"backend": "kubernetes"}}

    backend: Literal["local", "kubernetes"] = "local"
    """``local`` (Metaflow's local runtime) or ``kubernetes`` (Metaflow's ``@kubernetes``)."""
    # -- kubernetes ----------------------------------------------------------------------
    kubernetes_namespace: str = "default"
    kubernetes_service_account: str | None = None

    def metaflow_values(self, settings: Settings) -> dict[str, str]:
        if settings.profile != "production":
            return {}
        values = {"KUBERNETES_NAMESPACE": self.kubernetes_namespace}
        if self.kubernetes_service_account:
            values["KUBERNETES_SERVICE_ACCOUNT"] = self.kubernetes_service_account
        return values
