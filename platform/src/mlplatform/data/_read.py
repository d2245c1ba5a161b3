"""Our reader of a `ScanPlan`: files fetched concurrently into memory, decoded in parallel.

A pool of ``data.read_threads`` threads fetches the plan's files while a byte budget
(``data.max_bytes_in_flight``) bounds fetched-but-not-yet-decoded bytes. A file is fetched
into a buffer of its size, at the file's offsets: whole (one read, one GET on S3), or for a
projection only the byte ranges the plan names (its columns' chunks and its footer), so
the other columns are neither read from storage nor copied. Pages of a new buffer that no
range touches are never written, so they cost no memory; buffers are reused for the next
files. Each file is decoded in the thread that fetched it
and the row filter applied per file, so memory stays near the size of the result; the
per-file tables are concatenated without copying.

The decoder: Polars' Parquet reader when every column read has a type it round-trips exactly
(integers, floats, booleans, strings, binary, dates, timestamps, lists of those), else
pyarrow's. Polars decodes strings into views instead of materialising them, so even with the
cast back to the table's Arrow types it spends about a third less CPU per file than pyarrow's
reader on string-heavy tables (benchmarks/data_read.py); the result is the same Arrow table.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mlplatform.config import Settings
from mlplatform.data._catalog import filesystem
from mlplatform.data._errors import DataError
from mlplatform.data._expr import to_arrow_expression
from mlplatform.data._plan import ByteRange, DataFile, ScanPlan

__all__ = ["fetch", "read_files", "read_plan"]

logger = logging.getLogger(__name__)


class _ByteBudget:
    """Blocks a fetch until the bytes in flight leave room for it (one file always fits)."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._used = 0
        self._condition = threading.Condition()

    def acquire(self, size: int) -> None:
        with self._condition:
            while self._used > 0 and self._used + size > self._limit:
                self._condition.wait()
            self._used += size

    def release(self, size: int) -> None:
        with self._condition:
            self._used -= size
            self._condition.notify_all()


class _BufferPool:
    """Fetch buffers kept for the next file.

    The first write into a new buffer costs a page fault per 4 KiB, which on a busy machine
    costs more than the copy itself; a reused buffer has its pages already. At most
    `POOL_BYTES` are kept, and only buffers no decoded column still points into.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._free: list[tuple[int, io.BytesIO]] = []  # (capacity, buffer)
        self._lock = threading.Lock()

    def take(self, size: int) -> tuple[int, io.BytesIO]:
        """A buffer of exactly ``size`` bytes (contents undefined) and its capacity."""
        with self._lock:
            # Truncating to less than half its size would make Python shrink the buffer.
            fits = [entry for entry in self._free if entry[0] // 2 <= size <= entry[0]]
            if fits:
                entry = min(fits, key=lambda e: e[0])
                self._free.remove(entry)
        if not fits:
            # bytes(n) is calloc'ed: pages no range touches stay unwritten. The BytesIO owns
            # it, so its buffer view shares it instead of copying.
            return size, io.BytesIO(bytes(size))
        capacity, buffer = entry
        current = buffer.seek(0, io.SEEK_END)
        if size < current:
            buffer.truncate(size)
        elif size > current:
            buffer.seek(size - 1)
            buffer.write(b"\0")
        buffer.seek(0)
        return capacity, buffer

    def give(self, capacity: int, buffer: io.BytesIO) -> None:
        """Keep ``buffer`` for reuse, if no array still points into it and there is room."""
        try:
            buffer.truncate(buffer.seek(0, io.SEEK_END))  # BufferError while still exported
        except BufferError:
            return
        with self._lock:
            if sum(c for c, _ in self._free) + capacity <= self._max_bytes:
                self._free.append((capacity, buffer))

    def clear(self) -> None:
        """Drop every kept buffer (and a lock a forking thread may have held)."""
        self._free = []
        self._lock = threading.Lock()


POOL_BYTES = 128 * 1024 * 1024
_buffers = _BufferPool(POOL_BYTES)
os.register_at_fork(after_in_child=_buffers.clear)


def fetch(
    data_file: DataFile,
    ranges: Sequence[ByteRange] | None,
    settings: Settings | None = None,
    buffer: io.BytesIO | None = None,
) -> io.BytesIO:
    """The bytes of a file (local or S3) a read needs, each at its offset in the file.

    Args:
        data_file: The file; its ``size_bytes`` is the size of the result.
        ranges: ``(offset, length)`` parts to read; None reads the whole file. What lies
            outside them is undefined, and no decoder reads it.
        settings: Filesystems of the profile.
        buffer: Where to put the bytes: a buffer of exactly ``size_bytes`` (default: new).

    Returns:
        The buffer, positioned at its start; both decoders read it in place.

    Raises:
        DataError: The file does not exist or is shorter than its metadata says.
    """
    if buffer is None:
        buffer = io.BytesIO(bytes(data_file.size_bytes))
    fs, inner = filesystem(data_file.path, settings)
    try:
        with fs.open_input_file(inner) as handle, buffer.getbuffer() as view:
            for offset, length in ranges or ((0, data_file.size_bytes),):
                handle.seek(offset)
                if handle.readinto(view[offset : offset + length]) != length:
                    raise DataError(
                        f"data file {data_file.path} is shorter than the {data_file.size_bytes} "
                        "bytes the table's metadata records; it was changed outside the catalog"
                    )
    except FileNotFoundError:
        raise DataError(
            f"data file {data_file.path} does not exist; the table's metadata and storage "
            "disagree (a file was deleted outside the catalog?)"
        ) from None
    return buffer


def _constant(value: Any, data_type: pa.DataType, length: int) -> pa.Array:
    if value is None:
        return pa.nulls(length, data_type)
    return pa.repeat(pa.scalar(value).cast(data_type), length)


def _polars_round_trips(data_type: pa.DataType) -> bool:
    """Whether Polars decodes a Parquet column of this Arrow type back to the same values."""
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return _polars_round_trips(data_type.value_type)
    return (
        pa.types.is_integer(data_type)
        or (pa.types.is_floating(data_type) and not pa.types.is_float16(data_type))
        or pa.types.is_boolean(data_type)
        or pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_binary(data_type)
        or pa.types.is_large_binary(data_type)
        or pa.types.is_date32(data_type)
        or pa.types.is_timestamp(data_type)
    )


def _decode(
    content: io.BytesIO,
    data_file: DataFile,
    target: pa.Schema,
    read_columns: list[str],
    arrow_filter: pc.Expression | None,
) -> pa.Table:
    # Both readers read the buffer in place; pyarrow through file calls, so that no array
    # it returns points into the buffer, which is reused for the next file.
    parquet = pq.ParquetFile(content)
    stored = parquet.schema_arrow
    columns = [c for c in read_columns if c in stored.names]
    if columns and all(_polars_round_trips(stored.field(c).type) for c in columns):
        content.seek(0)
        frame = pl.read_parquet(content, columns=columns)
        views = frame.to_arrow(compat_level=pl.CompatLevel.newest())  # zero copy
        table = views.cast(pa.schema([stored.field(c) for c in columns]))  # views -> strings
    else:
        table = parquet.read(columns=columns, use_threads=True)
    present = set(stored.names)
    for name in read_columns:
        if name not in present:
            # Hive partition values live in folder names; Iceberg columns added later are null.
            field = target.field(name) if name in target.names else None
            data_type = field.type if field is not None else pa.string()
            table = table.append_column(
                name, _constant(data_file.partition.get(name), data_type, table.num_rows)
            )
    if arrow_filter is not None:
        table = table.filter(arrow_filter)
    table = table.select(target.names)
    if table.schema != target:
        table = table.cast(target)
    return table


def read_files(files: Sequence[DataFile], plan: ScanPlan, settings: Settings) -> pa.Table:
    """Fetch and decode ``files`` of ``plan`` in parallel into one Arrow table.

    Args:
        files: The files to read (the plan's, or some of them), in output order.
        plan: Columns, types, row filter and byte ranges of the read.
        settings: Read concurrency and byte budget come from ``settings.data``.
    """
    target = plan.output_schema
    if not files:
        return target.empty_table()
    arrow_filter = to_arrow_expression(plan.row_filter, plan.schema)
    read_columns = plan.read_columns
    budget = _ByteBudget(settings.data.max_bytes_in_flight)

    def load_one(data_file: DataFile) -> pa.Table:
        ranges = plan.byte_ranges.get(data_file.path)
        size = max(sum(n for _, n in ranges) if ranges else data_file.size_bytes, 1)
        budget.acquire(size)
        capacity, buffer = _buffers.take(data_file.size_bytes)
        try:
            content = fetch(data_file, ranges, settings, buffer)
            return _decode(content, data_file, target, read_columns, arrow_filter)
        finally:
            _buffers.give(capacity, buffer)
            budget.release(size)

    started = time.perf_counter()
    threads = max(1, min(settings.data.read_threads, len(files)))
    if threads == 1:
        parts = [load_one(f) for f in files]
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="mlp-read") as pool:
            parts = list(pool.map(load_one, files))
    result = pa.concat_tables(parts)
    logger.debug(
        "read %d files (%d bytes) -> %d rows in %.3fs",
        len(files),
        sum(f.size_bytes for f in files),
        result.num_rows,
        time.perf_counter() - started,
    )
    return result


def read_plan(plan: ScanPlan, settings: Settings, limit: int | None = None) -> pa.Table:
    """Read a plan with our reader; with a ``limit``, files one at a time until enough rows.

    Plans that need PyIceberg's reader (``plan.needs_pyiceberg``) are read by `Table.read`.
    """
    if limit is None:
        return read_files(plan.files, plan, settings)
    parts = [plan.output_schema.empty_table()]
    for data_file in plan.files:
        if sum(part.num_rows for part in parts) >= limit:
            break
        parts.append(read_files([data_file], plan, settings))
    return pa.concat_tables(parts).slice(0, limit)
