"""Hosting: a function over a flow's artifacts becomes a REST service with a decorator.

```python
svc = Service("title-scores", artifacts="TitleScoresFlow/latest_successful")

@svc.endpoint("/score")
def score(request: ScoreRequest, ctx: Context) -> ScoreResponse: ...

@svc.endpoint("/explain", mode="async")      # 202 + job id; GET /jobs/{id} for the result
def explain(request: ExplainRequest, ctx: Context) -> Explanation: ...
```

``mlp serve service.py`` runs a front that holds requests while workers start from zero,
scales workers on in-flight requests, keeps async jobs in a durable queue (huey on SQLite,
Redis in production), logs, counts (Prometheus) and traces (OpenTelemetry) every request,
and fires alert rules; ``--emit knative`` writes the production deployment.
"""

from mlplatform._loader import lazy_exports as _lazy_exports

_EXPORTS = {
    "mlplatform.hosting._errors": [
        "ArtifactsError",
        "HostingError",
        "JobNotFoundError",
        "ServiceDefinitionError",
        "UnknownBackendError",
    ],
    "mlplatform.hosting._jobs": ["JobRecord"],
    "mlplatform.hosting._service": ["Artifacts", "Context", "Endpoint", "Service", "load_service"],
    "mlplatform.hosting._settings": ["AlertRule", "HostingSettings"],
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
