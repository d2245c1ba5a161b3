"""Profiles and settings: one `Settings` object resolved from env > mlp.toml > defaults.

Resolution order, highest first:

1. Environment: ``MLP_PROFILE``, ``MLP_HOME``, ``MLP_CONFIG`` and ``MLP_<SECTION>__<KEY>``
   (for example ``MLP_CACHE__BACKEND=redis``).
2. ``mlp.toml`` at the workspace root (or the file named by ``MLP_CONFIG``): an optional
   top-level ``profile = "..."`` and one table per profile, e.g. ``[production.cache]``.
3. Defaults of the active profile (``local`` unless told otherwise).

The local profile keeps all state under ``.mlp/`` at the workspace root (or ``MLP_HOME``).
The production profile has no defaults for its service addresses: they are required.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from mlplatform._errors import MLPlatformError

__all__ = [
    "PROFILES",
    "ConfigError",
    "Settings",
    "find_workspace_root",
    "load_settings",
    "metaflow_config",
]

Profile = Literal["local", "production"]
PROFILES: tuple[str, ...] = get_args(Profile)
ENV_PREFIX = "MLP_"
ENV_SECTION_SEPARATOR = "__"


class ConfigError(MLPlatformError):
    """The settings are malformed, incomplete or name something that does not exist."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetaflowSettings(_Section):
    """How flows in this repo talk to Metaflow."""

    user: str | None = None
    """Metaflow user name; default ``METAFLOW_USER``, else the OS user (unless root), else
    ``local``."""
    metadata_service_url: str | None = None
    """Production: the Metaflow metadata service."""


class StorageSettings(_Section):
    """Object storage for the production profile (S3 or an S3-compatible endpoint)."""

    s3_root: str | None = None
    """Root of everything the platform stores in S3, e.g. ``s3://bucket/mlp``."""
    s3_endpoint_url: str | None = None
    """An S3-compatible endpoint (MinIO, a test server); unset means AWS's own."""
    s3_region: str = "us-east-1"

    @field_validator("s3_root")
    @classmethod
    def _s3_uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("s3://"):
            raise ValueError(f"expected an s3:// URI such as 's3://bucket/prefix', got {value!r}")
        return value.rstrip("/") if value else value


class DataSettings(_Section):
    """The Iceberg catalog behind `mlplatform.data.Table`."""

    catalog: Literal["sql", "rest", "glue", "hive"] = "sql"
    catalog_uri: str | None = None
    """Local: a SQLite URL under the state folder by default. Production: the REST catalog."""
    warehouse: str | None = None
    """Where new tables' files go; default ``<home>/warehouse`` or ``<s3_root>/warehouse``."""
    read_threads: int = 8
    """Files fetched and decoded concurrently by `DataFrame.load`."""
    max_bytes_in_flight: int = 512 * 1024 * 1024
    """Upper bound on fetched-but-not-yet-decoded Parquet bytes during a load."""


class CacheSettings(_Section):
    """The online key-value store."""

    backend: Literal["sqlite", "redis"] = "sqlite"
    redis_url: str | None = None
    timeout_s: float = 2.0
    """How long a call to a remote cache may take before it fails with a clear error."""
    keep_generations: int = 3
    """Published generations kept for `rollback` besides the current one; older are collected."""

    @field_validator("redis_url")
    @classmethod
    def _redis_uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"expected a redis://, rediss:// or unix:// URL, got {value!r}")
        return value


class OrchestrationSettings(_Section):
    """Events, triggers and schedules."""

    backend: Literal["local", "argo"] = "local"
    flows_dir: str = "pipelines"
    """Where the local orchestrator looks for flows, relative to the workspace root."""
    max_concurrent_runs: int = 2
    max_attempts: int = 3
    """A failed triggered run is retried until it has been tried this many times."""
    poll_interval_s: float = 1.0
    catch_up_missed_schedules: bool = True
    """Run a schedule missed while the orchestrator was down once when it starts."""


class ComputeSettings(_Section):
    """Where steps run."""

    backend: Literal["local", "kubernetes"] = "local"
    kubernetes_namespace: str = "default"
    kubernetes_service_account: str | None = None


class ArgoSettings(_Section):
    """Argo Workflows and Argo Events (production orchestration)."""

    namespace: str = "argo"
    events_webhook_url: str | None = None
    event_bus: str = "default"
    events_service_account: str | None = None
    events_event: str | None = None
    """Name of the Argo Events event that carries Metaflow events (sensors listen on it)."""
    events_event_source: str | None = None
    """Name of the Argo Events event source (the webhook) that receives them."""


_SECTIONS: dict[str, type[_Section]] = {
    "metaflow": MetaflowSettings,
    "storage": StorageSettings,
    "data": DataSettings,
    "cache": CacheSettings,
    "orchestration": OrchestrationSettings,
    "compute": ComputeSettings,
    "argo": ArgoSettings,
}

_PROFILE_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "local": {},
    "production": {
        "data": {"catalog": "rest"},
        "cache": {"backend": "redis"},
        "orchestration": {"backend": "argo"},
        "compute": {"backend": "kubernetes"},
    },
}

# Settings a profile cannot run without: (section, key, what it is, when it is needed).
_REQUIRED: tuple[tuple[str, str, str, Callable[[Settings], bool]], ...] = (
    (
        "storage",
        "s3_root",
        "the S3 root for artifacts and tables, e.g. s3://bucket/mlp",
        lambda s: s.profile == "production",
    ),
    (
        "metaflow",
        "metadata_service_url",
        "the Metaflow metadata service URL",
        lambda s: s.profile == "production",
    ),
    (
        "data",
        "catalog_uri",
        "the Iceberg catalog URI (a REST catalog's URL in production)",
        lambda s: s.profile == "production" or s.data.catalog != "sql",
    ),
    (
        "cache",
        "redis_url",
        "the Redis URL, e.g. redis://host:6379/0",
        lambda s: s.cache.backend == "redis",
    ),
)


class Settings(BaseModel):
    """The resolved settings of one profile. Build it with `load_settings`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Profile
    root: Path
    """The workspace root (the folder holding the root ``pyproject.toml``)."""
    home: Path
    """Local state folder: Metaflow datastore, catalog, cache, event log, environments."""
    config_file: Path | None
    """The ``mlp.toml`` that was read, if any."""
    metaflow: MetaflowSettings = MetaflowSettings()
    storage: StorageSettings = StorageSettings()
    data: DataSettings = DataSettings()
    cache: CacheSettings = CacheSettings()
    orchestration: OrchestrationSettings = OrchestrationSettings()
    compute: ComputeSettings = ComputeSettings()
    argo: ArgoSettings = ArgoSettings()

    @property
    def metaflow_user(self) -> str:
        """Metaflow user: settings, ``METAFLOW_USER``, the OS user unless root, else ``local``."""
        if self.metaflow.user:
            return self.metaflow.user
        if os.environ.get("METAFLOW_USER"):
            return os.environ["METAFLOW_USER"]
        try:
            os_user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry and no USER/LOGNAME: CI containers
            os_user = ""
        # Metaflow refuses "root" as a user name, so root falls back too.
        return os_user if os_user and os_user != "root" else "local"

    @property
    def catalog_uri(self) -> str:
        """The Iceberg catalog URI, with the local profile's SQLite default filled in."""
        return self.data.catalog_uri or f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def warehouse(self) -> str:
        """Where new Iceberg tables' files go."""
        if self.data.warehouse:
            return self.data.warehouse
        if self.profile == "production":
            return f"{self.storage.s3_root}/warehouse"
        return (self.home / "warehouse").as_uri()

    @property
    def flows_dir(self) -> Path:
        """The folder the local orchestrator scans for flows."""
        return self.root / self.orchestration.flows_dir


def find_workspace_root(start: Path | None = None) -> Path:
    """Return the uv workspace root above ``start`` (default: the current directory).

    Falls back to the workspace this package was installed from, then to ``start`` itself,
    so that flows started from any folder of the repo share one state folder.
    """
    here = (start or Path.cwd()).resolve()
    for candidate in (here, Path(__file__).resolve()):
        for folder in (candidate, *candidate.parents):
            pyproject = folder / "pyproject.toml"
            if pyproject.is_file() and "[tool.uv.workspace]" in pyproject.read_text():
                return folder
    return here


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist (named by MLP_CONFIG); "
            "point MLP_CONFIG at an existing mlp.toml or unset it"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    allowed = {"profile", *PROFILES}
    for key, value in document.items():
        if key not in allowed:
            raise ConfigError(
                f"{path}: unknown top-level key {key!r}; valid keys are {sorted(allowed)}"
            )
        if key in PROFILES and not isinstance(value, dict):
            raise ConfigError(f"{path}: [{key}] must be a table of sections, got {value!r}")
    return document


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or ENV_SECTION_SEPARATOR not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition(ENV_SECTION_SEPARATOR)
        overrides.setdefault(section, {})[key] = value
    return overrides


def _merge(*layers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values)
    return merged


def _validate_sections(
    raw: Mapping[str, Mapping[str, Any]], origin: Mapping[tuple[str, str], str]
) -> dict[str, _Section]:
    sections: dict[str, _Section] = {}
    for section, values in raw.items():
        if section not in _SECTIONS:
            where = origin.get((section, next(iter(values), "")), "settings")
            raise ConfigError(
                f"{where}: unknown settings section {section!r}; valid sections are "
                f"{sorted(_SECTIONS)}"
            )
        try:
            sections[section] = _SECTIONS[section].model_validate(dict(values))
        except ValidationError as error:
            raise ConfigError(_describe(section, values, error, origin)) from None
    return sections


def _describe(
    section: str,
    values: Mapping[str, Any],
    error: ValidationError,
    origin: Mapping[tuple[str, str], str],
) -> str:
    problems = []
    model = _SECTIONS[section]
    for item in error.errors():
        key = str(item["loc"][0]) if item["loc"] else "?"
        where = origin.get((section, key), "settings")
        if item["type"] == "extra_forbidden":
            problems.append(
                f"{where}: unknown key {section}.{key}; valid keys are {sorted(model.model_fields)}"
            )
            continue
        expected = item["msg"]
        if item["type"] == "literal_error":
            expected = f"valid choices are {list(get_args(model.model_fields[key].annotation))}"
        problems.append(f"{where}: {section}.{key} = {values.get(key)!r} is invalid: {expected}")
    return "; ".join(problems)


def load_settings(env: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Settings:
    """Resolve the settings from the environment, ``mlp.toml`` and the profile's defaults.

    Args:
        env: Environment to read (default ``os.environ``); tests pass their own.
        cwd: Folder to start looking for the workspace root from (default: current folder).

    Raises:
        ConfigError: Malformed ``mlp.toml``, an unknown profile, section, key or backend name,
            or a required production setting that is missing. The message names the key,
            the value and what is valid.
    """
    env = os.environ if env is None else env
    root = find_workspace_root(cwd)
    config_file: Path | None = Path(env["MLP_CONFIG"]) if env.get("MLP_CONFIG") else None
    if config_file is None and (root / "mlp.toml").is_file():
        config_file = root / "mlp.toml"
    document = _read_toml(config_file) if config_file else {}

    profile = env.get("MLP_PROFILE") or document.get("profile") or "local"
    if profile not in PROFILES:
        source = "MLP_PROFILE" if env.get("MLP_PROFILE") else f"{config_file}: profile"
        raise ConfigError(f"{source} = {profile!r} is not a profile; valid profiles are {PROFILES}")

    from_file = document.get(profile, {})
    from_env = _env_overrides(env)
    # Where each value came from, so that an error can name the file table or variable.
    origin = {(s, k): f"{config_file} [{profile}.{s}]" for s, v in from_file.items() for k in v}
    origin |= {(s, k): f"env MLP_{s.upper()}__{k.upper()}" for s, v in from_env.items() for k in v}
    sections = _validate_sections(_merge(_PROFILE_DEFAULTS[profile], from_file, from_env), origin)

    home = Path(env["MLP_HOME"]) if env.get("MLP_HOME") else root / ".mlp"
    settings = Settings(
        profile=profile, root=root, home=home.resolve(), config_file=config_file, **sections
    )
    missing = [
        f"{section}.{key} ({what}; env MLP_{section.upper()}__{key.upper()})"
        for section, key, what, needed in _REQUIRED
        if needed(settings) and not getattr(getattr(settings, section), key)
    ]
    if missing:
        raise ConfigError(
            f"the {profile} profile needs settings that are not set: "
            + "; ".join(missing)
            + f". Set them in [{profile}.<section>] of {config_file or root / 'mlp.toml'}"
            " or in the environment."
        )
    return settings


def metaflow_config(settings: Settings) -> dict[str, str]:
    """Metaflow configuration values (names without the ``METAFLOW_`` prefix) for a profile.

    The Metaflow extension in ``metaflow_extensions/mlplatform`` applies these whenever
    Metaflow is imported, so flows run on the active profile with nothing exported. An
    explicit ``METAFLOW_<NAME>`` in the environment still wins.
    """
    values = {"USER": settings.metaflow_user}
    if settings.profile == "local":
        sysroot = settings.home / "metaflow"
        values |= {
            "DEFAULT_DATASTORE": "local",
            "DEFAULT_METADATA": "local",
            "DATASTORE_SYSROOT_LOCAL": str(sysroot),
            "DATATOOLS_LOCALROOT": str(sysroot / "data"),
        }
        return values
    sysroot_s3 = f"{settings.storage.s3_root}/metaflow"
    values |= {
        "DEFAULT_DATASTORE": "s3",
        "DEFAULT_METADATA": "service",
        "DATASTORE_SYSROOT_S3": sysroot_s3,
        "DATATOOLS_S3ROOT": f"{sysroot_s3}/data",
        "CARD_S3ROOT": f"{sysroot_s3}/mf.cards",
        "SERVICE_URL": str(settings.metaflow.metadata_service_url),
        "SERVICE_INTERNAL_URL": str(settings.metaflow.metadata_service_url),
        "KUBERNETES_NAMESPACE": settings.compute.kubernetes_namespace,
        "ARGO_EVENTS_EVENT_BUS": settings.argo.event_bus,
    }
    optional = {
        "S3_ENDPOINT_URL": settings.storage.s3_endpoint_url,
        "KUBERNETES_SERVICE_ACCOUNT": settings.compute.kubernetes_service_account,
        "ARGO_EVENTS_WEBHOOK_URL": settings.argo.events_webhook_url,
        "ARGO_EVENTS_SERVICE_ACCOUNT": settings.argo.events_service_account,
        "ARGO_EVENTS_EVENT": settings.argo.events_event,
        "ARGO_EVENTS_EVENT_SOURCE": settings.argo.events_event_source,
    }
    values |= {name: value for name, value in optional.items() if value}
    return values
