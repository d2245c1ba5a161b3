"""The data layer's backends: the Iceberg catalog types, and what ``mlp doctor`` checks.

PyIceberg is the seam for catalogs (``data.catalog`` is PyIceberg's catalog type); this
module knows how to check each type is reachable, and where the warehouse is usable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlplatform._checks import (
    CheckResult,
    Status,
    http_probe,
    sqlite_probe,
    tcp_probe,
    writable_folder_probe,
)

if TYPE_CHECKING:
    from mlplatform.config import Settings

__all__ = ["check"]


def _sql_catalog(settings: Settings) -> tuple[Status, str]:
    uri = str(settings.data.catalog_uri)
    if uri.startswith("sqlite:///"):
        return sqlite_probe(Path(uri.removeprefix("sqlite:///")))
    return tcp_probe(uri, 5432)  # a SQLAlchemy URL of a database server


def _glue_catalog(settings: Settings) -> tuple[Status, str]:
    return tcp_probe(f"https://glue.{settings.storage.s3_region}.amazonaws.com", 443)


# Catalog type -> how to check it (types are PyIceberg's; see DataSettings.catalog).
CATALOG_CHECKS: dict[str, Callable[[Settings], tuple[Status, str]]] = {
    "sql": _sql_catalog,
    "rest": lambda settings: http_probe(f"{settings.data.catalog_uri}/v1/config"),
    "glue": _glue_catalog,
    "hive": lambda settings: tcp_probe(str(settings.data.catalog_uri), 9083),
}


def check(settings: Settings) -> list[CheckResult]:
    """``mlp doctor``: the catalog the profile names, and a local warehouse folder."""
    catalog = settings.data.catalog
    results = [CheckResult("data catalog", catalog, *CATALOG_CHECKS[catalog](settings))]
    warehouse = str(settings.data.warehouse)
    if warehouse.startswith("file://"):
        from mlplatform.data._catalog import uri_to_path

        results.append(
            CheckResult(
                "data warehouse", "file", *writable_folder_probe(Path(uri_to_path(warehouse)))
            )
        )
    return results
