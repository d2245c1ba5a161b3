"""Settings of the orchestration layer: the event backend, the local orchestrator, Argo."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import Field

from mlplatform.config import ProfileDefaults, Settings, SettingsSection

__all__ = ["ArgoSettings", "OrchestrationSettings"]


class OrchestrationSettings(SettingsSection):
    """Events, triggers and schedules (``[<profile>.orchestration]``)."""

    profile_defaults: ClassVar[ProfileDefaults] = {"production": {"backend": "argo"}}

    backend: Literal["local", "argo"] = "local"
    """``local`` (the event log and orchestrator in the state folder) or ``argo``."""
    flows_dir: Path = Path("pipelines")
    """Where the local orchestrator looks for flows; relative to the workspace root."""
    max_concurrent_runs: int = Field(default=2, ge=1, le=1024)
    max_attempts: int = Field(default=3, ge=1, le=100)
    """A failed triggered run is retried until it has been tried this many times."""
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    catch_up_missed_schedules: bool = True
    """Run a schedule missed while the orchestrator was down once when it starts."""

    def resolved(self, settings: Settings) -> Self:
        return self.model_copy(update={"flows_dir": settings.root / self.flows_dir})

    def decospecs(self, settings: Settings) -> list[str]:
        # Every successful run publishes its finish event (the platform's step decorator).
        return ["mlp_events"]


class ArgoSettings(SettingsSection):
    """Argo Workflows and Argo Events, the production orchestrator (``[<profile>.argo]``)."""

    namespace: str = "argo"
    events_webhook_url: str | None = None
    """The Argo Events webhook event source that receives published events."""
    event_bus: str = "default"
    events_service_account: str | None = None
    events_event: str | None = None
    """Name of the Argo Events event that carries Metaflow events (sensors listen on it)."""
    events_event_source: str | None = None
    """Name of the Argo Events event source (the webhook) that receives them."""

    def metaflow_values(self, settings: Settings) -> dict[str, str]:
        if settings.profile != "production":
            return {}
        optional = {
            "ARGO_EVENTS_WEBHOOK_URL": self.events_webhook_url,
            "ARGO_EVENTS_SERVICE_ACCOUNT": self.events_service_account,
            "ARGO_EVENTS_EVENT": self.events_event,
            "ARGO_EVENTS_EVENT_SOURCE": self.events_event_source,
        }
        return {"ARGO_EVENTS_EVENT_BUS": self.event_bus} | {
            name: value for name, value in optional.items() if value
        }
