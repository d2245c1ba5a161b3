"""Exceptions of the data layer: each message says what is wrong, what was expected, what to do."""

from __future__ import annotations

from mlplatform._errors import MLPlatformError

__all__ = ["CommitConflictError", "DataError", "SchemaMismatchError", "TableNotFoundError"]


class DataError(MLPlatformError):
    """A data-layer operation cannot be done with the given input or state."""


class TableNotFoundError(DataError):
    """The named table does not exist in the catalog (the message lists the closest names)."""


class SchemaMismatchError(DataError):
    """Data does not match the table's schema (the message names the columns)."""


class CommitConflictError(DataError):
    """A commit lost to concurrent commits after Iceberg's optimistic retries were used up."""
