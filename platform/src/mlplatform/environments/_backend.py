"""The registry seam: where names point at locks. One module per backend.

``local`` keeps names and locks in SQLite in the state folder; ``s3`` keeps them as objects
under ``storage.s3_root/environments`` so that a pod can fetch a named environment's lock.
Built environments are not in the registry: any machine rebuilds one from its lock.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from mlplatform._backend import Backend
from mlplatform._loader import lookup
from mlplatform.environments._errors import UnknownBackendError

if TYPE_CHECKING:
    from mlplatform._checks import CheckResult
    from mlplatform.config import Settings
    from mlplatform.environments._names import EnvironmentName
    from mlplatform.environments._spec import Lock

__all__ = ["BACKENDS", "EnvironmentRegistry", "RegisteredEnvironment", "check", "open_registry"]

BACKENDS: dict[str, str] = {
    "local": "mlplatform.environments._local:LocalRegistry",
    "s3": "mlplatform.environments._s3:S3Registry",
}


@dataclass(frozen=True)
class RegisteredEnvironment:
    """One name:tag of the registry.

    Attributes:
        name: ``team/project/name``.
        tag: The tag.
        lock_hash: The lock it points at.
        registered: When it was (last) pointed there (UTC).
    """

    name: str
    tag: str
    lock_hash: str
    registered: datetime

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}"


class EnvironmentRegistry(Backend):
    """Names and locks. Locks are immutable and stored by hash; names point at them."""

    @abstractmethod
    def put_lock(self, lock: Lock) -> None:
        """Store a lock under its hash (storing it again changes nothing)."""

    @abstractmethod
    def get_lock(self, lock_hash: str) -> Lock | None:
        """The lock with this hash, or None."""

    @abstractmethod
    def set_tag(self, name: EnvironmentName, lock_hash: str, now: float) -> str | None:
        """Point ``name`` at a stored lock, atomically.

        ``latest`` always moves. Any other tag is set only if it is new; if it exists, it is
        left as it is and the hash it points at is returned (equal to ``lock_hash`` for an
        idempotent repeat), so the caller can refuse a re-tag.

        Returns:
            None when the tag was set, else the hash the existing tag points at.
        """

    @abstractmethod
    def get_tag(self, name: EnvironmentName) -> RegisteredEnvironment | None:
        """What ``name`` points at, or None."""

    @abstractmethod
    def entries(self) -> list[RegisteredEnvironment]:
        """Every name:tag, sorted by name and tag."""


def backend_class(name: str) -> type[EnvironmentRegistry]:
    """The class of the registry backend called ``name`` (``local`` or ``s3``).

    Raises:
        UnknownBackendError: No backend has that name; the message lists the valid names.
    """
    return lookup(
        BACKENDS,
        name,
        what="environments backend",
        setting="environments.backend",
        error=UnknownBackendError,
    )


def open_registry(settings: Settings) -> EnvironmentRegistry:
    """The registry the profile names (``environments.backend``)."""
    return backend_class(settings.environments.backend).from_settings(settings)


def check(settings: Settings) -> list[CheckResult]:
    """``mlp doctor``: the registry, and uv."""
    from mlplatform._checks import CheckResult
    from mlplatform.environments._errors import EnvironmentBuildError
    from mlplatform.environments._uv import uv_binary

    results = [backend_class(settings.environments.backend).check(settings)]
    try:
        results.append(CheckResult("environment builds", "uv", "ok", uv_binary()))
    except EnvironmentBuildError as error:
        results.append(CheckResult("environment builds", "uv", "missing", str(error)))
    return results
