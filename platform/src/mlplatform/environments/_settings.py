"""Settings of the environments layer: where named environments are registered and built."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import Field

from mlplatform.config import ProfileDefaults, Settings, SettingsSection

__all__ = ["EnvironmentsSettings"]


class EnvironmentsSettings(SettingsSection):
    """Named, portable environments built with uv (``[<profile>.environments]``)."""

    profile_defaults: ClassVar[ProfileDefaults] = {"production": {"backend": "s3"}}

    backend: Literal["local", "s3"] = "local"
    """Where names and locks are registered: ``local`` (SQLite in the state folder) or
    ``s3`` (under ``storage.s3_root``, so remote pods can fetch them)."""
    envs_dir: Path | None = None
    """Where built environments live, one folder per lock hash; default ``<home>/envs``."""
    offline: bool = False
    """Resolve and install from uv's cache only (``uv --offline``)."""
    index_url: str | None = None
    """A package index to use instead of uv's default (e.g. a company mirror)."""
    uv_timeout_s: float = Field(default=600.0, gt=0)
    """How long one uv command (resolve, install) may take."""

    def required(self, settings: Settings) -> list[tuple[str, str]]:
        if self.backend == "s3" and not settings.storage.s3_root:
            return [("backend", "'s3' needs storage.s3_root (MLP_STORAGE__S3_ROOT)")]
        return []

    def metaflow_values(self, settings: Settings) -> dict[str, str]:
        if settings.profile != "production":
            return {}
        # Remote pods rehydrate @named_env steps' environments (the platform's environment).
        return {"DEFAULT_ENVIRONMENT": "mlp"}

    def resolved(self, settings: Settings) -> Self:
        envs_dir = self.envs_dir if self.envs_dir else settings.home / "envs"
        return self.model_copy(update={"envs_dir": settings.root / envs_dir})
