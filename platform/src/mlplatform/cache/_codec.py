"""The stored value format: a 6-byte versioned header, then the body.

Header: ``b"MLPC"`` magic, one format-version byte, one kind byte. Kinds: JSON (UTF-8),
raw bytes, a numpy array (``.npy`` format, no pickles) and Arrow data (IPC stream). numpy
and pyarrow are imported only when a value of theirs is stored or read.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

from mlplatform.cache._errors import CorruptValueError, UnsupportedValueError

MAGIC = b"MLPC"
FORMAT_VERSION = 1
KIND_JSON = 1
KIND_BYTES = 2
KIND_NUMPY = 3
KIND_ARROW = 4
KIND_NAMES = {KIND_JSON: "json", KIND_BYTES: "bytes", KIND_NUMPY: "numpy", KIND_ARROW: "arrow"}
HEADER_SIZE = len(MAGIC) + 2
_PREFIX = MAGIC + bytes([FORMAT_VERSION])
_H_JSON = _PREFIX + bytes([KIND_JSON])
_H_BYTES = _PREFIX + bytes([KIND_BYTES])
_H_NUMPY = _PREFIX + bytes([KIND_NUMPY])
_H_ARROW = _PREFIX + bytes([KIND_ARROW])
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# JSONEncoder.encode builds a new C encoder per call; building it once halves the cost of
# small values. No circular-reference markers: a cycle ends in RecursionError, caught below.
_C_ENCODER = (
    json.encoder.c_make_encoder(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    if json.encoder.c_make_encoder is not None
    else None
)
_JSON_DECODE = json.JSONDecoder().decode
_SUPPORTED = (
    "JSON-able objects (dict, list, str, int, float, bool, None), bytes, numpy arrays, "
    "pyarrow Tables/RecordBatches or objects with __arrow_c_stream__ (polars, pandas)"
)


def encode(value: Any) -> bytes:
    """Serialise ``value`` with the versioned header.

    Raises:
        UnsupportedValueError: The value is none of the supported kinds.
    """
    kind = type(value)
    if kind is bytes:
        return _H_BYTES + value
    if kind in (dict, list, str, int, float, bool) or value is None:
        return _encode_json(value)
    if isinstance(value, bytearray | memoryview):
        return _H_BYTES + bytes(value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return _encode_numpy(value)
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and isinstance(value, pyarrow.Table | pyarrow.RecordBatch):
        return _encode_arrow(value)
    if hasattr(value, "__arrow_c_stream__"):
        return _encode_arrow(value)
    return _encode_json(value)


def _encode_json(value: Any) -> bytes:
    try:
        if _C_ENCODER is not None:
            return _H_JSON + "".join(_C_ENCODER(value, 0)).encode()
        return _H_JSON + _JSON_ENCODER.encode(value).encode()
    except (TypeError, ValueError, RecursionError) as error:
        raise UnsupportedValueError(
            f"cannot store a value of type {type(value).__qualname__}: {error}. "
            f"Supported are {_SUPPORTED}; convert it first (e.g. numpy scalars with .item())."
        ) from None


def _encode_numpy(array: Any) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    buffer.write(_H_NUMPY)
    try:
        np.lib.format.write_array(buffer, array, allow_pickle=False)
    except ValueError as error:
        raise UnsupportedValueError(
            f"cannot store a numpy array of dtype {array.dtype}: {error}. Only arrays without "
            "Python objects can be stored; convert object arrays to a fixed dtype or to Arrow."
        ) from None
    return buffer.getvalue()


def _encode_arrow(value: Any) -> bytes:
    import pyarrow as pa

    try:
        table = value if isinstance(value, pa.Table) else pa.table(value)
    except (TypeError, ValueError, pa.ArrowException) as error:
        raise UnsupportedValueError(
            f"cannot convert a {type(value).__qualname__} to an Arrow table: {error}"
        ) from None
    sink = pa.BufferOutputStream()
    sink.write(_H_ARROW)
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return sink.getvalue().to_pybytes()


def _check_header(blob: bytes, where: str) -> int:
    if len(blob) < HEADER_SIZE or blob[:4] != MAGIC:
        raise CorruptValueError(
            f"{where} does not start with the cache's value header (magic {MAGIC!r}, found "
            f"{bytes(blob[:6])!r}); it was not written by mlplatform.cache or is damaged. "
            "Delete it or write it again with Cache.put."
        )
    version = blob[4]
    if version != FORMAT_VERSION:
        raise CorruptValueError(
            f"{where} has value format version {version}, but this mlplatform reads version "
            f"{FORMAT_VERSION}; upgrade mlplatform on this reader or write it again."
        )
    kind = blob[5]
    if kind not in KIND_NAMES:
        raise CorruptValueError(
            f"{where} has unknown value kind {kind} (known: {KIND_NAMES}); it is damaged or "
            "was written by a newer mlplatform."
        )
    return kind


def kind_of(blob: bytes, where: str = "the value") -> str:
    """The kind name (``json``, ``bytes``, ``numpy``, ``arrow``) of a stored value."""
    return KIND_NAMES[_check_header(blob, where)]


def decode(blob: bytes, where: str = "the value") -> Any:
    """Deserialise a stored value.

    Args:
        blob: The stored bytes, header included.
        where: What the value is (e.g. ``key 'a' of namespace 'n'``), for error messages.

    Raises:
        CorruptValueError: The header is missing, of an unknown version or kind, or the body
            does not decode.
    """
    if blob[:5] == _PREFIX:
        kind = blob[5] if len(blob) > 5 else -1
        if kind == KIND_JSON:
            try:
                return _JSON_DECODE(blob[HEADER_SIZE:].decode())
            except ValueError as error:
                raise _corrupt_body(where, "json", error) from None
        if kind == KIND_BYTES:
            return blob[HEADER_SIZE:]
    kind = _check_header(blob, where)
    body = memoryview(blob)[HEADER_SIZE:]
    try:
        if kind == KIND_NUMPY:
            import numpy as np

            return np.lib.format.read_array(io.BytesIO(body), allow_pickle=False)
        import pyarrow as pa

        return pa.ipc.open_stream(pa.py_buffer(body)).read_all()
    except Exception as error:  # numpy and Arrow raise many types for damaged input
        raise _corrupt_body(where, KIND_NAMES[kind], error) from None


def _corrupt_body(where: str, kind: str, error: Exception) -> CorruptValueError:
    return CorruptValueError(
        f"{where} has a valid header of kind {kind!r} but its body does not decode "
        f"({type(error).__name__}: {error}); it is damaged. Write it again with Cache.put."
    )
