"""Casts (spec/data.md §4.2, ColumnCast): a cast's target type and error policy checked, and
values cast exactly, failing the run with CAST_FAILED or nulling what does not convert; also
the plain conversions to double and string that comparisons and expressions use."""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data.arrow_types import parse_cast_type
from lepton_server.data.pipelines.plans import FieldPath, check_enum
from lepton_server.data.pipelines.type_classes import is_numeric, type_string
from lepton_server.runtime.errors import FailedPrecondition


def as_double(values: pa.Array) -> pa.Array:
    # Not a safe cast: an int64 beyond 2^53 rounds to the nearest double, as §6.2 and §6.3 ask.
    return pc.cast(values, pa.float64(), safe=False)


def as_string(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.string())


def cast_target(text: str, source: pa.DataType, path: FieldPath) -> pa.DataType:
    try:
        target = parse_cast_type(text)
    except ValueError as error:
        raise path.invalid(str(error)) from None
    if not _cast_defined(source, target):
        raise path.mismatch(f"Arrow defines no conversion from {type_string(source)} to {text}")
    return target


def cast_policy(policy: int, path: FieldPath) -> bool:
    """Whether values that do not convert become null (CAST_ERROR_POLICY_NULL)."""
    check_enum(policy, list(pb.CastErrorPolicy.values()), path, required=False)
    return policy == pb.CAST_ERROR_POLICY_NULL


@functools.cache
def _cast_defined(source: pa.DataType, target: pa.DataType) -> bool:
    try:
        pc.cast(pa.array([], type=source), target)
    except pa.ArrowException:
        return False
    return True


def cast_array(
    values: pa.Array, target: pa.DataType, null_on_error: bool, step_index: int, column: str
) -> pa.Array:
    if values.type.equals(target):
        return values
    try:
        return _exact_cast(values, target)
    except pa.ArrowInvalid as error:
        if not null_on_error:
            raise FailedPrecondition(
                reason="CAST_FAILED",
                message=f"column {column!r} in step {step_index}: {error}",
                metadata={"step_index": str(step_index), "column": column},
            ) from None
    return _cast_or_null(values, target)


def _exact_cast(values: pa.Array, target: pa.DataType) -> pa.Array:
    """Arrow's safe cast, plus the two losses it lets through (DAT-116): a finite number that
    overflows a floating-point type to infinity, and a float whose fractional digits a decimal
    type cannot hold (Arrow rounds those). Raises ArrowInvalid."""
    result = pc.cast(values, target, safe=True)
    source = values.type
    if pa.types.is_floating(target) and (is_numeric(source) or pa.types.is_decimal(source)):
        overflowed = pc.is_inf(result)
        if pa.types.is_floating(source):
            overflowed = pc.and_(overflowed, pc.invert(pc.is_inf(values)))
        if pc.any(overflowed).as_py():
            raise pa.ArrowInvalid(f"a value overflows {type_string(target)}")
    if pa.types.is_decimal(target) and pa.types.is_floating(source):
        doubles = pc.cast(values, pa.float64())
        if pc.any(pc.not_equal(pc.round(doubles, target.scale), doubles)).as_py():
            raise pa.ArrowInvalid(f"a value has more than {target.scale} fractional digits")
    return result


def _cast_or_null(values: pa.Array, target: pa.DataType) -> pa.Array:
    """`values` cast to `target` with the values that do not convert made null.

    Arrow has no per-value error mode. Each distinct value is cast once (bad values tend to
    repeat: "", "n/a"); numbers bound for an integer type first lose, in one vectorized pass,
    the values whose round trip through the target type changes them; what remains is cast by
    bisection, which isolates each failing value in O(log n) casts.
    """
    try:
        encoded = values.dictionary_encode()
    except pa.ArrowException:
        return _bisected_cast(values, target)
    distinct = encoded.dictionary
    if pa.types.is_integer(target) and is_numeric(distinct.type):
        if pa.types.is_float16(distinct.type):  # few kernels take halffloat; float is exact
            distinct = pc.cast(distinct, pa.float32())
        distinct = _without_integer_misfits(distinct, target)
    return _bisected_cast(distinct, target).take(encoded.indices)


def _without_integer_misfits(values: pa.Array, target: pa.DataType) -> pa.Array:
    """`values` with nulls where they certainly do not convert to the integer type `target`:
    NaN, infinities, fractions and values out of range (an unsafe cast there and back changes
    them, or flips their sign). Only a filter: the safe cast still decides the rest."""
    with np.errstate(all="ignore"):
        converted = pc.cast(values, target, safe=False)
        back = pc.cast(converted, values.type, safe=False)
    kept = pc.and_(
        pc.equal(back, values),
        pc.equal(
            pc.less(values, pa.scalar(0, values.type)), pc.less(converted, pa.scalar(0, target))
        ),
    )
    return pc.if_else(kept, values, pa.scalar(None, values.type))


def _bisected_cast(values: pa.Array, target: pa.DataType) -> pa.Array:
    try:
        return _exact_cast(values, target)
    except pa.ArrowInvalid:
        if len(values) == 1:
            return pa.nulls(1, target)
    middle = len(values) // 2
    return pa.concat_arrays(
        [
            _bisected_cast(values.slice(0, middle), target),
            _bisected_cast(values.slice(middle), target),
        ]
    )
