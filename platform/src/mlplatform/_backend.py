"""The shape every layer's backends share: opened from settings, described, checked, closed.

Each layer with backends has, in ``mlplatform/<layer>/_backend.py``, a base class derived
from `Backend` with the layer's own operations, and a table ``BACKENDS = {"short name":
"module:Class"}``; one module per backend implements it. The profile names the backend
(``cache.backend = "redis"``); `mlplatform._loader.lookup` imports it on first use and
refuses an unknown name with the list of valid ones.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Self

if TYPE_CHECKING:
    from mlplatform._checks import CheckResult
    from mlplatform.config import Settings

__all__ = ["Backend"]


class Backend(ABC):
    """A backend of a layer (the SQLite cache, the Argo Events webhook, ...).

    Attributes:
        name: The short name the profile selects it by (its key in the layer's BACKENDS).
    """

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Open the backend the settings describe.

        Raises:
            ConfigError: A setting the backend needs is missing or malformed.
        """

    @classmethod
    @abstractmethod
    def check(cls, settings: Settings) -> CheckResult:
        """Whether the backend the settings describe is usable (``mlp doctor``); cheap, no
        side effects beyond creating the local state the backend owns."""

    def describe(self) -> str:
        """Where the backend keeps its data, for messages and the CLI."""
        return self.name

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release connections."""
