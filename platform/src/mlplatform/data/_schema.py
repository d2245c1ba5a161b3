"""Arrow schemas of Iceberg tables and the write-time schema check."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.schema import Schema as IcebergSchema

from mlplatform.data._errors import SchemaMismatchError


def _small(data_type: pa.DataType) -> pa.DataType:
    # PyIceberg maps to 64-bit offsets; Parquet readers produce 32-bit ones, so the table's
    # Arrow schema uses those and decoded files need no cast.
    if pa.types.is_large_string(data_type):
        return pa.string()
    if pa.types.is_large_binary(data_type):
        return pa.binary()
    if pa.types.is_large_list(data_type) or pa.types.is_list(data_type):
        value = data_type.value_field
        return pa.list_(value.with_type(_small(value.type)))
    if pa.types.is_struct(data_type):
        return pa.struct([f.with_type(_small(f.type)) for f in data_type])
    if pa.types.is_map(data_type):
        return pa.map_(
            data_type.key_field.with_type(_small(data_type.key_type)),
            data_type.item_field.with_type(_small(data_type.item_type)),
        )
    return data_type


def arrow_schema(schema: IcebergSchema) -> pa.Schema:
    """The Arrow schema of an Iceberg schema, with 32-bit string and list offsets."""
    converted = schema_to_pyarrow(schema, include_field_ids=False)
    return pa.schema([field.with_type(_small(field.type)) for field in converted])


def partition_spec(iceberg: Any) -> list[tuple[str, str]]:
    """The current partition spec of a PyIceberg table as ``(column, transform)`` pairs."""
    iceberg_schema = iceberg.schema()
    return [
        (iceberg_schema.find_column_name(f.source_id), str(f.transform))
        for f in iceberg.spec().fields
    ]


def _family(data_type: pa.DataType) -> str:
    if pa.types.is_dictionary(data_type):
        return _family(data_type.value_type)
    for name, check in (
        ("string", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
        ("string", pa.types.is_string_view),
        ("binary", lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t)),
        ("binary", pa.types.is_binary_view),
        ("integer", pa.types.is_integer),
        ("float", pa.types.is_floating),
        ("timestamp", pa.types.is_timestamp),
        ("date", pa.types.is_date),
        ("list", lambda t: pa.types.is_list(t) or pa.types.is_large_list(t)),
    ):
        if check(data_type):
            return name
    return str(data_type)


def _castable(found: pa.DataType, expected: pa.DataType) -> bool:
    if found == expected or pa.types.is_null(found):
        return True
    found_family, expected_family = _family(found), _family(expected)
    if found_family == "float" and expected_family == "float":
        return found.bit_width <= expected.bit_width
    if found_family == "timestamp" and expected_family == "timestamp":
        return (found.tz is None) == (expected.tz is None)
    if found_family == "list" and expected_family == "list":
        return _castable(found.value_type, expected.value_type)
    # Integers are cast with overflow checks; everything else must be the same family.
    return found_family == expected_family


def conform(data: pa.Table, expected: pa.Schema, table_name: str) -> pa.Table:
    """Return ``data`` with the columns, order and types of ``expected``.

    Lossless representation changes (string/large_string/string_view, dictionary-encoded
    values, int32 into int64, float32 into float64, timestamp units) are cast; anything else
    is a mismatch.

    Raises:
        SchemaMismatchError: Columns are missing, unexpected, of another type, or hold nulls
            where the table requires values. The message names every such column.
    """
    found_names = set(data.schema.names)
    expected_names = set(expected.names)
    problems: list[str] = []
    missing = [name for name in expected.names if name not in found_names]
    extra = [name for name in data.schema.names if name not in expected_names]
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unexpected columns {extra}")
    duplicates = sorted({n for n in data.schema.names if data.schema.names.count(n) > 1})
    if duplicates:
        problems.append(f"duplicate columns {duplicates}")
    columns = []
    for field in expected:
        if field.name not in found_names or field.name in duplicates:
            continue
        column = data.column(field.name)
        if not _castable(column.type, field.type):
            problems.append(f"column {field.name!r} has type {column.type}, expected {field.type}")
            continue
        if column.type != field.type:
            try:
                column = column.cast(field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                problems.append(
                    f"column {field.name!r} of type {column.type} does not fit {field.type}: "
                    f"{error}"
                )
                continue
        if not field.nullable and column.null_count:
            problems.append(
                f"column {field.name!r} is required but has {column.null_count} null values"
            )
            continue
        columns.append(column)
    if problems:
        raise SchemaMismatchError(
            f"data does not match the schema of table {table_name}: "
            + "; ".join(problems)
            + f". The table expects {_describe(expected)}. Select, rename or cast the "
            "columns to match (or evolve the table's schema first); nothing was written."
        )
    return pa.Table.from_arrays(columns, schema=expected)


def _describe(schema: pa.Schema) -> str:
    return (
        "("
        + ", ".join(f"{f.name}: {f.type}{'' if f.nullable else ' not null'}" for f in schema)
        + ")"
    )
