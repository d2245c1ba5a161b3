"""Settings of the hosting layer: the front, its workers, async jobs, security, telemetry."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlplatform.config import ProfileDefaults, Settings, SettingsSection

__all__ = ["AlertRule", "HostingSettings", "require_tokens"]


class AlertRule(BaseModel):
    """Fire when ``metric`` stays above ``above`` for ``for_s`` seconds (once per episode).

    Metrics: ``error_rate`` (share of 5xx over the last minute), ``p99_latency_s`` (over the
    last minute), ``queue_age_s`` (the oldest queued async job).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    metric: Literal["error_rate", "p99_latency_s", "queue_age_s"]
    above: float
    for_s: float = Field(default=0.0, ge=0)


class HostingSettings(SettingsSection):
    """Hosted services (``[<profile>.hosting]``)."""

    profile_defaults: ClassVar[ProfileDefaults] = {
        "production": {"backend": "knative", "queue": "redis"}
    }

    backend: Literal["local", "knative"] = "local"
    """``local``: ``mlp serve`` runs the front and its workers here. ``knative``: ``mlp
    serve --emit knative`` writes the Knative Service (and the async workers) to deploy."""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # -- scaling -------------------------------------------------------------------------
    min_workers: int = Field(default=0, ge=0)
    max_workers: int | None = Field(default=None, ge=1)
    """Default: the cores of this machine."""
    target_concurrency: int = Field(default=4, ge=1)
    """In-flight requests per worker above which another worker starts."""
    idle_timeout_s: float = Field(default=60.0, gt=0)
    """With no request for this long, the front goes down to ``min_workers``."""
    scale_down_delay_s: float = Field(default=10.0, gt=0)
    """A worker beyond what the traffic needs is stopped once idle this long."""
    max_queued: int = Field(default=1000, ge=0)
    """Requests held while no worker is free; beyond it the front answers 429."""
    worker_start_timeout_s: float = Field(default=60.0, gt=0)
    # -- requests ------------------------------------------------------------------------
    request_timeout_s: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    tokens: tuple[str, ...] = ()
    """Bearer tokens accepted (``MLP_HOSTING__TOKENS=a,b``); a service refuses to start
    without them in the production profile."""
    # -- async jobs ----------------------------------------------------------------------
    queue: Literal["sqlite", "redis"] = "sqlite"
    """The durable job queue (huey): SQLite in the state folder, or Redis."""
    redis_url: str | None = None
    """Redis of the job queue; default ``cache.redis_url``."""
    job_ttl_s: float = Field(default=24 * 3600.0, gt=0)
    """How long a job's result is kept (and an identical request returns the same job)."""
    job_retries: int = Field(default=3, ge=0)
    job_retry_delay_s: float = Field(default=1.0, ge=0)
    """Delay before the first retry; each later one waits twice as long."""
    max_job_workers: int = Field(default=1, ge=1)
    """Jobs one consumer process runs at once (threads)."""
    max_job_consumers: int | None = Field(default=None, ge=1)
    """The most job consumer processes (pods, with Knative) at once. Consumers start from
    zero when jobs wait, one more per ``target_concurrency x max_job_workers`` waiting
    jobs. Default: 1 for ``mlp serve`` (on 2 cores a second consumer slowed both accepting
    and draining jobs: benchmarks/hosting.py), ``max_workers`` for the emitted KEDA
    ScaledObject."""
    # -- telemetry -----------------------------------------------------------------------
    tracing: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str | None = None
    alerts: tuple[AlertRule, ...] = ()
    alert_webhook_url: str | None = None
    # -- production ----------------------------------------------------------------------
    image: str | None = None
    """The image of the Knative Service; default ``compute.kubernetes_image``."""

    @field_validator("tokens", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(token.strip() for token in value.split(",") if token.strip())
        return value

    @field_validator("alerts", mode="before")
    @classmethod
    def _json_rules(cls, value: Any) -> Any:
        if isinstance(value, str):  # from the environment: a JSON list of rules
            try:
                return json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"expected a JSON list of alert rules: {error}") from None
        return value

    @property
    def workers(self) -> int:
        """The most HTTP workers the front starts."""
        from mlplatform.compute import available_cores

        return self.max_workers or available_cores()

    @property
    def jobs_per_consumer(self) -> int:
        """Waiting jobs per job consumer above which another consumer starts."""
        return self.target_concurrency * self.max_job_workers

    def required(self, settings: Settings) -> list[tuple[str, str]]:
        missing = []
        if self.queue == "redis" and not (self.redis_url or settings.cache.redis_url):
            missing.append(("redis_url", "the Redis of the job queue (or set cache.redis_url)"))
        if self.tracing == "otlp" and not self.otlp_endpoint:
            missing.append(("otlp_endpoint", "the OTLP/HTTP endpoint traces are sent to"))
        return missing

    def resolved(self, settings: Settings) -> Self:
        return self.model_copy(
            update={
                "redis_url": self.redis_url or settings.cache.redis_url,
                "image": self.image or settings.compute.kubernetes_image,
            }
        )


def require_tokens(settings: Settings) -> None:
    """A service of the production profile needs bearer tokens.

    Raises:
        HostingError: Production and no ``hosting.tokens``.
    """
    from mlplatform.hosting._errors import HostingError

    if settings.profile == "production" and not settings.hosting.tokens:
        raise HostingError(
            "the production profile serves only with bearer tokens: set hosting.tokens "
            "(MLP_HOSTING__TOKENS=token[,token...]; in Kubernetes, the Secret <service>-tokens)"
        )
