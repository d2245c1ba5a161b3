"""Resource requests of steps, checked against the profile's limits before a run starts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlplatform.compute._errors import ResourceLimitError
from mlplatform.compute._settings import ComputeSettings

__all__ = ["check_requests", "requested_resources"]

# Metaflow decorators that carry resource requests, and the attributes they use.
_RESOURCE_DECORATORS = ("resources", "kubernetes", "batch")
_LIMITS = (("cpu", "max_cpu", ""), ("memory", "max_memory_mb", " MB"), ("gpu", "max_gpu", ""))


def _number(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def requested_resources(decorators: Iterable[Any]) -> dict[str, float]:
    """The largest ``cpu``, ``memory`` (MB) and ``gpu`` a step's decorators request.

    As Metaflow does for ``@resources`` with ``@kubernetes``: the larger value wins.
    """
    requests: dict[str, float] = {}
    for decorator in decorators:
        if decorator.name not in _RESOURCE_DECORATORS:
            continue
        for key, _, _ in _LIMITS:
            value = _number(decorator.attributes.get(key))
            if value is not None:
                requests[key] = max(requests.get(key, 0.0), value)
    return requests


def check_requests(step: str, requests: dict[str, float], options: ComputeSettings) -> None:
    """Refuse a step that asks for more than the profile allows.

    Raises:
        ResourceLimitError: Names the step, what it asks for and the limit.
    """
    problems = []
    for key, limit_name, unit in _LIMITS:
        limit = getattr(options, limit_name)
        asked = requests.get(key)
        if limit is not None and asked is not None and asked > limit:
            problems.append(
                f"{key}={asked:g}{unit} is above compute.{limit_name} = {limit:g}{unit}"
            )
    if problems:
        raise ResourceLimitError(
            f"step {step} asks for more than the profile allows: {'; '.join(problems)}. "
            "Lower the request in @resources, or raise the limit (mlp.toml or "
            "MLP_COMPUTE__...) if the cluster has bigger nodes"
        )
