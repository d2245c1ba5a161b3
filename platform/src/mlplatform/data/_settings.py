"""Settings of the data layer: the Iceberg catalog, where table files go, read concurrency."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field

from mlplatform.config import ProfileDefaults, Settings, SettingsSection

__all__ = ["CATALOG_TYPES", "DataSettings"]

CatalogType = Literal["sql", "rest", "glue", "hive"]
CATALOG_TYPES: tuple[str, ...] = CatalogType.__args__


class DataSettings(SettingsSection):
    """The Iceberg catalog behind `mlplatform.data.Table` (``[<profile>.data]``)."""

    profile_defaults: ClassVar[ProfileDefaults] = {"production": {"catalog": "rest"}}

    catalog: CatalogType = "sql"
    """PyIceberg catalog type: ``sql`` (SQLite locally), ``rest``, ``glue`` or ``hive``."""
    catalog_uri: str | None = None
    """Local: a SQLite URL under the state folder by default. Production: the REST catalog."""
    warehouse: str | None = None
    """Where new tables' files go; default ``<home>/warehouse`` or ``<s3_root>/warehouse``."""
    read_threads: int = Field(default=8, ge=1, le=256)
    """Files fetched and decoded concurrently by `DataFrame.load`."""
    max_bytes_in_flight: int = Field(default=512 * 1024 * 1024, ge=1)
    """Upper bound on fetched-but-not-yet-decoded Parquet bytes during a load."""

    def required(self, settings: Settings) -> list[tuple[str, str]]:
        if not self.catalog_uri and (settings.profile == "production" or self.catalog != "sql"):
            return [("catalog_uri", "the Iceberg catalog URI (a REST catalog's URL in production)")]
        return []

    def resolved(self, settings: Settings) -> Self:
        catalog_uri = self.catalog_uri or f"sqlite:///{settings.home / 'catalog.db'}"
        warehouse = self.warehouse
        if not warehouse:
            if settings.profile == "production":
                warehouse = f"{settings.storage.s3_root}/warehouse"
            else:
                warehouse = (settings.home / "warehouse").as_uri()
        return self.model_copy(update={"catalog_uri": catalog_uri, "warehouse": warehouse})
