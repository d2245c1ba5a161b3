"""Row filters: PyIceberg expressions (or their string form) to pyarrow compute expressions.

PyIceberg's own planner uses the expression for partition and min/max pruning; this module
turns the same expression into the residual row filter applied after decoding, by column
name, so it also works for Hive folders and plain Parquet files that have no Iceberg schema.
"""

from __future__ import annotations

import copy
import threading
from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyparsing
from pyiceberg.expressions import (
    AlwaysFalse,
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNaN,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Not,
    NotEqualTo,
    NotIn,
    NotNaN,
    NotNull,
    NotStartsWith,
    Or,
    StartsWith,
    UnboundPredicate,
)
from pyiceberg.expressions.parser import boolean_expression, parse

from mlplatform.data._errors import DataError

FilterLike = str | BooleanExpression | None

_COMPARE = {
    EqualTo: lambda f, v: f == v,
    NotEqualTo: lambda f, v: f != v,
    LessThan: lambda f, v: f < v,
    LessThanOrEqual: lambda f, v: f <= v,
    GreaterThan: lambda f, v: f > v,
    GreaterThanOrEqual: lambda f, v: f >= v,
}


def parse_filter(row_filter: FilterLike) -> BooleanExpression:
    """Parse a filter string (``"year >= 2000 and kind == 'movie'"``) or pass an expression.

    Raises:
        DataError: The string is not a valid PyIceberg expression, or the type is wrong.
    """
    if row_filter is None:
        return AlwaysTrue()
    if isinstance(row_filter, BooleanExpression):
        return row_filter
    if isinstance(row_filter, str):
        if not row_filter.strip():
            return AlwaysTrue()
        try:
            return parse(row_filter)
        except pyparsing.ParseBaseException as error:
            where = error_position(row_filter, error.loc)
            rest = repr(row_filter[where:].strip()) if row_filter[where:].strip() else "the end"
            raise DataError(
                f"cannot parse filter {row_filter!r} at character {where} (at {rest}). "
                "Expected a PyIceberg expression "
                "such as \"year >= 2000 and kind == 'movie'\" (strings in single quotes; "
                "operators = == != < <= > >=, in (...), not in (...), is null, is not null, "
                "like 'prefix%', and, or, not)"
            ) from None
    raise DataError(
        f"filter must be a string or a pyiceberg BooleanExpression, got {type(row_filter).__name__}"
    )


_furthest = threading.local()


def _note_failure(text: str, loc: int, element: Any, error: Exception) -> None:
    _furthest.loc = max(_furthest.loc, loc)


@cache
def _tracing_grammar() -> pyparsing.ParserElement:
    """A private copy of PyIceberg's filter grammar that notes how far each attempt got.

    pyparsing reports where the alternative that failed *started* (often character 0);
    the furthest point any part of the grammar reached is where the text goes wrong.
    """
    grammar = copy.deepcopy(boolean_expression)
    seen: set[int] = set()
    pending = [grammar]
    while pending:
        element = pending.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        element.set_fail_action(_note_failure)
        pending.extend(getattr(element, "exprs", None) or [])
        inner = getattr(element, "expr", None)
        if isinstance(inner, pyparsing.ParserElement):
            pending.append(inner)
    return grammar


def error_position(text: str, reported: int) -> int:
    """Where a filter that does not parse goes wrong: the furthest character reached."""
    _furthest.loc = reported
    try:
        _tracing_grammar().parse_string(text, parse_all=True)
    except pyparsing.ParseBaseException as error:
        return max(_furthest.loc, error.loc)
    return reported


def filter_columns(expr: BooleanExpression) -> set[str]:
    """The column names an (unbound) expression refers to."""
    if isinstance(expr, And | Or):
        return filter_columns(expr.left) | filter_columns(expr.right)
    if isinstance(expr, Not):
        return filter_columns(expr.child)
    if isinstance(expr, UnboundPredicate):
        return {expr.term.name}
    return set()


def conjuncts(expr: BooleanExpression) -> list[BooleanExpression]:
    """The top-level AND terms of an expression."""
    if isinstance(expr, And):
        return conjuncts(expr.left) + conjuncts(expr.right)
    return [expr]


def _literal(value: Any, field_type: pa.DataType) -> pa.Scalar:
    if pa.types.is_dictionary(field_type):
        field_type = field_type.value_type
    scalar = pa.scalar(value)
    if scalar.type == field_type:
        return scalar
    try:
        return scalar.cast(field_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise DataError(
            f"filter value {value!r} cannot be compared with a column of type {field_type}: {error}"
        ) from None


def to_arrow_expression(expr: BooleanExpression, schema: pa.Schema) -> pc.Expression | None:
    """Translate an unbound PyIceberg expression into a pyarrow expression over ``schema``.

    Returns None for "always true" (no filtering needed).

    Raises:
        DataError: A column is not in ``schema``, a value does not fit its column's type, or
            the expression kind is not supported.
    """
    if isinstance(expr, AlwaysTrue):
        return None
    return _convert(expr, schema)


def _convert(expr: BooleanExpression, schema: pa.Schema) -> pc.Expression:
    if isinstance(expr, AlwaysTrue):
        return pc.scalar(True)
    if isinstance(expr, AlwaysFalse):
        return pc.scalar(False)
    if isinstance(expr, And):
        return _convert(expr.left, schema) & _convert(expr.right, schema)
    if isinstance(expr, Or):
        return _convert(expr.left, schema) | _convert(expr.right, schema)
    if isinstance(expr, Not):
        return ~_convert(expr.child, schema)
    if not isinstance(expr, UnboundPredicate):
        raise DataError(
            f"unsupported filter expression {expr!r}: pass an unbound expression "
            "(built from column names) or a filter string"
        )
    name = expr.term.name
    if name not in schema.names:
        raise DataError(
            f"filter refers to column {name!r}, which the data does not have; "
            f"columns are {schema.names}"
        )
    field = pc.field(name)
    field_type = schema.field(name).type
    if isinstance(expr, IsNull):
        return field.is_null()
    if isinstance(expr, NotNull):
        return field.is_valid()
    if isinstance(expr, IsNaN):
        return pc.is_nan(field)
    if isinstance(expr, NotNaN):
        return ~pc.is_nan(field)
    if isinstance(expr, In | NotIn):
        values = pa.array([_literal(lit.value, field_type).as_py() for lit in expr.literals])
        values = values.cast(
            field_type.value_type if pa.types.is_dictionary(field_type) else field_type
        )
        membership = pc.is_in(field, value_set=values)
        return membership if isinstance(expr, In) else ~membership
    if isinstance(expr, StartsWith | NotStartsWith):
        starts = pc.starts_with(field, pattern=str(expr.literal.value))
        return starts if isinstance(expr, StartsWith) else ~starts
    for kind, compare in _COMPARE.items():
        if isinstance(expr, kind):
            return compare(field, _literal(expr.literal.value, field_type))
    raise DataError(f"unsupported filter predicate {type(expr).__name__} in {expr!r}")
