"""What a read is made of: data files, shards, and the scan plan with its byte ranges.

Both table sources (`_table` for Iceberg, `_hive` for Hive folders), the reader (`_read`)
and the writers (`_write`) share these types, so none of them imports another for them.

Projection pushdown lives here: for a read of some of a file's columns, the plan carries
the byte ranges of those columns' chunks (from the file's Parquet footer, read once per
file and cached: data files are immutable), plus the page indexes and the footer, coalesced.
The reader fetches only those ranges, with the same calls on local disks and S3.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyiceberg.expressions import AlwaysTrue, BooleanExpression

from mlplatform.config import Settings
from mlplatform.data._catalog import filesystem
from mlplatform.data._errors import DataError
from mlplatform.data._expr import filter_columns

__all__ = [
    "AsOf",
    "ByteRange",
    "DataFile",
    "ScanPlan",
    "Shard",
    "check_columns",
    "column_names",
    "remember_footer",
    "split_files",
    "with_byte_ranges",
]

logger = logging.getLogger(__name__)

AsOf = datetime | int | None
ByteRange = tuple[int, int]
"""``(offset, length)`` of a part of a file."""

DEFAULT_SHARD_BYTES = 256 * 1024 * 1024
# Ranges closer than this are fetched as one read: on S3 a request costs about as much as
# transferring a megabyte; locally a read call costs about as much as copying 64 KiB.
GAP_BYTES = {"local": 64 * 1024, "remote": 1024 * 1024}
_LAYOUT_CACHE_FILES = 4096


@dataclass(frozen=True)
class DataFile:
    """One Parquet data file: of a table, of a shard, or staged by a writer.

    Attributes:
        path: URI of the file (``file://...``, ``s3://...``) or a local path.
        size_bytes: Size of the file on storage.
        record_count: Rows in the file (-1 when not known, for plain file paths).
        partition: Identity-partition values of the rows in the file (Iceberg's values for
            Iceberg tables; parsed ``key=value`` folder names for Hive folders).
    """

    path: str
    size_bytes: int
    record_count: int
    partition: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Shard:
    """A deterministic group of data files for one task of a Metaflow ``foreach``.

    Small and picklable: it holds file descriptions, not data. Load it with
    ``DataFrame.load(shard)``.

    Attributes:
        files: The files of this shard, sorted by path.
        index: Position of this shard among ``count`` shards.
        count: How many shards the table was split into.
        table: Name of the table the files belong to (None for plain files).
        snapshot_id: The snapshot the files were planned from.
    """

    files: tuple[DataFile, ...]
    index: int
    count: int
    table: str | None = None
    snapshot_id: int | None = None

    @property
    def size_bytes(self) -> int:
        """Total bytes of the shard's files on storage."""
        return sum(f.size_bytes for f in self.files)

    @property
    def record_count(self) -> int:
        """Total rows of the shard's files (before any row filter)."""
        return sum(f.record_count for f in self.files)


@dataclass(frozen=True)
class ScanPlan:
    """One read, decided before any data is fetched: `Table.plan` makes it, and
    `DataFrame.load` reads it.

    Attributes:
        table: Name (or folder) of the source; None for plain files.
        files: The files to read after partition and min/max pruning, in output order.
        schema: Arrow schema of the data read: the snapshot's for time travel, else the
            table's current schema (which then names the columns).
        columns: Columns of the result, in order.
        snapshot_id: The snapshot planned from (None: no data yet, or a Hive folder).
        row_filter: The residual filter applied to the rows after decoding (pruning used
            the same expression to drop whole files).
        needs_pyiceberg: The files have delete files or were written under an older
            schema, so PyIceberg's reader, which maps columns by field id, must read them.
        time_travel: The plan reads a snapshot that was asked for (``snapshot_id`` or
            ``as_of``), not simply the current one.
        byte_ranges: For a read of some of a file's columns: path -> the ranges of that
            file to fetch (the columns' chunks, the page indexes and the footer,
            coalesced). Files not listed are fetched whole.
    """

    table: str | None
    files: tuple[DataFile, ...]
    schema: pa.Schema
    columns: tuple[str, ...]
    snapshot_id: int | None = None
    row_filter: BooleanExpression = field(default_factory=AlwaysTrue)
    needs_pyiceberg: bool = False
    time_travel: bool = False
    byte_ranges: Mapping[str, tuple[ByteRange, ...]] = field(default_factory=dict, hash=False)

    @property
    def output_schema(self) -> pa.Schema:
        """Arrow schema of the result: `columns` with their types."""
        return pa.schema([self.schema.field(c) for c in self.columns])

    @property
    def read_columns(self) -> list[str]:
        """Columns to decode: the result's, then those only the row filter needs."""
        extra = sorted(filter_columns(self.row_filter) - set(self.columns))
        return [*self.columns, *extra]

    @property
    def fetch_bytes(self) -> int:
        """Bytes the read fetches from storage (ranges for projections, else whole files)."""
        return sum(
            sum(length for _, length in self.byte_ranges[f.path])
            if f.path in self.byte_ranges
            else f.size_bytes
            for f in self.files
        )


def column_names(columns: Sequence[str] | None) -> list[str] | None:
    """Check a ``columns=`` argument: None (all columns) or a list of names.

    Raises:
        DataError: A single string (which would read as a list of letters) or something
            that is not a sequence of strings.
    """
    if columns is None:
        return None
    if isinstance(columns, str):
        raise DataError(
            f"columns must be a list of names, got the string {columns!r}; pass [{columns!r}]"
        )
    if not isinstance(columns, Sequence) or not all(isinstance(c, str) for c in columns):
        raise DataError(
            f"columns must be a list of names (strings), got {columns!r}; e.g. ['title', 'year']"
        )
    return list(columns)


def check_columns(schema: pa.Schema, names: Collection[str], what: str, where: str) -> None:
    """Raise `DataError` naming the ``names`` that ``schema`` lacks.

    Args:
        schema: The columns there are.
        names: The columns asked for.
        what: What asked for them, for the message (``"columns"``, ``"filter columns"``).
        where: Where they were looked for, e.g. ``"table kg.titles"``.
    """
    unknown = [c for c in names if c not in schema.names]
    if unknown:
        raise DataError(f"{what} {unknown} not in {where}; its columns are {schema.names}")


def split_files(
    files: Sequence[DataFile], n: int | None = None, target_bytes: int | None = None
) -> list[list[DataFile]]:
    """Split files into byte-balanced, never-empty groups (deterministic for the same input).

    Largest files are placed first, each into the group with the fewest bytes so far
    (ties: lowest group number); groups and their files are then ordered by path.

    Raises:
        DataError: ``n`` or ``target_bytes`` is not a whole number of 1 or more.
    """
    _check_count("n", n, "shards")
    _check_count("target_bytes", target_bytes, "bytes")
    if not files:
        return []
    total = sum(f.size_bytes for f in files)
    if n is None:
        n = max(1, -(-total // (target_bytes or DEFAULT_SHARD_BYTES)))
    n = min(n, len(files))
    groups: list[list[DataFile]] = [[] for _ in range(n)]
    sizes = [0] * n
    for data_file in sorted(files, key=lambda f: (-f.size_bytes, f.path)):
        smallest = min(range(n), key=lambda i: (sizes[i], i))
        groups[smallest].append(data_file)
        sizes[smallest] += data_file.size_bytes
    ordered = [sorted(group, key=lambda f: f.path) for group in groups]
    return sorted(ordered, key=lambda group: group[0].path)


def _check_count(name: str, value: Any, unit: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(
            f"shards({name}={value!r}): {name} must be a whole number of {unit}, 1 or more"
        )


# -- projection pushdown: which bytes of a file a read of some columns needs ------------


@dataclass(frozen=True)
class _FileLayout:
    """Where each top-level column's chunks lie in one Parquet file, from its footer."""

    chunks: dict[str, tuple[ByteRange, ...]]
    data_end: int  # page indexes, bloom filters and the footer follow the column chunks


_layouts: OrderedDict[tuple[str, int], _FileLayout | None] = OrderedDict()
_layouts_lock = threading.Lock()


def _leaf_count(data_type: pa.DataType) -> int:
    if pa.types.is_struct(data_type):
        return sum(_leaf_count(f.type) for f in data_type)
    if pa.types.is_map(data_type):
        return _leaf_count(data_type.key_type) + _leaf_count(data_type.item_type)
    if (
        pa.types.is_list(data_type)
        or pa.types.is_large_list(data_type)
        or pa.types.is_fixed_size_list(data_type)
    ):
        return _leaf_count(data_type.value_type)
    return 1


def _layout(metadata: pq.FileMetaData) -> _FileLayout | None:
    """The file's column layout, or None when the footer does not allow ranged reads."""
    names: list[str] = []
    for arrow_field in metadata.schema.to_arrow_schema():
        names.extend([arrow_field.name] * _leaf_count(arrow_field.type))
    if len(names) != metadata.num_columns:
        return None  # leaves and chunks do not line up: read the whole file
    chunks: dict[str, list[ByteRange]] = {}
    data_end = 4  # the leading magic bytes
    for group_index in range(metadata.num_row_groups):
        group = metadata.row_group(group_index)
        for column_index in range(group.num_columns):
            chunk = group.column(column_index)
            if chunk.has_dictionary_page and not chunk.dictionary_page_offset:
                return None  # an old writer's bug: the dictionary page's place is unknown
            starts = [chunk.dictionary_page_offset, chunk.data_page_offset]
            start = min(o for o in starts if o)
            end = start + chunk.total_compressed_size
            data_end = max(data_end, end)
            chunks.setdefault(names[column_index], []).append((start, chunk.total_compressed_size))
    return _FileLayout({name: tuple(ranges) for name, ranges in chunks.items()}, data_end)


def _remember(data_file: DataFile, layout: _FileLayout | None) -> None:
    with _layouts_lock:
        _layouts[(data_file.path, data_file.size_bytes)] = layout
        while len(_layouts) > _LAYOUT_CACHE_FILES:
            _layouts.popitem(last=False)


def remember_footer(data_file: DataFile, metadata: pq.FileMetaData) -> None:
    """Keep the column layout of a footer a planner has read anyway (no second read)."""
    _remember(data_file, _layout(metadata))


def _file_layout(data_file: DataFile, settings: Settings) -> _FileLayout | None:
    key = (data_file.path, data_file.size_bytes)
    with _layouts_lock:
        if key in _layouts:
            _layouts.move_to_end(key)
            return _layouts[key]
    fs, inner = filesystem(data_file.path, settings)
    try:
        with fs.open_input_file(inner) as handle:
            layout = _layout(pq.read_metadata(handle))
    except FileNotFoundError:
        raise DataError(
            f"data file {data_file.path} does not exist; the table's metadata and storage "
            "disagree (a file was deleted outside the catalog?)"
        ) from None
    _remember(data_file, layout)
    return layout


def _coalesce(ranges: list[ByteRange], gap: int) -> tuple[ByteRange, ...]:
    merged: list[list[int]] = []
    for offset, length in sorted(ranges):
        if merged and offset <= merged[-1][0] + merged[-1][1] + gap:
            merged[-1][1] = max(merged[-1][1], offset + length - merged[-1][0])
        else:
            merged.append([offset, length])
    return tuple((offset, length) for offset, length in merged)


def with_byte_ranges(plan: ScanPlan, settings: Settings) -> ScanPlan:
    """The plan with the byte ranges of each file that its projection needs.

    Unchanged when the plan reads every column (whole files are then one read each) or
    needs PyIceberg's reader. Footers are read concurrently (``data.read_threads``), since
    on S3 each is a request, and remembered: data files do not change.
    """
    wanted = set(plan.read_columns)
    if not plan.files or plan.needs_pyiceberg or wanted >= set(plan.schema.names):
        return plan
    with _layouts_lock:
        unknown = [f for f in plan.files if (f.path, f.size_bytes) not in _layouts]
    if len(unknown) > 1:  # read the footers not seen yet concurrently (on S3, one GET each)
        threads = max(1, min(settings.data.read_threads, len(unknown)))
        with ThreadPoolExecutor(threads, thread_name_prefix="mlp-footer") as pool:
            list(pool.map(lambda f: _file_layout(f, settings), unknown))
    layouts = [_file_layout(f, settings) for f in plan.files]
    ranges: dict[str, tuple[ByteRange, ...]] = {}
    for data_file, layout in zip(plan.files, layouts, strict=True):
        if layout is None:
            continue
        parts = [r for name in wanted for r in layout.chunks.get(name, ())]
        parts.append((layout.data_end, data_file.size_bytes - layout.data_end))
        fs, _ = filesystem(data_file.path, settings)
        gap = GAP_BYTES["local" if isinstance(fs, pafs.LocalFileSystem) else "remote"]
        ranges[data_file.path] = _coalesce(parts, gap)
    logger.debug(
        "projection of %d of %d columns: %d of %d files fetched by range",
        len(wanted),
        len(plan.schema.names),
        len(ranges),
        len(plan.files),
    )
    return replace(plan, byte_ranges=ranges)
