"""Each package's façade exports exactly the names we promise (httpx does the same)."""

import importlib
import pkgutil

import pytest

import mlplatform

EXPECTED = {
    "mlplatform": {"ConfigError", "MLPlatformError", "Settings", "load_settings"},
    "mlplatform.testing": {"Served", "free_port", "names_used_through", "start_serving"},
    "mlplatform.nightly": {
        "NIGHTLY_ENTRY_POINTS",
        "SIZES",
        "Check",
        "NightlyBusyError",
        "NightlyContext",
        "NightlyError",
        "NightlyReport",
        "PipelineResult",
        "UnknownPipelineError",
        "nightly_hooks",
        "report_document",
        "run_nightly",
    },
    "mlplatform.data": {
        "CommitConflictError",
        "DataError",
        "DataFile",
        "DataFrame",
        "DataSettings",
        "GcResult",
        "HiveTable",
        "ScanPlan",
        "SchemaMismatchError",
        "Shard",
        "SnapshotInfo",
        "Table",
        "TableNotFoundError",
        "TableWriter",
        "WriteManifest",
        "ensure_tables",
        "gc",
        "list_tables",
    },
    "mlplatform.cache": {
        "Cache",
        "CacheBackend",
        "CacheError",
        "CacheSettings",
        "CacheUnavailableError",
        "CacheWriter",
        "CorruptValueError",
        "GenerationError",
        "GenerationInfo",
        "InvalidKeyError",
        "UnknownBackendError",
        "UnsupportedValueError",
        "backend_names",
        "list_namespaces",
    },
    "mlplatform.compute": {
        "ComputeError",
        "ComputeSettings",
        "ResourceLimitError",
        "available_cores",
        "check_requests",
        "requested_resources",
    },
    "mlplatform.environments": {
        "Environment",
        "EnvironmentBuildError",
        "EnvironmentConflictError",
        "EnvironmentName",
        "EnvironmentNameError",
        "EnvironmentNotFoundError",
        "EnvironmentRegistry",
        "EnvironmentResolutionError",
        "EnvironmentSpec",
        "EnvironmentsError",
        "EnvironmentsSettings",
        "ImmutableTagError",
        "Lock",
        "LockedPackage",
        "RegisteredEnvironment",
        "UnknownBackendError",
        "build",
        "capture",
        "compose",
        "environment",
        "list_environments",
        "lookup",
        "parse_name",
        "register",
        "resolve",
    },
    "mlplatform.hosting": {
        "AlertRule",
        "Artifacts",
        "ArtifactsError",
        "Context",
        "Endpoint",
        "HostingError",
        "HostingSettings",
        "JobNotFoundError",
        "JobRecord",
        "Service",
        "ServiceDefinitionError",
        "UnknownBackendError",
        "load_service",
    },
    "mlplatform.orchestration": {
        "ArgoSettings",
        "DeployError",
        "DeployResult",
        "Event",
        "EventBackend",
        "EventBackendError",
        "EventConflictError",
        "EventLog",
        "EventPayloadError",
        "FlowDefinition",
        "FlowDefinitionError",
        "OrchestrationError",
        "OrchestrationSettings",
        "Orchestrator",
        "OrchestratorBusyError",
        "OrchestratorSummary",
        "RunRecord",
        "TriggerEvent",
        "TriggerMappingError",
        "UnknownBackendError",
        "current_trigger",
        "deploy",
        "discover_flows",
        "finish_event_name",
        "list_runs",
        "publish",
    },
}


def subpackages() -> list[str]:
    found = ["mlplatform"]
    for module in pkgutil.iter_modules(mlplatform.__path__, "mlplatform."):
        if module.ispkg:
            found.append(module.name)
    return found


def test_every_subpackage_is_listed_here():
    assert set(subpackages()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_public_names(name):
    package = importlib.import_module(name)
    assert set(package.__all__) == EXPECTED[name]
    for exported in package.__all__:
        assert hasattr(package, exported), f"{name}.{exported} is in __all__ but missing"
    public = {attr for attr in vars(package) if not attr.startswith("_")}
    undeclared = (
        public - set(package.__all__) - {m.name for m in pkgutil.iter_modules(package.__path__)}
    )
    assert not undeclared - {"annotations"}, f"{name} exposes names missing from __all__"
