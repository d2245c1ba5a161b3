"""Environments: each model flow's own, and each explainer's, composed from a model's.

A model flow resolves its spec (``models.json``) and registers the lock under
``<name>:<lock hash prefix>`` — the same pins resolving to the same lock reuse the tag. The
model run stores the name and the lock (``Lock.to_json()``).

An explainer composes that stored lock with its requirements (``explainer.json``): every pin
of the model's environment is kept and SHAP is resolved around it. The composition itself is
content-addressed: the composed lock is registered under a name made of the base lock's hash
and the requirements, so the next explainer of a model with the same lock looks it up
(milliseconds) instead of resolving again, then builds nothing because the environment of that
lock is built already. The run's own name (`explainer_environment_name`) points at it too.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from explainers._config import EnvironmentConfig
from explainers._errors import ModelRunError
from mlplatform.config import load_settings
from mlplatform.environments import (
    EnvironmentNotFoundError,
    EnvironmentSpec,
    ImmutableTagError,
    Lock,
    build,
    compose,
    lookup,
    register,
    resolve,
)

__all__ = [
    "ExplainerEnvironment",
    "build_explainer_environment",
    "explainer_environment_name",
    "parse_lock",
    "register_model_environment",
]

logger = logging.getLogger(__name__)

_INVALID = re.compile(r"[^a-z0-9._-]+")


def register_model_environment(environment: EnvironmentConfig) -> tuple[str, Lock]:
    """Resolve a model flow's environment spec and register it.

    Returns:
        ``(name with tag, lock)``: the tag is the lock's hash prefix.
    """
    lock = resolve(EnvironmentSpec(tuple(environment.requirements)))
    name = f"{environment.name}:{lock.hash[:12]}"
    register(name, lock)
    logger.info("model environment %s: %s", name, environment.requirements)
    return name, lock


def parse_lock(text: str, where: str) -> Lock:
    """A stored ``Lock.to_json()``, or a `ModelRunError` naming where it came from."""
    try:
        return Lock.from_json(text)
    except Exception as error:
        raise ModelRunError(
            f"{where}: environment_lock is not an environment lock ({error}); the model run "
            "must store Lock.to_json() of its environment"
        ) from None


def _segment(text: str) -> str:
    cleaned = _INVALID.sub("-", text.lower()).strip("-._") or "x"
    return cleaned[:63]


def explainer_environment_name(
    prefix: str, model_type: str, model_run_id: str, explainer_run_id: str
) -> str:
    """``<prefix>/<model_type>-<model run id>:<explainer run id>``, each part made valid."""
    tag = re.sub(r"[^A-Za-z0-9._-]+", "-", str(explainer_run_id)).strip("-._")[:128] or "run"
    return f"{prefix}/{_segment(f'{model_type}-{model_run_id}')}:{tag}"


@dataclass(frozen=True)
class ExplainerEnvironment:
    """The environment an explainer runs in.

    Attributes:
        name: Its name for this run (what ``@named_env(from_artifact=...)`` reads).
        lock: The composed lock (the model's pins + the explainer's requirements).
        composed: True when the composition was resolved now, False when it was looked up.
        built: True when the environment was built now, False when it existed.
        seconds: Time spent composing (or looking up), and building (or finding it built).
    """

    name: str
    lock: Lock
    composed: bool
    built: bool
    seconds: dict[str, float]


def _composition_name(prefix: str, base: Lock, requirements: Sequence[str]) -> str:
    identity = "\n".join([base.hash, *sorted(requirements)])
    return f"{prefix}/composed-{hashlib.sha256(identity.encode()).hexdigest()[:24]}:v1"


def build_explainer_environment(
    base: Lock | str, requirements: Sequence[str], *, name: str, prefix: str
) -> ExplainerEnvironment:
    """Compose ``base`` with ``requirements``, register the result as ``name``, build it.

    Args:
        base: The model run's environment lock (or its ``Lock.to_json()``).
        requirements: The explainer's requirements (``explainer.json``).
        name: This run's name for the environment (`explainer_environment_name`).
        prefix: ``team/project`` under which compositions are memoised.

    Raises:
        EnvironmentConflictError: The requirements cannot coexist with the model's pins (the
            message names both); nothing is registered or built.
        EnvironmentBuildError: The environment could not be built.
    """
    started = time.perf_counter()
    base = parse_lock(base, "the model environment") if isinstance(base, str) else base
    memo = _composition_name(prefix, base, requirements)
    composed = False
    try:
        lock = lookup(memo)
    except EnvironmentNotFoundError:
        lock = compose(base, list(requirements))
        composed = True
        try:
            register(memo, lock)
        except ImmutableTagError:  # another run composed it meanwhile: use theirs
            lock = lookup(memo)
    register(name, lock)
    resolved = time.perf_counter()
    envs_dir = Path(str(load_settings().environments.envs_dir))
    existed = (envs_dir / lock.hash).is_dir()
    build(lock)
    finished = time.perf_counter()
    logger.info(
        "explainer environment %s -> lock %s (%s, %s) in %.2f s",
        name,
        lock.hash,
        "composed now" if composed else "composition reused",
        "built now" if not existed else "already built",
        finished - started,
    )
    return ExplainerEnvironment(
        name=name,
        lock=lock,
        composed=composed,
        built=not existed,
        seconds={
            "compose": resolved - started,
            "build": finished - resolved,
            "total": finished - started,
        },
    )
