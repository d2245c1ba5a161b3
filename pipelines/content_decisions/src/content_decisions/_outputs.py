"""Where a ``@project`` branch writes: one table namespace and one cache namespace.

Production (``prod``) writes the shared ``content.*`` tables and the ``content.slate`` cache
namespace; any other branch (``user.alice``, ``test.x``, ``prod.x``) writes
``content_<branch>.*``, so a user's runs never touch production's outputs. Light (names
only, Arrow on use): an `Outputs` is an artifact every step unpickles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PRODUCTION_BRANCH", "Outputs"]

PRODUCTION_BRANCH = "prod"
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Outputs:
    """Where one ``@project`` branch writes: its table namespace and cache namespace.

    Attributes:
        branch: The branch (``prod``, ``user.alice``, ``test.x``, ...).
        namespace: ``content`` for production, ``content_<branch>`` otherwise.
    """

    branch: str
    namespace: str

    @classmethod
    def for_branch(cls, branch: str | None) -> Outputs:
        """The outputs of ``branch`` (None, a run without ``@project``: a local namespace)."""
        if branch == PRODUCTION_BRANCH:
            return cls(branch, "content")
        slug = _SLUG.sub("_", (branch or "local").lower()).strip("_")
        return cls(branch or "local", f"content_{slug}")

    @property
    def is_production(self) -> bool:
        """Whether these are the shared production outputs."""
        return self.branch == PRODUCTION_BRANCH

    @property
    def aggregates(self) -> str:
        """Daily viewing per date x region x title."""
        return f"{self.namespace}.viewing_region_daily"

    @property
    def ledger(self) -> str:
        """One row per day processed: its content fingerprint and the run."""
        return f"{self.namespace}.processed_dates"

    @property
    def forecast(self) -> str:
        """Demand forecast per as-of date x region x title."""
        return f"{self.namespace}.demand_forecast"

    @property
    def values(self) -> str:
        """Value and cost per as-of date x region x title."""
        return f"{self.namespace}.title_value"

    @property
    def slate(self) -> str:
        """The chosen titles per as-of date x region (``content.slate`` in production)."""
        return f"{self.namespace}.slate"

    @property
    def cache_namespace(self) -> str:
        """The cache namespace of the published slates (``content.slate`` in production)."""
        return self.slate

    def tables(self) -> dict[str, str]:
        """Every output table name, by role."""
        return {
            "aggregates": self.aggregates,
            "ledger": self.ledger,
            "forecast": self.forecast,
            "values": self.values,
            "slate": self.slate,
        }

    def create_tables(self) -> None:
        """Create every output table that is missing (before tasks stage files)."""
        from content_decisions._schemas import (
            AGGREGATE_SCHEMA,
            FORECAST_SCHEMA,
            LEDGER_SCHEMA,
            SLATE_SCHEMA,
            VALUE_SCHEMA,
        )
        from mlplatform.data import Table

        specs = {
            self.aggregates: (AGGREGATE_SCHEMA, ["date"]),
            self.ledger: (LEDGER_SCHEMA, []),
            self.forecast: (FORECAST_SCHEMA, ["as_of_date"]),
            self.values: (VALUE_SCHEMA, ["as_of_date"]),
            self.slate: (SLATE_SCHEMA, ["as_of_date"]),
        }
        for name, (schema, partition_by) in specs.items():
            Table(name).create(schema, partition_by=partition_by, exist_ok=True)
