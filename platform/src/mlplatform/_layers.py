"""The platform's layers: the one table that config, ``mlp doctor`` and ``mlp`` read.

Each layer names, as ``"module:attribute"`` strings (imported only when needed):

- ``sections``: its settings sections (``[<profile>.<section>]`` in ``mlp.toml``,
  ``MLP_<SECTION>__<KEY>`` in the environment) and the model of each;
- ``check``: a function ``(Settings) -> list[CheckResult]`` that checks the backends the
  profile selects for the layer (``mlp doctor``), if the layer has backends to check;
- ``commands``: its ``mlp`` subcommands (click commands or groups).

Adding a layer is adding a package ``mlplatform/<layer>/`` and one entry here
(CONTRIBUTING.md walks through it). Nothing else in the platform knows a layer by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["LAYERS", "Layer"]


@dataclass(frozen=True)
class Layer:
    """One layer of the platform, as the rest of the platform sees it."""

    name: str
    sections: Mapping[str, str]
    check: str | None = None
    commands: Mapping[str, str] = field(default_factory=dict)


LAYERS: tuple[Layer, ...] = (
    Layer(
        name="data",
        sections={"data": "mlplatform.data._settings:DataSettings"},
        check="mlplatform.data._backend:check",
        commands={"data": "mlplatform.data._cli:data"},
    ),
    Layer(
        name="compute",
        sections={"compute": "mlplatform.compute._settings:ComputeSettings"},
        check="mlplatform.compute._backend:check",
    ),
    Layer(
        name="environments",
        sections={"environments": "mlplatform.environments._settings:EnvironmentsSettings"},
        check="mlplatform.environments._backend:check",
        commands={"env": "mlplatform.environments._cli:env"},
    ),
    Layer(
        name="orchestration",
        sections={
            "orchestration": "mlplatform.orchestration._settings:OrchestrationSettings",
            "argo": "mlplatform.orchestration._settings:ArgoSettings",
        },
        check="mlplatform.orchestration._backend:check",
        commands={
            "deploy": "mlplatform.orchestration._cli:deploy",
            "events": "mlplatform.orchestration._cli:events",
            "orchestrate": "mlplatform.orchestration._cli:orchestrate",
            "runs": "mlplatform.orchestration._cli:runs",
        },
    ),
    Layer(
        name="cache",
        sections={"cache": "mlplatform.cache._settings:CacheSettings"},
        check="mlplatform.cache._backend:check",
        commands={"cache": "mlplatform.cache._cli:cache"},
    ),
    Layer(
        name="hosting",
        sections={"hosting": "mlplatform.hosting._settings:HostingSettings"},
        check="mlplatform.hosting._backend:check",
        commands={"serve": "mlplatform.hosting._cli:serve", "jobs": "mlplatform.hosting._cli:jobs"},
    ),
)
