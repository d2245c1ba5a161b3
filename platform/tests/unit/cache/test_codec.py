"""The stored value format: kinds, the versioned header, clear errors."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mlplatform.cache import CorruptValueError, UnsupportedValueError
from mlplatform.cache._codec import FORMAT_VERSION, MAGIC, decode, encode, kind_of


@pytest.mark.parametrize(
    "value",
    [
        {"nested": {"list": [1, 2.5, None, True, "ü"]}},
        [],
        "",
        0,
        1e300,
        float("inf"),
        None,
    ],
)
def test_json_values_round_trip(value):
    blob = encode(value)
    assert blob[:6] == MAGIC + bytes([FORMAT_VERSION, 1])
    assert decode(blob) == value
    assert kind_of(blob) == "json"


def test_bytes_like_values_come_back_as_bytes():
    assert decode(encode(b"\x00\xff")) == b"\x00\xff"
    assert decode(encode(bytearray(b"ab"))) == b"ab"
    assert decode(encode(memoryview(b"cd"))) == b"cd"
    assert kind_of(encode(b"")) == "bytes"


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=np.int16).reshape(2, 3),
        np.array([1 + 2j, 3j]),
        np.array(["2024-01-01", "2025-06-30"], dtype="datetime64[D]"),
        np.zeros(3, dtype=[("id", "i4"), ("score", "f8")]),
        np.array([True, False]),
        np.empty((0, 4), dtype=np.float32),
    ],
)
def test_numpy_arrays_round_trip_with_dtype_and_shape(array):
    got = decode(encode(array))
    assert got.dtype == array.dtype
    assert got.shape == array.shape
    np.testing.assert_array_equal(got, array)


def test_arrow_tables_and_record_batches_round_trip():
    table = pa.table(
        {
            "id": pa.array([1, 2, None], pa.int64()),
            "tags": pa.array([["a"], [], None], pa.list_(pa.string())),
            "when": pa.array([0, 1, 2], pa.timestamp("ms", tz="UTC")),
        }
    )
    assert decode(encode(table)).equals(table)
    batch = table.to_batches()[0]
    assert decode(encode(batch)).equals(pa.Table.from_batches([batch]))
    assert kind_of(encode(table)) == "arrow"


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (object(), "object"),
        ({1, 2}, "set"),
        ({"x": object()}, "dict"),
        (np.array([{"a": 1}], dtype=object), "dtype object"),
        (np.int64(3), "int64"),
    ],
)
def test_unsupported_values_are_refused_with_what_is_supported(value, named):
    with pytest.raises(UnsupportedValueError, match=named) as raised:
        encode(value)
    assert isinstance(raised.value, TypeError)
    message = str(raised.value)
    assert "numpy" in message or "Only arrays without Python objects" in message


def test_a_circular_structure_is_refused():
    loop: list = []
    loop.append(loop)
    with pytest.raises(UnsupportedValueError, match="list"):
        encode(loop)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "does not start with the cache's value header"),
        (b"MLP", "does not start with the cache's value header"),
        (b'{"plain": "json"}', "not written by mlplatform.cache"),
        (MAGIC + bytes([2, 1]) + b"{}", "format version 2.*this mlplatform reads version 1"),
        (MAGIC + bytes([1, 9]) + b"{}", "unknown value kind 9"),
        (MAGIC + bytes([1, 1]) + b"{oops", "kind 'json' but its body does not decode"),
        (MAGIC + bytes([1, 1]) + b"\xff\xfe", "kind 'json' but its body does not decode"),
        (MAGIC + bytes([1, 3]) + b"not npy", "kind 'numpy' but its body does not decode"),
        (MAGIC + bytes([1, 4]) + b"not ipc", "kind 'arrow' but its body does not decode"),
    ],
)
def test_unknown_or_damaged_values_raise_corrupt_value_error(blob, message):
    with pytest.raises(CorruptValueError, match=message):
        decode(blob, "key 'k' of cache namespace 'n'")
    with pytest.raises(CorruptValueError, match="key 'k' of cache namespace 'n'"):
        decode(blob, "key 'k' of cache namespace 'n'")


def test_a_truncated_arrow_value_is_reported_as_damaged():
    blob = encode(pa.table({"x": list(range(100))}))
    with pytest.raises(CorruptValueError, match="arrow"):
        decode(blob[: len(blob) // 2])
