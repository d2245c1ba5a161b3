"""Orchestration: events, a local orchestrator for Metaflow's triggers and schedules, deploy.

- `publish` an event (local durable log, or Argo Events in production); `EventLog` is the
  local log with per-consumer offsets and deduplication by event id.
- Every successful run publishes a finish event named as on Argo Workflows (the platform's
  Metaflow extension does it), so ``@trigger_on_finish`` works locally and in production.
- `Orchestrator` (``mlp orchestrate``) starts flows through `metaflow.Runner` on
  ``@trigger``, ``@trigger_on_finish`` and ``@schedule``, records every run (`list_runs`,
  ``mlp runs ls``) and retries failures.
- `current_trigger` returns the event that started the current run, locally and on Argo.
- `deploy` compiles or deploys a flow to Argo Workflows on the production profile.
"""

from mlplatform.orchestration._deploy import DeployResult, deploy
from mlplatform.orchestration._errors import (
    DeployError,
    EventBackendError,
    EventPayloadError,
    FlowDefinitionError,
    OrchestrationError,
    OrchestratorBusyError,
    TriggerMappingError,
)
from mlplatform.orchestration._events import Event, EventLog, publish
from mlplatform.orchestration._flows import FlowDefinition, discover_flows
from mlplatform.orchestration._naming import finish_event_name
from mlplatform.orchestration._orchestrator import Orchestrator, OrchestratorSummary
from mlplatform.orchestration._runs import RunRecord, list_runs
from mlplatform.orchestration._trigger import TriggerEvent, current_trigger

__all__ = [
    "DeployError",
    "DeployResult",
    "Event",
    "EventBackendError",
    "EventLog",
    "EventPayloadError",
    "FlowDefinition",
    "FlowDefinitionError",
    "OrchestrationError",
    "Orchestrator",
    "OrchestratorBusyError",
    "OrchestratorSummary",
    "RunRecord",
    "TriggerEvent",
    "TriggerMappingError",
    "current_trigger",
    "deploy",
    "discover_flows",
    "finish_event_name",
    "list_runs",
    "publish",
]
