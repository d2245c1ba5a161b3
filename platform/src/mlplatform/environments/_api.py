"""The environments API: resolve, compose, capture, build, register, look up.

```python
lock = resolve(EnvironmentSpec(requirements=["scikit-learn==1.5.2"]))
register("recsys/ranking/sklearn:v1", lock)
explainer = compose("recsys/ranking/sklearn:v1", ["shap==0.46.0"])   # base pins + extras
env = build(explainer)                    # .mlp/envs/<hash>/, once per lock
```

Every environment can run Metaflow steps: resolving adds the platform's step runtime —
``metaflow`` at the version this process runs, and ``pydantic`` for the platform's settings
— to what was asked for, and the platform's own code is linked in after the environment's
packages (see `mlplatform.environments._store`).
"""

from __future__ import annotations

import importlib.metadata
import logging
import subprocess
import sys
import time
from collections.abc import Sequence

from mlplatform.config import Settings, load_settings
from mlplatform.environments._backend import RegisteredEnvironment, open_registry
from mlplatform.environments._errors import (
    EnvironmentNotFoundError,
    EnvironmentResolutionError,
    EnvironmentsError,
    ImmutableTagError,
)
from mlplatform.environments._names import closest_names, parse_name
from mlplatform.environments._spec import EnvironmentSpec, Lock, current_python
from mlplatform.environments._store import Environment, build_environment, link_platform
from mlplatform.environments._uv import compile_requirements, freeze

__all__ = [
    "build",
    "capture",
    "compose",
    "environment",
    "list_environments",
    "lookup",
    "register",
    "resolve",
    "step_runtime_requirements",
]

logger = logging.getLogger(__name__)


def step_runtime_requirements() -> list[str]:
    """What a Metaflow step of this platform needs in any environment it runs in."""
    return [f"metaflow=={importlib.metadata.version('metaflow')}", "pydantic>=2.9"]


def _settings(settings: Settings | None) -> Settings:
    return settings or load_settings()


def _pins(lock: Lock) -> list[str]:
    return [f"{package.name}=={package.version}" for package in lock.packages]


def resolve(spec: EnvironmentSpec, *, settings: Settings | None = None) -> Lock:
    """Resolve a spec into a lock: exact versions with hashes, no index address.

    With ``spec.base``, the base environment's pins stay exactly as they are (see
    `compose`).

    Raises:
        EnvironmentResolutionError: An unknown package, a version that does not exist, or
            (offline) a package uv's cache does not hold; the message names it.
        EnvironmentConflictError: The requirements do not fit the base's pins.
        EnvironmentNotFoundError: ``spec.base`` is not registered.
    """
    if spec.base:
        return compose(spec.base, spec.requirements, settings=settings)
    settings = _settings(settings)
    requirements = [*spec.requirements, *step_runtime_requirements()]
    text = compile_requirements(
        requirements, spec.python, settings.environments, asked=spec.requirements
    )
    lock = Lock.from_requirements_txt(text, spec.python, spec.requirements)
    logger.info(
        "resolved %s -> %d packages (lock %s)", spec.requirements, len(lock.packages), lock.hash
    )
    return lock


def compose(base: Lock | str, extras: Sequence[str], *, settings: Settings | None = None) -> Lock:
    """The base environment's pins plus ``extras``, resolved together.

    Every package of the base keeps its exact version; the extras and whatever they need
    are added around them. Nothing is built.

    Args:
        base: A lock, or a registered name whose lock to extend.
        extras: Requirement strings to add, e.g. ``["shap==0.46.0"]``.

    Raises:
        EnvironmentConflictError: The extras cannot coexist with the base's pins; the
            message names the packages and versions in conflict.
    """
    settings = _settings(settings)
    base_lock = lookup(base, settings=settings) if isinstance(base, str) else base
    if isinstance(extras, str):
        raise EnvironmentResolutionError(
            f"extras must be a list of requirement strings, got the string {extras!r}"
        )
    extras = [extra.strip() for extra in extras if extra.strip()]
    requirements = [*extras, *step_runtime_requirements()]
    text = compile_requirements(
        requirements, base_lock.python, settings.environments, pinned=_pins(base_lock), asked=extras
    )
    lock = Lock.from_requirements_txt(text, base_lock.python, [*base_lock.requirements, *extras])
    logger.info("composed %s + %s -> lock %s", base_lock.hash, extras, lock.hash)
    return lock


def capture(python_executable: str | None = None, *, settings: Settings | None = None) -> Lock:
    """The environment of an interpreter (default: this one) as a lock.

    What a model flow stores with its model, so that an explainer can rebuild the same
    environment elsewhere. Packages no index serves (editable and local ones, such as the
    platform and the pipelines themselves) are left out: they are linked into every
    environment instead.
    """
    settings = _settings(settings)
    executable = python_executable or sys.executable
    pins = freeze(executable)
    python = current_python() if executable == sys.executable else _version_of(executable)
    text = compile_requirements([], python, settings.environments, pinned=pins, asked=[])
    lock = Lock.from_requirements_txt(text, python, pins)
    logger.info("captured %s: %d packages (lock %s)", executable, len(lock.packages), lock.hash)
    return lock


def _version_of(executable: str) -> str:
    result = subprocess.run(
        [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise EnvironmentResolutionError(f"{executable} is not a Python interpreter that runs")
    return result.stdout.strip()


def build(lock: Lock, *, settings: Settings | None = None) -> Environment:
    """The built environment of ``lock`` (built now only if it is not built yet).

    Raises:
        EnvironmentBuildError: Python or a package could not be installed; nothing half
            built is kept.
    """
    settings = _settings(settings)
    environment, _ = build_environment(lock, settings.environments)
    link_platform(environment, settings.root)
    return environment


def register(name: str, lock: Lock, *, settings: Settings | None = None) -> RegisteredEnvironment:
    """Point ``team/project/name:tag`` at ``lock`` (and ``team/project/name:latest`` too).

    A tag other than ``latest`` is immutable: registering the same lock under it again
    changes nothing; registering another lock is refused.

    Raises:
        EnvironmentNameError: The name or tag is malformed.
        ImmutableTagError: The tag already points at another lock (nothing changed).
    """
    parsed = parse_name(name)
    settings = _settings(settings)
    registry = open_registry(settings)
    try:
        registry.put_lock(lock)
        now = time.time()
        existing = registry.set_tag(parsed, lock.hash, now)
        if existing is not None and existing != lock.hash:
            raise ImmutableTagError(
                f"{parsed} already points at lock {existing}; tags other than 'latest' are "
                f"immutable, so it cannot move to {lock.hash}. Register under a new tag"
            )
        if not parsed.mutable:
            registry.set_tag(parse_name(f"{parsed.path}:latest"), lock.hash, now)
        entry = registry.get_tag(parsed)
    finally:
        registry.close()
    if entry is None:
        raise EnvironmentsError(f"{parsed} was registered but {registry.describe()} lost it")
    logger.info("registered %s -> lock %s", parsed, lock.hash)
    return entry


def lookup(name: str, *, settings: Settings | None = None) -> Lock:
    """The lock a registered name points at.

    Raises:
        EnvironmentNameError: The name is malformed.
        EnvironmentNotFoundError: Nothing is registered under it; the message lists the
            closest registered names.
    """
    parsed = parse_name(name)
    registry = open_registry(_settings(settings))
    try:
        entry = registry.get_tag(parsed)
        lock = registry.get_lock(entry.lock_hash) if entry else None
        if lock is None:
            known = [str(item) for item in registry.entries()]
            raise EnvironmentNotFoundError(
                f"no environment is registered as {parsed} in {registry.describe()}; "
                f"{closest_names(str(parsed), known)}"
            )
        return lock
    finally:
        registry.close()


def environment(name: str, *, settings: Settings | None = None) -> Environment:
    """The built environment of a registered name (looked up, then built if needed)."""
    settings = _settings(settings)
    return build(lookup(name, settings=settings), settings=settings)


def list_environments(*, settings: Settings | None = None) -> list[RegisteredEnvironment]:
    """Every registered name:tag, sorted."""
    registry = open_registry(_settings(settings))
    try:
        return registry.entries()
    finally:
        registry.close()
