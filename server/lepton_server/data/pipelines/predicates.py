"""Predicates (spec/data.md §6.2) compiled against a schema into a function from a table to a
boolean mask in three-valued logic, null meaning unknown: comparisons within the type
classes of the §6.2 table (exact for integers, timestamps and dates), in_set, string_match,
is_null, and all_of, any_of and negate over them."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data.pipelines.casts import as_double
from lepton_server.data.pipelines.literals import CheckedLiteral, checked_literal, convert_literal
from lepton_server.data.pipelines.plans import (
    Evaluate,
    FieldPath,
    check_enum,
    column_array,
    column_index,
)
from lepton_server.data.pipelines.type_classes import (
    MS_PER_DAY,
    NS_PER_UNIT,
    comparable_class,
    is_text,
    type_string,
)

_MAX_IN_SET_VALUES = 10_000


def compile_predicate(predicate: pb.Predicate, schema: pa.Schema, path: FieldPath) -> Evaluate:
    kind = predicate.WhichOneof("kind")
    if kind is None:
        raise path.invalid("exactly one predicate kind must be set")
    inner = path.field(kind)
    if kind == "comparison":
        return _compile_comparison(predicate.comparison, schema, inner)
    if kind in ("all_of", "any_of"):
        items = getattr(predicate, kind).predicates
        if not items:
            raise inner.field("predicates").invalid("at least one predicate is required")
        parts = [
            compile_predicate(item, schema, inner.field("predicates").item(position))
            for position, item in enumerate(items)
        ]
        combine = pc.and_kleene if kind == "all_of" else pc.or_kleene
        return lambda table: functools.reduce(combine, [part(table) for part in parts])
    if kind == "negate":
        negated = compile_predicate(predicate.negate, schema, inner)
        return lambda table: pc.invert(negated(table))
    if kind == "is_null":
        index = column_index(schema, predicate.is_null.column, inner.field("column"))
        return lambda table: pc.is_null(column_array(table, index))
    if kind == "in_set":
        return _compile_in_set(predicate.in_set, schema, inner)
    return _compile_string_match(predicate.string_match, schema, inner)


_ARROW_COMPARISONS: dict[int, Callable[[object, object], pa.Array]] = {
    pb.COMPARISON_OPERATOR_EQUAL: pc.equal,
    pb.COMPARISON_OPERATOR_NOT_EQUAL: pc.not_equal,
    pb.COMPARISON_OPERATOR_LESS: pc.less,
    pb.COMPARISON_OPERATOR_LESS_OR_EQUAL: pc.less_equal,
    pb.COMPARISON_OPERATOR_GREATER: pc.greater,
    pb.COMPARISON_OPERATOR_GREATER_OR_EQUAL: pc.greater_equal,
}
_SIGN_COMPARISONS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    pb.COMPARISON_OPERATOR_EQUAL: lambda sign: sign == 0,
    pb.COMPARISON_OPERATOR_NOT_EQUAL: lambda sign: sign != 0,
    pb.COMPARISON_OPERATOR_LESS: lambda sign: sign < 0,
    pb.COMPARISON_OPERATOR_LESS_OR_EQUAL: lambda sign: sign <= 0,
    pb.COMPARISON_OPERATOR_GREATER: lambda sign: sign > 0,
    pb.COMPARISON_OPERATOR_GREATER_OR_EQUAL: lambda sign: sign >= 0,
}


def _compile_comparison(comparison: pb.Comparison, schema: pa.Schema, path: FieldPath) -> Evaluate:
    left = column_index(schema, comparison.column, path.field("column"))
    operator = comparison.operator
    check_enum(operator, list(_ARROW_COMPARISONS), path.field("operator"), required=True)
    left_type = schema.field(left).type
    left_class = comparable_class(left_type)
    if left_class is None:
        raise path.field("column").mismatch(
            f"a column of type {type_string(left_type)} is not comparable"
        )
    operand = comparison.WhichOneof("operand")
    if operand is None:
        raise path.invalid("an operand (value or other_column) is required")
    operand_path = path.field(operand)
    literal: CheckedLiteral | None = None
    if operand == "value":
        literal = checked_literal(comparison.value, operand_path)
        right_type, right_class = literal.type, literal.comparable_class
    else:
        right = column_index(schema, comparison.other_column, operand_path)
        right_type = schema.field(right).type
        right_class = comparable_class(right_type)
    if right_class != left_class:
        raise operand_path.mismatch(
            f"{type_string(left_type)} and {type_string(right_type)} are not comparable "
            "(spec/data.md §6.2)"
        )
    if left_class == "bool" and operator not in (
        pb.COMPARISON_OPERATOR_EQUAL,
        pb.COMPARISON_OPERATOR_NOT_EQUAL,
    ):
        raise path.field("operator").mismatch("booleans support EQUAL and NOT_EQUAL only")

    def evaluate(table: pa.Table) -> pa.Array:
        values = column_array(table, left)
        other: pa.Array | pa.Scalar | int = (
            literal.value if literal is not None else column_array(table, right)
        )
        return _compare(operator, left_class, values, other, right_type)

    return evaluate


def _compare(
    operator: int, comparable: str, left: pa.Array, right: object, right_type: pa.DataType
) -> pa.Array:
    """`left <operator> right` by the rules of §6.2; `right` is an array or a literal value."""
    is_column = isinstance(right, pa.Array)
    if comparable == "number":
        if pa.types.is_floating(left.type) or pa.types.is_floating(right_type):
            # In double if either side is floating-point (§6.2).
            left = as_double(left)
            right = as_double(right) if is_column else pa.scalar(float(right))
            return _ARROW_COMPARISONS[operator](left, right)
        return _exact_compare(operator, left, 1, right, 1)
    if comparable == "timestamp":
        right_scale = NS_PER_UNIT[right_type.unit]
        return _exact_compare(operator, left, NS_PER_UNIT[left.type.unit], right, right_scale)
    if comparable == "date":
        return _exact_compare(operator, _days(left), 1, _days(right) if is_column else right, 1)
    if comparable in ("string", "binary"):
        wide = pa.large_string() if comparable == "string" else pa.large_binary()
        left = pc.cast(left, wide)
        right = pc.cast(right, wide) if is_column else pa.scalar(right, type=wide)
    return _ARROW_COMPARISONS[operator](left, right)


def _days(array: pa.Array) -> pa.Array:
    """Dates as int64 calendar days since the epoch (a date64 counts by the day it falls on)."""
    if pa.types.is_date32(array.type):
        return pc.cast(pc.cast(array, pa.int32()), pa.int64())
    millis, valid = _integers(array)
    return pa.array(millis // MS_PER_DAY, pa.int64(), mask=None if valid is None else ~valid)


def _integers(array: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Integer-valued (or temporal) array as int64 or uint64 numbers with nulls as 0, and
    the validity (None when there are no nulls)."""
    numbers = array if pa.types.is_uint64(array.type) else pc.cast(array, pa.int64())
    valid = None if array.null_count == 0 else np.asarray(pc.is_valid(array), dtype=bool)
    return pc.fill_null(numbers, 0).to_numpy(zero_copy_only=False), valid


def _exact_compare(
    operator: int, left: pa.Array, left_scale: int, right: pa.Array | int, right_scale: int
) -> pa.Array:
    """left·left_scale <operator> right·right_scale, exactly, for integer-valued data.

    Used for integers (uint64 values above 2^63-1 included), timestamps of any units (the
    scales are nanoseconds per unit) and dates; `right` is an array or a Python integer.
    """
    a, valid = _integers(left)
    if isinstance(right, pa.Array):
        b, right_valid = _integers(right)
        sign = _scaled_sign(a, left_scale, b, right_scale)
        if right_valid is not None:
            valid = right_valid if valid is None else valid & right_valid
    else:
        sign = _sign_against(a, left_scale, right * right_scale)
    result = _SIGN_COMPARISONS[operator](sign)
    return pa.array(result, pa.bool_(), mask=None if valid is None else ~valid)


def _sign_against(a: np.ndarray, scale: int, target: int) -> np.ndarray:
    """The sign of a·scale - target for each a, with `target` an exact Python integer."""
    quotient, remainder = divmod(target, scale)
    info = np.iinfo(a.dtype)
    if quotient < info.min:
        return np.ones(len(a), dtype=np.int8)
    if quotient > info.max:
        return -np.ones(len(a), dtype=np.int8)
    q = a.dtype.type(quotient)
    if remainder == 0:
        return (a > q).astype(np.int8) - (a < q).astype(np.int8)
    # target/scale lies strictly between q and q + 1.
    return np.where(a <= q, np.int8(-1), np.int8(1))


def _scaled_sign(a: np.ndarray, a_scale: int, b: np.ndarray, b_scale: int) -> np.ndarray:
    """The sign of a·a_scale - b·b_scale, elementwise; one scale divides the other."""
    if a_scale == b_scale:
        return _sign(a, b)
    if a_scale < b_scale:
        return -_scaled_sign(b, b_scale, a, a_scale)
    factor = np.int64(a_scale // b_scale)
    quotient, remainder = np.divmod(b, factor)  # b = quotient·factor + remainder, 0 <= r < f
    sign = _sign(a, quotient)
    return np.where(sign != 0, sign, -(remainder > 0).astype(np.int8))


def _sign(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The sign of a - b for int64 or uint64 arrays, exactly."""
    if a.dtype == b.dtype:
        return (a > b).astype(np.int8) - (a < b).astype(np.int8)
    if a.dtype == np.uint64:
        return -_sign(b, a)
    non_negative = a >= 0
    unsigned = np.where(non_negative, a, 0).astype(np.uint64)
    sign = (unsigned > b).astype(np.int8) - (unsigned < b).astype(np.int8)
    return np.where(non_negative, sign, np.int8(-1))


def _compile_in_set(in_set: pb.InSet, schema: pa.Schema, path: FieldPath) -> Evaluate:
    index = column_index(schema, in_set.column, path.field("column"))
    values_path = path.field("values")
    if not in_set.values or len(in_set.values) > _MAX_IN_SET_VALUES:
        raise values_path.invalid(f"between 1 and {_MAX_IN_SET_VALUES} values are required")
    t = schema.field(index).type
    comparable = comparable_class(t)
    if comparable is None:
        raise path.field("column").mismatch(f"a column of type {type_string(t)} is not comparable")
    exact: list[object] = []  # literals converted to the column's type
    doubles: list[float] = []  # literals compared in double (§6.2)
    for position, message in enumerate(in_set.values):
        item = values_path.item(position)
        literal = checked_literal(message, item)
        converted = convert_literal(literal, t)
        if literal.comparable_class != comparable:
            raise item.mismatch(f"the value is not comparable with {type_string(t)} (§6.2)")
        if converted is None:
            raise item.mismatch(f"the value does not convert exactly to {type_string(t)} (§6.2)")
        if pa.types.is_floating(t) or literal.kind == "double_value":
            doubles.append(float(literal.value))
        else:
            exact.append(converted)
    if pa.types.is_date64(t):
        exact = [days // MS_PER_DAY for days in exact]
    # NaN is never equal to anything; -0.0 equals 0.0 (IEEE 754).
    double_set = pa.array([x + 0.0 for x in doubles if not math.isnan(x)], pa.float64())

    def evaluate(table: pa.Table) -> pa.Array:
        values = column_array(table, index)
        found = pa.array(np.zeros(len(values), dtype=bool))
        if exact:
            keys = _days(values) if pa.types.is_date(t) else values
            found = pc.is_in(keys, value_set=pa.array(exact, keys.type))
        if doubles:
            doubled = pc.add(as_double(values), 0.0)
            found = pc.or_(found, pc.is_in(doubled, value_set=double_set))
        return pc.if_else(pc.is_valid(values), found, pa.scalar(None, pa.bool_()))

    return evaluate


_STRING_MATCHERS = {
    pb.STRING_MATCH_OPERATOR_CONTAINS: pc.match_substring,
    pb.STRING_MATCH_OPERATOR_STARTS_WITH: pc.starts_with,
    pb.STRING_MATCH_OPERATOR_ENDS_WITH: pc.ends_with,
}


def _compile_string_match(match: pb.StringMatch, schema: pa.Schema, path: FieldPath) -> Evaluate:
    index = column_index(schema, match.column, path.field("column"))
    t = schema.field(index).type
    if not is_text(t):
        raise path.field("column").mismatch(
            f"string_match needs a string column, not {type_string(t)}"
        )
    check_enum(match.operator, list(_STRING_MATCHERS), path.field("operator"), required=True)
    matcher = _STRING_MATCHERS[match.operator]
    pattern, ignore_case = match.pattern, match.ignore_case

    # ignore_case goes through RE2, whose case-insensitive matching equates the characters of
    # one Unicode simple case folding orbit: simple case folding of both sides (DAT-114).
    return lambda table: matcher(
        column_array(table, index), pattern=pattern, ignore_case=ignore_case
    )
