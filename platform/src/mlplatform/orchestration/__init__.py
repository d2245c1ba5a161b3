"""Orchestration: events, a local orchestrator for Metaflow's triggers and schedules, deploy.

- `publish` an event on the profile's `EventBackend`: the local durable log (`EventLog`,
  per-consumer offsets, deduplication by event id) or Argo Events in production.
- Every successful run publishes a finish event named as on Argo Workflows (the platform's
  Metaflow extension does it), so ``@trigger_on_finish`` works locally and in production.
- `Orchestrator` (``mlp orchestrate``) starts flows through `metaflow.Runner` on
  ``@trigger``, ``@trigger_on_finish`` and ``@schedule``, records every run (`list_runs`,
  ``mlp runs ls``) and retries failures; after a crash it adopts the runs still going, so each
  event runs its flows once.
- `current_trigger` returns the event that started the current run, locally and on Argo.
- `deploy` compiles or deploys a flow to Argo Workflows on the production profile.
"""

from mlplatform._loader import lazy_exports as _lazy_exports

_EXPORTS = {
    "mlplatform.orchestration._backend": ["EventBackend"],
    "mlplatform.orchestration._deploy": ["DeployResult", "deploy"],
    "mlplatform.orchestration._errors": [
        "DeployError",
        "EventBackendError",
        "EventConflictError",
        "EventPayloadError",
        "FlowDefinitionError",
        "OrchestrationError",
        "OrchestratorBusyError",
        "TriggerMappingError",
        "UnknownBackendError",
    ],
    "mlplatform.orchestration._events": ["Event", "publish"],
    "mlplatform.orchestration._local": ["EventLog"],
    "mlplatform.orchestration._flows": ["FlowDefinition", "discover_flows"],
    "mlplatform.orchestration._naming": ["finish_event_name"],
    "mlplatform.orchestration._orchestrator": ["Orchestrator", "OrchestratorSummary"],
    "mlplatform.orchestration._runs": ["RunRecord", "list_runs"],
    "mlplatform.orchestration._settings": ["ArgoSettings", "OrchestrationSettings"],
    "mlplatform.orchestration._trigger": ["TriggerEvent", "current_trigger"],
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
