"""`Cache`: a namespace of the online key-value store, with atomic generations."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mlplatform._metaflow import current_task
from mlplatform.cache import _codec
from mlplatform.cache._backend import (
    CacheBackend,
    GenerationInfo,
    Item,
    check_generation,
    check_key,
    check_namespace,
    check_ttl,
    open_backend,
)
from mlplatform.cache._errors import (
    CacheError,
    GenerationError,
    InvalidKeyError,
    UnsupportedValueError,
)
from mlplatform.cache._settings import CacheSettings

if TYPE_CHECKING:
    from mlplatform.config import Settings

__all__ = ["Cache", "CacheWriter", "list_namespaces"]

logger = logging.getLogger(__name__)

WRITE_BATCH = 2000
# Direct writes go to the backend in atomic batches of this many items.
PUT_BATCH = 10_000


def _resolve_backend(
    backend: CacheBackend | str | None, settings: Settings | None
) -> tuple[CacheBackend, bool, Settings | None]:
    if isinstance(backend, CacheBackend):
        return backend, False, settings
    if settings is None:
        from mlplatform.config import load_settings

        settings = load_settings()
    return open_backend(backend or settings.cache.backend, settings), True, settings


def new_generation_id() -> str:
    """A fresh generation id: UTC time (sortable) and 8 random hex digits."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


def _items(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Iterable[tuple[str, Any]]:
    if isinstance(items, Mapping):
        return items.items()
    return items


def _encode_items(
    items: Mapping[str, Any] | Iterable[tuple[str, Any]], ttl: float | None, method: str
) -> list[Item]:
    ttl = check_ttl(ttl)
    encode = _codec.encode
    try:
        return [(check_key(key), encode(value), ttl) for key, value in _items(items)]
    except (TypeError, ValueError) as error:
        if isinstance(error, InvalidKeyError | UnsupportedValueError):
            raise
        raise InvalidKeyError(
            f"{method} expects a mapping of key -> value or an iterable of (key, value) pairs; "
            f"got {type(items).__qualname__} ({error})"
        ) from None


class Cache:
    """One namespace of the online key-value store.

    Readers see the namespace's *current generation*. A batch job writes a new generation
    with `writer` (from many tasks, in parallel) and switches readers to it with `publish`,
    atomically: a reader sees the whole previous batch or the whole new one, never a mix,
    and a failed batch leaves the published one untouched. `put`/`delete` change the
    current generation directly (creating a first one if the namespace has none).

    Example:
        >>> cache = Cache("titles")
        >>> gen = cache.new_generation()           # a string: keep it as a Metaflow artifact
        >>> with cache.writer(gen) as writer:       # in each foreach task
        ...     writer.put_many({"t1": {"score": 0.9}})
        >>> cache.publish(gen)                       # in the join step
        >>> cache.get("t1")
        {'score': 0.9}

    Args:
        namespace: Name of the namespace (letters, digits, ``_ . -``).
        backend: A backend instance, or a backend name (``sqlite``, ``redis``); default the
            profile's ``cache.backend``.
        settings: Settings to open the backend with; default `load_settings()`.
        keep_generations: Previous generations kept for `rollback`; default the profile's
            ``cache.keep_generations``.
    """

    def __init__(
        self,
        namespace: str,
        *,
        backend: CacheBackend | str | None = None,
        settings: Settings | None = None,
        keep_generations: int | None = None,
    ) -> None:
        self.namespace = check_namespace(namespace)
        self.backend, self._owns_backend, settings = _resolve_backend(backend, settings)
        if keep_generations is None:
            keep_generations = (settings.cache if settings else CacheSettings()).keep_generations
        if (
            isinstance(keep_generations, bool)
            or not isinstance(keep_generations, int)
            or (keep_generations < 0)
        ):
            raise InvalidKeyError(
                f"keep_generations must be an int >= 0 (previous generations kept for "
                f"rollback), got {keep_generations!r}"
            )
        self.keep_generations = keep_generations

    def __repr__(self) -> str:
        return f"Cache({self.namespace!r}, backend={self.backend.describe()!r})"

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the backend's connections if this `Cache` opened them."""
        if self._owns_backend:
            self.backend.close()

    # -- reading ---------------------------------------------------------------------------

    def _where(self, key: str) -> str:
        return f"key {key!r} of cache namespace {self.namespace!r}"

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` in the current generation, or ``default`` if it is missing.

        A key missing from the current generation is missing, even if an older generation
        had it. Expired keys are missing.

        Raises:
            CorruptValueError: The stored value has an unknown or damaged header.
            CacheUnavailableError: The backend does not answer within its timeout.
        """
        blob = self.backend.read_one(self.namespace, check_key(key))
        if blob is None:
            return default
        return _codec.decode(blob, self._where(key))

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Values of ``keys`` that are present, all read from the same generation.

        Returns:
            A dict of the keys found (missing and expired keys are left out).
        """
        keys = [check_key(key) for key in keys]
        blobs = self.backend.read_many(self.namespace, keys)
        return {key: _codec.decode(blob, self._where(key)) for key, blob in blobs.items()}

    def scan(self, prefix: str = "", *, batch_size: int = 1000) -> Iterator[tuple[str, Any]]:
        """Yield ``(key, value)`` for keys starting with ``prefix``, in key order.

        The scan reads one generation from start to end: the one current when it starts,
        whatever is published meanwhile (it is held back from collection while the scan is
        open), in pages of ``batch_size`` keys. Never a partial result: on Redis, a scan that
        pauses between two pages for longer than its lease (60 s) while that generation is
        collected raises GenerationError instead.
        """
        if not isinstance(prefix, str):
            raise InvalidKeyError(f"scan prefix must be a str, got {type(prefix).__qualname__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidKeyError(f"scan batch_size must be an int >= 1, got {batch_size!r}")
        for key, blob in self.backend.scan(self.namespace, prefix, batch_size):
            yield key, _codec.decode(blob, self._where(key))

    def keys(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix`` in the current generation, sorted."""
        return [key for key, _ in self.backend.scan(self.namespace, prefix, 1000)]

    # -- writing the current generation ----------------------------------------------------

    def put(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` in the current generation.

        Args:
            key: Non-empty str.
            value: JSON-able object, bytes, numpy array or Arrow data (a pyarrow Table or
                RecordBatch, or anything with ``__arrow_c_stream__`` such as a polars or
                pandas DataFrame; it comes back as a pyarrow Table).
            ttl: Seconds until the key expires; None uses the namespace's TTL (if any),
                ``math.inf`` never expires.
        """
        self.put_many(((key, value),), ttl=ttl)

    def put_many(
        self, items: Mapping[str, Any] | Iterable[tuple[str, Any]], *, ttl: float | None = None
    ) -> int:
        """Store many values in the current generation; returns how many.

        Each batch of 10,000 items is written atomically. For all-or-nothing updates of a
        whole batch, write a generation and `publish` it.
        """
        encoded = _encode_items(items, ttl, "put_many")
        for start in range(0, len(encoded), PUT_BATCH):
            batch = encoded[start : start + PUT_BATCH]
            self.backend.write_current(self.namespace, batch, new_generation_id())
        return len(encoded)

    def add(self, key: str, value: Any, *, ttl: float | None = None) -> bool:
        """Store ``value`` under ``key`` only if the key is absent (or expired), atomically.

        Of several processes adding the same key at once, exactly one succeeds: a claim,
        a once-only marker, an idempotency key.

        Returns:
            True if this call stored it; False if the key was already there (unchanged).
        """
        return self.add_many(((key, value),), ttl=ttl)[0]

    def add_many(
        self, items: Mapping[str, Any] | Iterable[tuple[str, Any]], *, ttl: float | None = None
    ) -> list[bool]:
        """`add` for many keys at once: each batch of 10,000 items in one atomic step.

        One commit for many claims (a service accepting the jobs that arrived together).
        Items are taken in order: of two with the same key, the first is stored.

        Returns:
            For each item, in order, True if this call stored it.
        """
        encoded = _encode_items(items, ttl, "add_many")
        added: list[bool] = []
        for start in range(0, len(encoded), PUT_BATCH):
            batch = encoded[start : start + PUT_BATCH]
            added += self.backend.add_current(self.namespace, batch, new_generation_id())
        return added

    def delete(self, key: str) -> bool:
        """Delete ``key`` from the current generation; True if it was there."""
        return self.backend.delete_current(self.namespace, [check_key(key)]) > 0

    @property
    def namespace_ttl(self) -> float | None:
        """Default TTL in seconds for values written without one (None: never expire)."""
        return self.backend.namespace_ttl(self.namespace)

    def set_namespace_ttl(self, ttl: float | None) -> None:
        """Set the namespace's default TTL (None clears it). Applies to values written later."""
        self.backend.set_namespace_ttl(self.namespace, check_ttl(ttl))

    # -- generations -----------------------------------------------------------------------

    def new_generation(self, *, run_id: str | None = None) -> str:
        """Start a new, invisible generation and return its id.

        The id is a plain string: pass it to foreach tasks as a Metaflow artifact, write with
        `writer`, then `publish` it once.

        Args:
            run_id: Who writes it; default ``Flow/run_id`` of the running Metaflow task.
        """
        generation = new_generation_id()
        task = current_task()
        run_id = run_id or (task.run_pathspec if task else None)
        self.backend.create_generation(self.namespace, generation, time.time(), run_id)
        logger.info("cache %s: new generation %s", self.namespace, generation)
        return generation

    def writer(self, generation: str, *, batch_size: int = WRITE_BATCH) -> CacheWriter:
        """A writer into the open ``generation``; use it as a context manager.

        Raises:
            GenerationError: The generation does not exist or is already published.
        """
        generation = check_generation(generation)
        # An empty write checks, atomically, that the generation exists and is open.
        self.backend.write_generation(self.namespace, generation, [])
        return CacheWriter(self, generation, batch_size)

    def publish(self, generation: str) -> GenerationInfo:
        """Make ``generation`` the current one, atomically, and collect old generations.

        The replaced generation and up to ``keep_generations`` - 1 before it stay for
        `rollback`; older ones are deleted.

        Publishing the generation that is already current does nothing (so a retried
        Metaflow step may publish again).

        Returns:
            The metadata of the now current generation.

        Raises:
            GenerationError: The generation does not exist, or was published before and
                replaced since (use `rollback` to return to it).
        """
        generation = check_generation(generation)
        if self.backend.current(self.namespace) == generation:
            # A retried join step publishes again: a no-op, not an error.
            logger.info("cache %s: generation %s is already current", self.namespace, generation)
            return self.generation_info(generation)
        collected = self.backend.publish(
            self.namespace, generation, time.time(), self.keep_generations
        )
        self._collect()
        info = self.generation_info(generation)
        logger.info(
            "cache %s: published generation %s (%d keys)%s",
            self.namespace,
            generation,
            info.key_count,
            f", collected {collected}" if collected else "",
        )
        return info

    def rollback(self, to: str | None = None) -> GenerationInfo:
        """Make a previous generation current again and delete the newer ones.

        Args:
            to: A previous generation to return to; default the latest previous one.

        Returns:
            The metadata of the now current generation.

        Raises:
            GenerationError: No previous generation is kept, or ``to`` is not one of them.
        """
        if to is not None:
            check_generation(to)
        target, replaced, _ = self.backend.rollback(self.namespace, to)
        self._collect()
        logger.warning("cache %s: rolled back from %s to %s", self.namespace, replaced, target)
        return self.generation_info(target)

    def discard(self, generation: str) -> None:
        """Delete an open (never published) generation, e.g. of a failed run."""
        self.backend.discard(self.namespace, check_generation(generation))
        self._collect()

    def _collect(self) -> None:
        # The pointer already moved; a failed clean-up only leaves garbage for the next one.
        try:
            self.backend.collect(self.namespace)
        except CacheError as error:
            logger.warning(
                "cache %s: could not delete old generations yet (%s); the next publish, "
                "rollback or discard retries",
                self.namespace,
                error,
            )

    def current_generation(self) -> str | None:
        """The id of the generation readers see, or None if nothing was published."""
        return self.backend.current(self.namespace)

    def generations(self) -> list[GenerationInfo]:
        """Open, current and previous generations of the namespace, newest first."""
        return self.backend.generations(self.namespace)

    def generation_info(self, generation: str) -> GenerationInfo:
        """Metadata of one generation.

        Raises:
            GenerationError: It does not exist (or was collected).
        """
        for info in self.generations():
            if info.id == generation:
                return info
        raise GenerationError(
            f"generation {generation!r} does not exist in namespace {self.namespace!r}"
        )


class CacheWriter:
    """Writes into one open generation in batches. Get one from `Cache.writer`.

    Values are buffered and written every ``batch_size`` items and on `flush`/`close`; each
    batch is atomic. Leaving a ``with`` block by an exception drops the unwritten buffer
    (the generation stays open and invisible; a retried task simply writes again).
    """

    def __init__(self, cache: Cache, generation: str, batch_size: int = WRITE_BATCH) -> None:
        self.cache = cache
        self.generation = generation
        self.batch_size = max(1, batch_size)
        self.written = 0
        self._buffer: list[Item] = []

    def __enter__(self) -> CacheWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.flush()
        else:
            self._buffer.clear()

    def put(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        """Buffer one value for the generation (see `Cache.put` for ``ttl``)."""
        self._buffer.append((check_key(key), _codec.encode(value), check_ttl(ttl)))
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def put_many(
        self, items: Mapping[str, Any] | Iterable[tuple[str, Any]], *, ttl: float | None = None
    ) -> int:
        """Buffer many values; returns how many."""
        encoded = _encode_items(items, ttl, "put_many")
        self._buffer.extend(encoded)
        if len(self._buffer) >= self.batch_size:
            self.flush()
        return len(encoded)

    def flush(self) -> None:
        """Write the buffered values.

        Raises:
            GenerationError: The generation was published or discarded meanwhile; nothing of
                this batch is written.
        """
        buffer, self._buffer = self._buffer, []
        for start in range(0, len(buffer), self.batch_size):
            batch = buffer[start : start + self.batch_size]
            self.cache.backend.write_generation(self.cache.namespace, self.generation, batch)
            self.written += len(batch)

    close = flush


def list_namespaces(
    *, backend: CacheBackend | str | None = None, settings: Settings | None = None
) -> list[str]:
    """Namespaces of the profile's cache (or of ``backend``) that hold a generation."""
    opened, owned, _ = _resolve_backend(backend, settings)
    try:
        return opened.namespaces()
    finally:
        if owned:
            opened.close()
