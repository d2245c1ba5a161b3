"""The assets table ``media.assets``: one row per asset version, objects stored beside it.

Rows are appended, never rewritten: registering new content for an asset adds a row with the
next version, and the asset's current version is its highest. Objects are written before the
row that names them is committed, so a reader never sees a row whose objects are missing.
After each registration an event (``media_assets_landed``, with the new snapshot id) tells
the backfill flow that new assets have landed. In the local profile a missing table is seeded
with the generated sample assets.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from media_features._config import MediaFeaturesConfig
from media_features._errors import UnknownAssetError
from media_features._objects import ObjectRef, ObjectStore, encode_source
from media_features._registry import SOURCES
from media_features._sample import AssetContent, generate_assets

__all__ = [
    "ASSETS_SCHEMA",
    "LANDED_EVENT",
    "AssetIndex",
    "AssetRecord",
    "ensure_assets",
    "load_assets",
    "register_assets",
]

logger = logging.getLogger(__name__)

LANDED_EVENT = "media_assets_landed"
"""Published after new assets (or versions) are registered; it triggers the backfill."""

ASSETS_SCHEMA = pa.schema(
    [
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("asset_version", pa.int64(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("genre", pa.string()),
        pa.field("n_frames", pa.int32()),
        pa.field("frame_height", pa.int32()),
        pa.field("frame_width", pa.int32()),
        pa.field("fps", pa.float32()),
        pa.field("audio_sample_rate", pa.int32()),
        pa.field("duration_s", pa.float32()),
        *(
            pa.field(f"{source}_{part}", pa.string())
            for source in SOURCES
            for part in ("uri", "sha256")
        ),
        pa.field("registered_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class AssetRecord:
    """One asset version as the table lists it."""

    asset_id: str
    asset_version: int
    title: str
    genre: str
    n_frames: int
    objects: dict[str, ObjectRef]

    def describe(self, source: str | None = None) -> str:
        """``asset-0003 v1`` (and the source), for messages."""
        name = f"{self.asset_id} v{self.asset_version}"
        return f"{name} {source}" if source else name


def _store_objects(
    content: AssetContent, version: int, objects: ObjectStore
) -> dict[str, ObjectRef]:
    values = {
        "frames": content.frames,
        "audio": content.audio,
        "synopsis": content.synopsis,
        "artwork": content.artwork,
    }
    extension = {"frames": "npz", "audio": "npz", "synopsis": "txt", "artwork": "npz"}
    return {
        source: objects.put(
            objects.uri_for(content.asset_id, f"v{version}", f"{source}.{extension[source]}"),
            encode_source(source, value),
        )
        for source, value in values.items()
    }


def _row(content: AssetContent, version: int, refs: dict[str, ObjectRef]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "asset_id": content.asset_id,
        "asset_version": version,
        "title": content.title,
        "genre": content.genre,
        "n_frames": int(content.frames.shape[0]),
        "frame_height": int(content.frames.shape[1]),
        "frame_width": int(content.frames.shape[2]),
        "fps": content.fps,
        "audio_sample_rate": content.audio.sample_rate,
        "duration_s": content.frames.shape[0] / content.fps,
        "registered_at": datetime.now(UTC),
    }
    for source, ref in refs.items():
        row[f"{source}_uri"] = ref.uri
        row[f"{source}_sha256"] = ref.sha256
    return row


def _rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ASSETS_SCHEMA)


def ensure_assets(config: MediaFeaturesConfig, settings: Any = None) -> int | None:
    """The assets table's current snapshot, seeding the sample assets if it is missing.

    Raises:
        TableNotFoundError: The table is missing outside the local profile.
    """
    from mlplatform.data import ensure_tables

    def sample() -> dict[str, pa.Table]:
        count = config.sample.n_assets
        logger.info(
            "%s: seeding it with %d generated assets (seed %d)",
            config.assets_table,
            count,
            config.sample.seed,
        )
        objects = ObjectStore(settings)
        rows = [
            _row(asset.content, 1, _store_objects(asset.content, 1, objects))
            for asset in generate_assets(count, config.sample)
        ]
        return {config.assets_table: _rows_table(rows)}

    table = ensure_tables({config.assets_table: ASSETS_SCHEMA}, sample, settings=settings)
    return table[config.assets_table].current_snapshot_id


def _records(table: pa.Table) -> dict[str, AssetRecord]:
    """The current (highest) version of every asset in ``table``."""
    current: dict[str, AssetRecord] = {}
    for row in table.to_pylist():
        known = current.get(row["asset_id"])
        if known is not None and known.asset_version >= row["asset_version"]:
            continue
        current[row["asset_id"]] = AssetRecord(
            asset_id=row["asset_id"],
            asset_version=int(row["asset_version"]),
            title=row["title"],
            genre=row["genre"],
            n_frames=int(row["n_frames"]),
            objects={s: ObjectRef(row[f"{s}_uri"], row[f"{s}_sha256"]) for s in SOURCES},
        )
    return current


def load_assets(
    config: MediaFeaturesConfig, snapshot_id: int | None = None, settings: Any = None
) -> dict[str, AssetRecord]:
    """Asset id -> its current version's record, at ``snapshot_id`` (default the latest)."""
    from mlplatform.data import DataFrame, Table

    table = Table(config.assets_table, settings=settings)
    if snapshot_id is None and table.current_snapshot_id is None:
        return {}
    data = DataFrame.load(table, snapshot_id=snapshot_id).to_arrow()
    return _records(data)


def register_assets(
    contents: Sequence[AssetContent],
    config: MediaFeaturesConfig,
    *,
    settings: Any = None,
    publish_event: bool = True,
) -> int:
    """Store new assets, or new versions of known ones, and announce them.

    Each asset gets the next version of its id (1 for a new id); its objects are written
    first, then all rows are appended in one commit, then `LANDED_EVENT` is published
    with the new snapshot id. Versions are chosen by reading the table first: register one
    asset id from one writer at a time.

    Returns:
        The snapshot id of the commit.
    """
    from mlplatform.data import Table

    ensure_assets(config, settings)
    table = Table(config.assets_table, settings=settings)
    current = load_assets(config, settings=settings)
    objects = ObjectStore(settings)
    rows = []
    for content in contents:
        known = current.get(content.asset_id)
        version = known.asset_version + 1 if known else 1
        rows.append(_row(content, version, _store_objects(content, version, objects)))
    snapshot_id = table.write(_rows_table(rows), mode="append")
    logger.info(
        "registered %d asset version(s) in %s (snapshot %s)",
        len(rows),
        config.assets_table,
        snapshot_id,
    )
    if publish_event:
        from mlplatform.orchestration import publish

        publish(
            LANDED_EVENT,
            {"snapshot_id": snapshot_id, "assets": len(rows)},
            source="media_features.register_assets",
            settings=settings,
        )
    return int(snapshot_id)


class AssetIndex:
    """The current version of every asset, kept in memory and refreshed when the table moves.

    Looking an asset up costs a dict lookup; at most every ``refresh_s`` seconds it checks
    the table's snapshot and reloads it if it changed, and an id it does not know makes it
    reload once before it says the asset is unknown.
    """

    def __init__(
        self, config: MediaFeaturesConfig, *, refresh_s: float, settings: Any = None
    ) -> None:
        self.config = config
        self.refresh_s = refresh_s
        self.settings = settings
        self._records: dict[str, AssetRecord] = {}
        self._snapshot_id: int | None = None
        self._checked = -float("inf")
        self._table: Any = None

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.refresh_s:
            return
        from mlplatform.data import Table

        if self._table is None:
            ensure_assets(self.config, self.settings)
            self._table = Table(self.config.assets_table, settings=self.settings)
        snapshot_id = self._table.current_snapshot_id
        if snapshot_id != self._snapshot_id or not self._records:
            self._records = load_assets(self.config, snapshot_id, self.settings)
            self._snapshot_id = snapshot_id
        self._checked = now

    @property
    def snapshot_id(self) -> int | None:
        """The table snapshot the index was loaded from."""
        self._refresh()
        return self._snapshot_id

    def lookup(self, asset_ids: Iterable[str]) -> list[AssetRecord]:
        """The current records of ``asset_ids``, in order.

        Raises:
            UnknownAssetError: An id the table does not list (the message names close ids).
        """
        self._refresh()
        asset_ids = list(asset_ids)
        if any(asset_id not in self._records for asset_id in asset_ids):
            self._refresh(force=True)
        for asset_id in asset_ids:
            if asset_id not in self._records:
                closest = difflib.get_close_matches(str(asset_id), list(self._records), n=3)
                hint = f"; did you mean {closest}?" if closest else ""
                raise UnknownAssetError(
                    f"unknown asset {asset_id!r}: {self.config.assets_table} lists "
                    f"{len(self._records)} assets{hint}"
                )
        return [self._records[asset_id] for asset_id in asset_ids]

    def all(self) -> dict[str, AssetRecord]:
        """Every asset's current record."""
        self._refresh()
        return dict(self._records)
