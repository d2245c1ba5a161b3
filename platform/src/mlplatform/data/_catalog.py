"""Catalogs and filesystems of the active profile.

Local profile: PyIceberg's ``SqlCatalog`` on SQLite with a ``file://`` warehouse under ``.mlp/``.
Production: any catalog PyIceberg supports (``rest`` by default) and S3 through pyarrow's
``S3FileSystem`` with a configurable endpoint.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow.fs as pafs
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import NoSuchNamespaceError

from mlplatform.config import Settings, load_settings

__all__ = ["filesystem", "get_catalog", "join_uri", "list_tables", "uri_to_path"]

logger = logging.getLogger(__name__)

CATALOG_NAME = "mlp"
_lock = threading.Lock()
_catalogs: dict[tuple[Any, ...], Catalog] = {}


def _catalog_key(settings: Settings) -> tuple[Any, ...]:
    return (
        settings.data.catalog,
        settings.data.catalog_uri,
        settings.data.warehouse,
        settings.storage.s3_endpoint_url,
        settings.storage.s3_region,
    )


def _io_properties(settings: Settings) -> dict[str, str]:
    properties = {"s3.region": settings.storage.s3_region}
    if settings.storage.s3_endpoint_url:
        properties["s3.endpoint"] = settings.storage.s3_endpoint_url
    return properties


def get_catalog(settings: Settings | None = None) -> Catalog:
    """Return the (cached) PyIceberg catalog of a profile.

    Args:
        settings: Resolved settings; default `load_settings()`.
    """
    settings = settings or load_settings()
    key = _catalog_key(settings)
    with _lock:
        catalog = _catalogs.get(key)
        if catalog is None:
            catalog = _open_catalog(settings)
            _catalogs[key] = catalog
        return catalog


def _open_catalog(settings: Settings) -> Catalog:
    properties = {
        "type": settings.data.catalog,
        "uri": settings.data.catalog_uri,
        "warehouse": settings.data.warehouse,
        **_io_properties(settings),
    }
    if settings.data.catalog == "sql":
        if settings.data.catalog_uri.startswith("sqlite:///"):
            Path(settings.data.catalog_uri.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
        if settings.data.warehouse.startswith("file://"):
            Path(uri_to_path(settings.data.warehouse)).mkdir(parents=True, exist_ok=True)
    logger.debug("opening %s catalog at %s", settings.data.catalog, settings.data.catalog_uri)
    return load_catalog(CATALOG_NAME, **properties)


def uri_to_path(uri: str) -> str:
    """The local path of a ``file://`` URI (a plain path is returned unchanged)."""
    if uri.startswith("file:"):
        return unquote(urlsplit(uri).path)
    return uri


@lru_cache(maxsize=16)
def _s3(endpoint: str | None, region: str) -> pafs.S3FileSystem:
    kwargs: dict[str, Any] = {"region": region}
    if endpoint:
        parts = urlsplit(endpoint)
        kwargs["endpoint_override"] = endpoint
        kwargs["scheme"] = parts.scheme or "https"
    return pafs.S3FileSystem(**kwargs)


def filesystem(uri: str, settings: Settings | None = None) -> tuple[pafs.FileSystem, str]:
    """Return the pyarrow filesystem for a URI or path and the path inside it.

    ``s3://`` uses the profile's endpoint and region; ``file://`` and plain paths are local.
    """
    if uri.startswith(("s3://", "s3a://")):
        settings = settings or load_settings()
        fs = _s3(settings.storage.s3_endpoint_url, settings.storage.s3_region)
        return fs, uri.split("://", 1)[1]
    return pafs.LocalFileSystem(), uri_to_path(uri)


def join_uri(base: str, *parts: str) -> str:
    """Join path segments onto a URI or path with ``/``."""
    return "/".join([base.rstrip("/"), *(part.strip("/") for part in parts)])


def list_tables(settings: Settings | None = None, namespace: str | None = None) -> list[str]:
    """Names (``namespace.name``) of the tables in the profile's catalog, sorted.

    Args:
        settings: Settings to use (default `load_settings()`).
        namespace: Only the tables of this namespace.
    """
    catalog = get_catalog(settings or load_settings())
    namespaces = [(namespace,)] if namespace else catalog.list_namespaces()
    names: list[str] = []
    for ns in namespaces:
        try:
            identifiers = catalog.list_tables(ns)
        except NoSuchNamespaceError:
            continue
        names.extend(".".join(identifier) for identifier in identifiers)
    return sorted(names)
