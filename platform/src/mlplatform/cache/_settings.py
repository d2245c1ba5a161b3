"""Settings of the cache layer: which backend, and each backend's options."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from mlplatform.config import ProfileDefaults, Settings, SettingsSection

__all__ = ["CacheSettings"]


class CacheSettings(SettingsSection):
    """The online key-value store (``[<profile>.cache]``)."""

    profile_defaults: ClassVar[ProfileDefaults] = {"production": {"backend": "redis"}}

    backend: Literal["sqlite", "redis"] = "sqlite"
    """``sqlite`` (a file in the state folder) or ``redis``."""
    keep_generations: int = Field(default=3, ge=0)
    """Published generations kept for `rollback` besides the current one; older are collected."""
    # -- redis ---------------------------------------------------------------------------
    redis_url: str | None = None
    """The Redis server, ``redis://host:port/db`` (``rediss://``, ``unix://``)."""
    timeout_s: float = Field(default=2.0, gt=0)
    """How long a call to a remote cache may take before it fails with a clear error."""

    @field_validator("redis_url")
    @classmethod
    def _redis_uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"expected a redis://, rediss:// or unix:// URL, got {value!r}")
        return value

    def required(self, settings: Settings) -> list[tuple[str, str]]:
        if self.backend == "redis" and not self.redis_url:
            return [("redis_url", "the Redis URL, e.g. redis://host:6379/0")]
        return []
