"""Profiles and settings: one `Settings` object resolved from env > mlp.toml > defaults.

Resolution order, highest first:

1. Environment: ``MLP_PROFILE``, ``MLP_HOME``, ``MLP_CONFIG`` and ``MLP_<SECTION>__<KEY>``
   (for example ``MLP_CACHE__BACKEND=redis``).
2. ``mlp.toml`` at the workspace root (or the file named by ``MLP_CONFIG``): an optional
   top-level ``profile = "..."`` and one table per profile, e.g. ``[production.cache]``.
3. Defaults of the active profile (``local`` unless told otherwise).

This module owns only what every layer shares: the profile, the state folder, the Metaflow
user and metadata service, and object storage. Each layer owns its sections
(``mlplatform/<layer>/_settings.py``, a `SettingsSection`), registered in
`mlplatform._layers.LAYERS`; this module composes them and knows none by name.

It also reads the pipelines' own JSON configurations (`load_json_config`), so that every
pipeline words a bad file the same way.

The local profile keeps all state under ``.mlp/`` at the workspace root (or ``MLP_HOME``).
The production profile has no defaults for its service addresses: they are required.
"""

from __future__ import annotations

import getpass
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from mlplatform._errors import MLPlatformError
from mlplatform._layers import LAYERS
from mlplatform._loader import load_object

if TYPE_CHECKING:
    from mlplatform.cache._settings import CacheSettings
    from mlplatform.compute._settings import ComputeSettings
    from mlplatform.data._settings import DataSettings
    from mlplatform.environments._settings import EnvironmentsSettings
    from mlplatform.hosting._settings import HostingSettings
    from mlplatform.orchestration._settings import ArgoSettings, OrchestrationSettings

__all__ = [
    "PROFILES",
    "ConfigError",
    "MetaflowSettings",
    "ProfileDefaults",
    "Settings",
    "SettingsSection",
    "StorageSettings",
    "find_workspace_root",
    "load_json_config",
    "load_settings",
    "metaflow_config",
    "metaflow_decospecs",
]

Profile = Literal["local", "production"]
ProfileDefaults = Mapping[str, Mapping[str, Any]]
"""Profile -> the section's values that differ from its field defaults in that profile."""
PROFILES: tuple[str, ...] = get_args(Profile)
ENV_PREFIX = "MLP_"
ENV_SECTION_SEPARATOR = "__"


class ConfigError(MLPlatformError):
    """The settings are malformed, incomplete or name something that does not exist."""


class SettingsSection(BaseModel):
    """One ``[<profile>.<section>]`` table of ``mlp.toml``; each layer subclasses it.

    Class attributes and hooks a section may override:

    - ``profile_defaults``: values that differ by profile, e.g.
      ``{"production": {"backend": "redis"}}`` (field defaults are the local profile's);
    - `required`: settings the profile cannot run without (checked before `resolved`);
    - `resolved`: fill defaults that depend on the state folder or storage root;
    - `metaflow_values`: Metaflow configuration the section implies for the profile;
    - `decospecs`: step decorators the section attaches to every step of every flow.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile_defaults: ClassVar[ProfileDefaults] = {}

    def required(self, settings: Settings) -> list[tuple[str, str]]:
        """``(key, what it is)`` of each setting this section needs but lacks."""
        return []

    def resolved(self, settings: Settings) -> Self:
        """This section with defaults that depend on other settings filled in."""
        return self

    def metaflow_values(self, settings: Settings) -> dict[str, str]:
        """Metaflow configuration values (names without ``METAFLOW_``) for the profile."""
        return {}

    def decospecs(self, settings: Settings) -> list[str]:
        """Step decorators (Metaflow decospecs) to attach to every step of every flow."""
        return []


class MetaflowSettings(SettingsSection):
    """How flows in this repo talk to Metaflow."""

    user: str | None = None
    """Metaflow user name; default ``METAFLOW_USER``, else the OS user (unless root), else
    ``local``."""
    metadata_service_url: str | None = None
    """Production: the Metaflow metadata service."""

    def required(self, settings: Settings) -> list[tuple[str, str]]:
        if settings.profile == "production" and not self.metadata_service_url:
            return [("metadata_service_url", "the Metaflow metadata service URL")]
        return []


class StorageSettings(SettingsSection):
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

    def required(self, settings: Settings) -> list[tuple[str, str]]:
        if settings.profile == "production" and not self.s3_root:
            return [("s3_root", "the S3 root for artifacts and tables, e.g. s3://bucket/mlp")]
        return []


# Sections every layer shares; the layers' own come from LAYERS.
_CORE_SECTIONS: dict[str, type[SettingsSection]] = {
    "storage": StorageSettings,
    "metaflow": MetaflowSettings,
}


@cache
def section_models() -> dict[str, type[SettingsSection]]:
    """Every settings section by name: the shared ones, then each layer's, in layer order."""
    models: dict[str, type[SettingsSection]] = dict(_CORE_SECTIONS)
    for layer in LAYERS:
        for name, spec in layer.sections.items():
            models[name] = load_object(spec)
    return models


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one profile. Build it with `load_settings`.

    Each section is an attribute: ``settings.cache.backend``, ``settings.data.catalog_uri``.

    Attributes:
        profile: ``local`` or ``production``.
        root: The workspace root (the folder holding the root ``pyproject.toml``).
        home: Local state folder: Metaflow datastore, catalog, cache, event log,
            environments.
        config_file: The ``mlp.toml`` that was read, if any.
        sections: Every section by name.
        sources: Where each value set by the user came from (``section.key`` -> ``env
            MLP_...`` or ``<file> [profile.section]``); values not listed are defaults.
    """

    profile: Profile
    root: Path
    home: Path
    config_file: Path | None
    sections: Mapping[str, SettingsSection] = field(repr=False)
    sources: Mapping[str, str] = field(default_factory=dict, repr=False)

    if TYPE_CHECKING:
        metaflow: MetaflowSettings
        storage: StorageSettings
        data: DataSettings
        compute: ComputeSettings
        environments: EnvironmentsSettings
        orchestration: OrchestrationSettings
        argo: ArgoSettings
        cache: CacheSettings
        hosting: HostingSettings

    def __getattr__(self, name: str) -> SettingsSection:
        if name.startswith("__") or name in ("sections", "sources"):
            raise AttributeError(name)
        try:
            return self.sections[name]
        except KeyError:
            raise AttributeError(
                f"settings have no section {name!r}; sections are {sorted(self.sections)}"
            ) from None

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

    def source_of(self, section: str, key: str) -> str:
        """Where ``section.key`` came from: the env variable, the file table, or ``default``."""
        return self.sources.get(f"{section}.{key}", "default")


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
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder; expected an mlp.toml file") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {error.start} is {error.object[error.start]:#04x}); "
            "TOML files must be UTF-8: save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    allowed = {"profile", *PROFILES}
    for key, value in document.items():
        if key not in allowed:
            raise ConfigError(
                f"{path}: unknown top-level key {key!r}; valid keys are {sorted(allowed)}"
            )
        if key == "profile" and not isinstance(value, str):
            raise ConfigError(
                f"{path}: profile = {value!r} must be a string, one of {list(PROFILES)}"
            )
        if key not in PROFILES:
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: [{key}] must be a table of sections, got {value!r}")
        for section, values in value.items():
            if not isinstance(values, dict):
                raise ConfigError(
                    f"{path}: [{key}] {section} = {values!r} is not a table; expected a table "
                    f"of keys, e.g. [{key}.{section}] followed by key = value lines"
                )
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
    profile: str,
    raw: Mapping[str, Mapping[str, Any]],
    origin: Mapping[str, str],
) -> dict[str, SettingsSection]:
    models = section_models()
    for section, values in raw.items():
        if section not in models:
            where = origin.get(f"{section}.{next(iter(values), '')}", "settings")
            raise ConfigError(
                f"{where}: unknown settings section {section!r}; valid sections are "
                f"{sorted(models)}"
            )
    sections: dict[str, SettingsSection] = {}
    for section, model in models.items():
        values = {**model.profile_defaults.get(profile, {}), **raw.get(section, {})}
        try:
            sections[section] = model.model_validate(values)
        except ValidationError as error:
            raise ConfigError(_describe(section, model, values, error, origin)) from None
    return sections


def _describe(
    section: str,
    model: type[SettingsSection],
    values: Mapping[str, Any],
    error: ValidationError,
    origin: Mapping[str, str],
) -> str:
    problems = []
    for item in error.errors():
        key = str(item["loc"][0]) if item["loc"] else "?"
        where = origin.get(f"{section}.{key}", "settings")
        if item["type"] == "extra_forbidden":
            problems.append(
                f"{where}: unknown key {section}.{key}; valid keys are {sorted(model.model_fields)}"
            )
            continue
        expected = item["msg"].removeprefix("Value error, ")
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
            a value out of range, or a required production setting that is missing. The
            message names the key, the value and what is valid.
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
    # Where each value came from, so that an error (and `mlp doctor`) can name it.
    origin = {f"{s}.{k}": f"{config_file} [{profile}.{s}]" for s, v in from_file.items() for k in v}
    origin |= {
        f"{s}.{k}": f"env MLP_{s.upper()}__{k.upper()}" for s, v in from_env.items() for k in v
    }
    sections = _validate_sections(profile, _merge(from_file, from_env), origin)

    home = Path(env["MLP_HOME"]) if env.get("MLP_HOME") else root / ".mlp"
    settings = Settings(
        profile=profile,
        root=root,
        home=home.resolve(),
        config_file=config_file,
        sections=sections,
        sources=origin,
    )
    missing = [
        f"{name}.{key} ({what}; env MLP_{name.upper()}__{key.upper()})"
        for name, section in sections.items()
        for key, what in section.required(settings)
    ]
    if missing:
        raise ConfigError(
            f"the {profile} profile needs settings that are not set: "
            + "; ".join(missing)
            + f". Set them in [{profile}.<section>] of {config_file or root / 'mlp.toml'}"
            " or in the environment."
        )
    resolved = {name: section.resolved(settings) for name, section in sections.items()}
    return Settings(
        profile=profile,
        root=root,
        home=settings.home,
        config_file=config_file,
        sections=resolved,
        sources=origin,
    )


def metaflow_config(settings: Settings) -> dict[str, str]:
    """Metaflow configuration values (names without the ``METAFLOW_`` prefix) for a profile.

    The Metaflow extension in ``metaflow_extensions/mlplatform`` applies these whenever
    Metaflow is imported, so flows run on the active profile with nothing exported. An
    explicit ``METAFLOW_<NAME>`` in the environment still wins. The datastore and metadata
    come from here; each section adds its own (Kubernetes, Argo Events, ...).
    """
    values = {"USER": settings.metaflow_user}
    if settings.profile == "local":
        sysroot = settings.home / "metaflow"
        values |= {
            "DEFAULT_DATASTORE": "local",
            "DEFAULT_METADATA": "local",
            "DATASTORE_SYSROOT_LOCAL": str(sysroot),
            "DATATOOLS_LOCALROOT": str(sysroot / "data"),
            "CARD_LOCALROOT": str(sysroot / "mf.cards"),  # else <cwd>/.metaflow
        }
    else:
        sysroot_s3 = f"{settings.storage.s3_root}/metaflow"
        service_url = str(settings.metaflow.metadata_service_url)
        values |= {
            "DEFAULT_DATASTORE": "s3",
            "DEFAULT_METADATA": "service",
            "DATASTORE_SYSROOT_S3": sysroot_s3,
            "DATATOOLS_S3ROOT": f"{sysroot_s3}/data",
            "CARD_S3ROOT": f"{sysroot_s3}/mf.cards",
            "SERVICE_URL": service_url,
            "SERVICE_INTERNAL_URL": service_url,
        }
        if settings.storage.s3_endpoint_url:
            values["S3_ENDPOINT_URL"] = settings.storage.s3_endpoint_url
    for section in settings.sections.values():
        values |= section.metaflow_values(settings)
    return values


def metaflow_decospecs(settings: Settings) -> list[str]:
    """The step decorators every flow gets (Metaflow's ``TOGGLE_DECOSPECS``), from each
    section: e.g. the finish-event decorator, the resource check, ``kubernetes``."""
    return [spec for section in settings.sections.values() for spec in section.decospecs(settings)]


ConfigModel = TypeVar("ConfigModel", bound=BaseModel)


def _problems(error: ValidationError) -> str:
    """Every problem of a JSON configuration's pydantic error, on one line."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "config"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key {where!r}")
        elif item["type"] == "missing":
            problems.append(f"missing required key {where!r}")
        else:
            problems.append(f"{where}: {item['msg']} (got {item.get('input')!r})")
    return "; ".join(problems)


def load_json_config(
    source: str | Path | Mapping[str, Any],
    model: type[ConfigModel],
    *,
    name: str,
    error: type[Exception],
    example: str,
) -> ConfigModel:
    """Read and validate a pipeline's JSON configuration; every problem is one line.

    Args:
        source: A mapping, a JSON document (a string starting with ``{``) or a file's path.
        model: The pydantic model (``extra="forbid"`` makes unknown keys errors).
        name: What the messages call it when it is not a file (``"match config"``).
        error: The exception to raise: the pipeline's own.
        example: Where a valid file is, for the message of a missing one.

    Raises:
        error: ``cannot read NAME PATH: why; pass an existing JSON file (see EXAMPLE)``,
            ``WHERE is not valid JSON: ...``, ``WHERE must be a JSON object, got list`` or
            ``WHERE is invalid: `` and each problem: ``unknown key 'a.b'``,
            ``missing required key 'c'``, ``d.e: <pydantic's message> (got <value>)``; WHERE is
            the file's path, else NAME.
    """
    where = name
    if isinstance(source, Mapping):
        document: Any = dict(source)
    else:
        text = str(source)
        if not text.lstrip().startswith("{"):
            where = text
            try:
                text = Path(text).read_text()
            except OSError as problem:
                raise error(
                    f"cannot read {name} {where}: {problem.strerror}; pass an existing JSON "
                    f"file (see {example})"
                ) from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as problem:
            raise error(f"{where} is not valid JSON: {problem}") from None
    if not isinstance(document, dict):
        raise error(f"{where} must be a JSON object, got {type(document).__name__}")
    try:
        return model.model_validate(document)
    except ValidationError as problem:
        raise error(f"{where} is invalid: {_problems(problem)}") from None
