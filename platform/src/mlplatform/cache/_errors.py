"""Exceptions of the cache layer; all derive from `CacheError` (an `MLPlatformError`)."""

from __future__ import annotations

from mlplatform._errors import MLPlatformError


class CacheError(MLPlatformError):
    """Base class of every error the cache layer raises on purpose."""


class UnknownBackendError(CacheError, ValueError):
    """A cache backend name that does not exist was asked for."""


class CacheUnavailableError(CacheError):
    """The backend cannot be reached or did not answer within the configured timeout."""


class InvalidKeyError(CacheError, ValueError):
    """A namespace, key, TTL or generation id is malformed."""


class UnsupportedValueError(CacheError, TypeError):
    """A value cannot be stored: it is not JSON-able, bytes, a numpy array or Arrow data."""


class CorruptValueError(CacheError):
    """A stored value has an unknown or damaged header, or a body that does not decode."""


class GenerationError(CacheError):
    """A generation does not exist or is in the wrong state for the operation."""
