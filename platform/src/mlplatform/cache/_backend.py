"""The backend seam: one abstract class, one module per backend, looked up by short name."""

from __future__ import annotations

import math
import re
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from mlplatform._backend import Backend
from mlplatform._loader import lookup
from mlplatform.cache._errors import GenerationError, InvalidKeyError, UnknownBackendError

if TYPE_CHECKING:
    from mlplatform._checks import CheckResult
    from mlplatform.config import Settings

# Short name -> "module:class"; imported only when asked for.
BACKENDS: dict[str, str] = {
    "sqlite": "mlplatform.cache._sqlite:SQLiteBackend",
    "redis": "mlplatform.cache._redis:RedisBackend",
}

GenerationStatus = Literal["open", "current", "previous"]
# One item to write: key, encoded value, TTL in seconds (None: the namespace's default TTL;
# math.inf: never expires).
Item = tuple[str, bytes, float | None]

_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_GENERATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
MAX_KEY_LENGTH = 1024


@dataclass(frozen=True)
class GenerationInfo:
    """Metadata of one generation of a namespace.

    Attributes:
        id: The generation id (a string, safe to keep as a Metaflow artifact).
        namespace: The namespace it belongs to.
        status: ``open`` (being written, not visible), ``current`` (what readers see) or
            ``previous`` (published before, kept for `Cache.rollback`).
        created: When `Cache.new_generation` made it (UTC).
        published: When it was published (UTC), or None while open.
        writer_run_id: The Metaflow run (``Flow/run_id``) or caller that created it, if known.
        key_count: Keys stored in it (expired ones not yet removed included): counted now
            for the open and the current generation, at publish time for previous ones
            (which no longer change).
    """

    id: str
    namespace: str
    status: GenerationStatus
    created: datetime
    published: datetime | None
    writer_run_id: str | None
    key_count: int


class CacheBackend(Backend):
    """Storage for namespaced, generation-versioned values.

    Every namespace has at most one *current* generation (a pointer). Reads resolve the
    pointer and read the values in one atomic step, so a reader never mixes generations.
    Backends store opaque bytes; `Cache` encodes and validates.
    """

    @abstractmethod
    def read_one(self, namespace: str, key: str) -> bytes | None:
        """The value of ``key`` in the current generation, or None."""

    @abstractmethod
    def read_many(self, namespace: str, keys: Sequence[str]) -> dict[str, bytes]:
        """Values of the present ``keys``, all read from one generation."""

    @abstractmethod
    def scan(self, namespace: str, prefix: str, batch_size: int) -> Iterator[tuple[str, bytes]]:
        """Keys starting with ``prefix`` and their values, in key order, from the generation
        that is current when the scan starts."""

    @abstractmethod
    def write_current(self, namespace: str, items: Sequence[Item], new_generation: str) -> str:
        """Write into the current generation; if there is none, create ``new_generation``,
        make it current and write into it, atomically. Returns the generation written."""

    @abstractmethod
    def add_current(self, namespace: str, items: Sequence[Item], new_generation: str) -> list[bool]:
        """Write each item into the current generation (created as for `write_current`) only
        if its key is absent or expired, all in one atomic step, in order (of two items with
        one key the first is written); for each item, True if it was written."""

    @abstractmethod
    def delete_current(self, namespace: str, keys: Sequence[str]) -> int:
        """Delete keys from the current generation; returns how many existed."""

    @abstractmethod
    def create_generation(
        self, namespace: str, generation: str, created: float, run_id: str | None
    ) -> None:
        """Register a new open generation."""

    @abstractmethod
    def write_generation(self, namespace: str, generation: str, items: Sequence[Item]) -> None:
        """Write into an open generation (atomically per call).

        Raises:
            GenerationError: It does not exist or is not open.
        """

    @abstractmethod
    def publish(self, namespace: str, generation: str, now: float, keep: int) -> list[str]:
        """Make an open generation current in one atomic step, keep ``keep`` previous ones
        and mark older ones for collection; returns the generations marked."""

    @abstractmethod
    def rollback(self, namespace: str, to: str | None) -> tuple[str, str, list[str]]:
        """Make a previous generation current again (the latest, or ``to``). Returns the new
        current, the one it replaced, and the generations marked for collection (the
        replaced one and any published after ``to``)."""

    @abstractmethod
    def discard(self, namespace: str, generation: str) -> None:
        """Mark an open (never published) generation for collection."""

    @abstractmethod
    def collect(self, namespace: str) -> int:
        """Delete the data of generations marked for collection; returns how many."""

    @abstractmethod
    def current(self, namespace: str) -> str | None:
        """The current generation of the namespace, if any."""

    @abstractmethod
    def generations(self, namespace: str) -> list[GenerationInfo]:
        """Open, current and previous generations, newest first."""

    @abstractmethod
    def count(self, namespace: str, generation: str) -> int:
        """Entries stored for ``generation`` (expired ones not yet removed included)."""

    @abstractmethod
    def namespaces(self) -> list[str]:
        """Namespaces that have at least one generation, sorted."""

    @abstractmethod
    def namespace_ttl(self, namespace: str) -> float | None:
        """The namespace's default TTL in seconds, or None."""

    @abstractmethod
    def set_namespace_ttl(self, namespace: str, ttl: float | None) -> None:
        """Set (or with None, clear) the default TTL for values written without one."""


def backend_names() -> list[str]:
    """The short names of the available cache backends."""
    return sorted(BACKENDS)


def backend_class(name: str) -> type[CacheBackend]:
    """The class of the cache backend called ``name`` (``sqlite`` or ``redis``).

    Raises:
        UnknownBackendError: No backend has that name; the message lists the valid names.
    """
    return lookup(
        BACKENDS, name, what="cache backend", setting="cache.backend", error=UnknownBackendError
    )


def open_backend(name: str, settings: Settings) -> CacheBackend:
    """Import and open the backend called ``name``; see `backend_class`."""
    return backend_class(name).from_settings(settings)


def check(settings: Settings) -> list[CheckResult]:
    """``mlp doctor``: whether the profile's cache backend is usable."""
    return [backend_class(settings.cache.backend).check(settings)]


def check_namespace(namespace: object) -> str:
    """Return ``namespace`` if it is a valid namespace name, else raise InvalidKeyError."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise InvalidKeyError(
            f"invalid cache namespace {namespace!r}: expected 1-128 characters of letters, "
            "digits, '_', '.', '-', starting with a letter or digit (e.g. 'perf_viz.daily')"
        )
    return namespace


def check_generation(generation: object) -> str:
    """Return ``generation`` if it is shaped like a generation id, else raise InvalidKeyError."""
    if not isinstance(generation, str) or not _GENERATION.fullmatch(generation):
        raise InvalidKeyError(
            f"invalid generation id {generation!r}: expected the string returned by "
            "Cache.new_generation() (1-64 letters, digits, '_', '.', '-')"
        )
    return generation


def check_key(key: object) -> str:
    """Return ``key`` if it is a valid key, else raise InvalidKeyError."""
    if type(key) is str and 0 < len(key) <= MAX_KEY_LENGTH and "\x00" not in key:
        return key
    if not isinstance(key, str):
        problem = f"a {type(key).__qualname__}"
    elif not key:
        problem = "empty"
    elif len(key) > MAX_KEY_LENGTH:
        problem = f"{len(key)} characters long"
    else:
        problem = "contains a NUL character"
    raise InvalidKeyError(
        f"invalid cache key {key!r:.80}: it is {problem}; expected a non-empty str of at most "
        f"{MAX_KEY_LENGTH} characters without NUL"
    )


def check_ttl(ttl: object) -> float | None:
    """Return ``ttl`` as float seconds (None and math.inf pass), else raise InvalidKeyError."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or math.isnan(ttl) or ttl <= 0:
        raise InvalidKeyError(
            f"invalid TTL {ttl!r}: expected a positive number of seconds, math.inf for "
            "'never expires', or None for the namespace's default"
        )
    return float(ttl)


def rollback_target(namespace: str, previous: list[str], to: str | None) -> str:
    """Pick the generation to roll back to among the previous ones (newest first)."""
    if not previous:
        raise GenerationError(
            f"namespace {namespace!r} keeps no previous generation to roll back to "
            "(none was published before the current one, or cache.keep_generations is 0)"
        )
    if to is None:
        return previous[0]
    if to not in previous:
        raise GenerationError(
            f"cannot roll namespace {namespace!r} back to {to!r}: it is not a previous "
            f"generation kept for rollback; kept are {previous} (newest first)"
        )
    return to
