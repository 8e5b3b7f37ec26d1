"""Derived-column expressions (spec/data.md §6.3) compiled against a schema into a result type
and a function from table to array: column references, literals, casts and function calls,
integer arithmetic failing the run with ARITHMETIC_OVERFLOW."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data.pipelines.casts import (
    as_double,
    as_string,
    cast_array,
    cast_policy,
    cast_target,
)
from lepton_server.data.pipelines.literals import checked_literal
from lepton_server.data.pipelines.plans import Evaluate, FieldPath, column_array, column_index
from lepton_server.data.pipelines.type_classes import INT64_MAX, is_numeric, is_text, type_string
from lepton_server.runtime.errors import FailedPrecondition

# Unicode's White_Space property (PropList.txt), what FUNCTION_TRIM removes.
_WHITE_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True)
class ExpressionContext:
    """What an expression is compiled against: the step's input schema, the step and the
    column it produces (metadata of CAST_FAILED)."""

    schema: pa.Schema
    step_index: int
    column: str


@dataclass(frozen=True)
class _Expression:
    type: pa.DataType
    evaluate: Evaluate


_INT64_OR_DOUBLE = {
    pb.FUNCTION_ADD: (pc.add_checked, pc.add),
    pb.FUNCTION_SUBTRACT: (pc.subtract_checked, pc.subtract),
    pb.FUNCTION_MULTIPLY: (pc.multiply_checked, pc.multiply),
    pb.FUNCTION_NEGATE: (pc.negate_checked, pc.negate),
    pb.FUNCTION_ABS: (pc.abs_checked, pc.abs),
}
_DOUBLE_FUNCTIONS = {
    pb.FUNCTION_POWER: pc.power,
    pb.FUNCTION_SQRT: pc.sqrt,
    pb.FUNCTION_EXP: pc.exp,
    pb.FUNCTION_LOG: pc.ln,
    pb.FUNCTION_FLOOR: pc.floor,
    pb.FUNCTION_CEIL: pc.ceil,
}
_NUMERIC_FUNCTIONS = {
    *_INT64_OR_DOUBLE,
    *_DOUBLE_FUNCTIONS,
    pb.FUNCTION_DIVIDE,
    pb.FUNCTION_ROUND,
}
_STRING_FUNCTIONS = {
    pb.FUNCTION_CONCAT,
    pb.FUNCTION_UPPER,
    pb.FUNCTION_LOWER,
    pb.FUNCTION_TRIM,
    pb.FUNCTION_LENGTH,
    pb.FUNCTION_SUBSTRING,
    pb.FUNCTION_REPLACE,
}
# (fewest, most) arguments; None is unbounded.
_ARITY: dict[int, tuple[int, int | None]] = {
    pb.FUNCTION_ADD: (2, 2),
    pb.FUNCTION_SUBTRACT: (2, 2),
    pb.FUNCTION_MULTIPLY: (2, 2),
    pb.FUNCTION_DIVIDE: (2, 2),
    pb.FUNCTION_NEGATE: (1, 1),
    pb.FUNCTION_ABS: (1, 1),
    pb.FUNCTION_POWER: (2, 2),
    pb.FUNCTION_SQRT: (1, 1),
    pb.FUNCTION_EXP: (1, 1),
    pb.FUNCTION_LOG: (1, 1),
    pb.FUNCTION_ROUND: (1, 2),
    pb.FUNCTION_FLOOR: (1, 1),
    pb.FUNCTION_CEIL: (1, 1),
    pb.FUNCTION_CONCAT: (2, None),
    pb.FUNCTION_UPPER: (1, 1),
    pb.FUNCTION_LOWER: (1, 1),
    pb.FUNCTION_TRIM: (1, 1),
    pb.FUNCTION_LENGTH: (1, 1),
    pb.FUNCTION_SUBSTRING: (3, 3),
    pb.FUNCTION_REPLACE: (3, 3),
    pb.FUNCTION_COALESCE: (1, None),
}
# Argument positions that must be literals, and the Literal member they must set.
_LITERAL_ARGUMENTS: dict[int, dict[int, str]] = {
    pb.FUNCTION_ROUND: {1: "int64_value"},
    pb.FUNCTION_SUBSTRING: {1: "int64_value", 2: "int64_value"},
    pb.FUNCTION_REPLACE: {1: "string_value", 2: "string_value"},
}


def compile_expression(
    expression: pb.Expression, context: ExpressionContext, path: FieldPath
) -> _Expression:
    kind = expression.WhichOneof("kind")
    if kind is None:
        raise path.invalid("exactly one expression kind must be set")
    inner = path.field(kind)
    if kind == "column":
        index = column_index(context.schema, expression.column, inner)
        return _Expression(context.schema.field(index).type, lambda t: column_array(t, index))
    if kind == "literal":
        scalar = checked_literal(expression.literal, inner).scalar()
        return _Expression(scalar.type, lambda table: pa.repeat(scalar, table.num_rows))
    if kind == "cast":
        cast = expression.cast
        if not cast.HasField("input"):
            raise inner.field("input").invalid("an input expression is required")
        source = compile_expression(cast.input, context, inner.field("input"))
        target = cast_target(cast.type, source.type, inner.field("type"))
        null_on_error = cast_policy(cast.on_error, inner.field("on_error"))

        def evaluate_cast(table: pa.Table) -> pa.Array:
            values = source.evaluate(table)
            return cast_array(values, target, null_on_error, context.step_index, context.column)

        return _Expression(target, evaluate_cast)
    return _compile_call(expression.call, context, inner)


def _compile_call(
    call: pb.FunctionCall, context: ExpressionContext, path: FieldPath
) -> _Expression:
    function = call.function
    if function not in _ARITY:
        raise path.field("function").invalid(
            "a function is required" if function == 0 else f"{function} is not a function"
        )
    name = pb.Function.Name(function)
    fewest, most = _ARITY[function]
    arguments = call.arguments
    if len(arguments) < fewest or (most is not None and len(arguments) > most):
        expected = f"{fewest}" if fewest == most else f"at least {fewest}"
        if most is not None and most != fewest:
            expected = f"{fewest} or {most}"
        raise path.field("arguments").invalid(
            f"{name} takes {expected} arguments, not {len(arguments)}"
        )
    literal_kinds = _LITERAL_ARGUMENTS.get(function, {})
    operands: list[_Expression] = []
    constants: list[int | str] = []
    for position, argument in enumerate(arguments):
        item = path.field("arguments").item(position)
        if position in literal_kinds:
            constants.append(_literal_argument(function, position, argument, item))
            continue
        operand = compile_expression(argument, context, item)
        if function in _NUMERIC_FUNCTIONS and not is_numeric(operand.type):
            raise item.mismatch(f"{name} needs a numeric argument, not {type_string(operand.type)}")
        if function in _STRING_FUNCTIONS and not is_text(operand.type):
            raise item.mismatch(f"{name} needs a string argument, not {type_string(operand.type)}")
        operands.append(operand)
    if function == pb.FUNCTION_COALESCE:
        return _compile_coalesce(operands, context, path.field("arguments"))
    result_type, compute = _function_kernel(function, operands, constants, context.step_index)

    def evaluate(table: pa.Table) -> pa.Array:
        return compute([operand.evaluate(table) for operand in operands])

    return _Expression(result_type, evaluate)


def _literal_argument(
    function: int, position: int, argument: pb.Expression, path: FieldPath
) -> object:
    wanted = _LITERAL_ARGUMENTS[function][position]
    kind = "an int64" if wanted == "int64_value" else "a string"
    if argument.WhichOneof("kind") != "literal":
        raise path.invalid(f"must be {kind} literal")
    literal = checked_literal(argument.literal, path.field("literal"))
    if literal.kind != wanted:
        raise path.invalid(f"must be {kind} literal")
    if function == pb.FUNCTION_SUBSTRING and literal.value < 0:
        raise path.invalid("must not be negative")
    if function == pb.FUNCTION_REPLACE and position == 1 and not literal.value:
        raise path.invalid("the pattern must not be empty")
    return literal.value


def _function_kernel(
    function: int, operands: list[_Expression], constants: list, step_index: int
) -> tuple[pa.DataType, Callable[[list[pa.Array]], pa.Array]]:
    """The result type and the computation of a function other than COALESCE."""
    if function in _INT64_OR_DOUBLE:
        checked, plain = _INT64_OR_DOUBLE[function]
        if all(pa.types.is_integer(operand.type) for operand in operands):
            # Integer arithmetic in int64; a uint64 above 2^63-1 overflows too (§6.3).
            def integer(values: list[pa.Array]) -> pa.Array:
                return _overflow_checked(
                    lambda: checked(*[pc.cast(v, pa.int64()) for v in values]), step_index
                )

            return pa.int64(), integer
        return pa.float64(), lambda values: plain(*[as_double(v) for v in values])
    if function in _DOUBLE_FUNCTIONS:
        kernel = _DOUBLE_FUNCTIONS[function]
        return pa.float64(), lambda values: kernel(*[as_double(v) for v in values])
    result_type, kernel = _OTHER_KERNELS[function]
    return result_type, functools.partial(kernel, constants=constants)


# Functions whose result type does not depend on the argument types: (type, kernel of the
# evaluated operands and the literal arguments).
_OTHER_KERNELS: dict[int, tuple[pa.DataType, Callable[..., pa.Array]]] = {
    pb.FUNCTION_DIVIDE: (
        pa.float64(),
        lambda values, constants: _divide(as_double(values[0]), as_double(values[1])),
    ),
    pb.FUNCTION_ROUND: (
        pa.float64(),
        lambda values, constants: _round_half_even(
            as_double(values[0]), constants[0] if constants else 0
        ),
    ),
    pb.FUNCTION_LENGTH: (
        pa.int64(),
        lambda values, constants: pc.cast(pc.utf8_length(values[0]), pa.int64()),
    ),
    pb.FUNCTION_CONCAT: (
        pa.string(),
        lambda values, constants: pc.binary_join_element_wise(*map(as_string, values), ""),
    ),
    pb.FUNCTION_UPPER: (
        pa.string(),
        lambda values, constants: _map_text(values[0], pc.ascii_upper, str.upper),
    ),
    pb.FUNCTION_LOWER: (
        pa.string(),
        lambda values, constants: _map_text(values[0], pc.ascii_lower, str.lower),
    ),
    pb.FUNCTION_TRIM: (
        pa.string(),
        lambda values, constants: pc.utf8_trim(as_string(values[0]), characters=_WHITE_SPACE),
    ),
    pb.FUNCTION_SUBSTRING: (
        pa.string(),
        lambda values, constants: pc.utf8_slice_codeunits(
            as_string(values[0]), constants[0], min(constants[0] + constants[1], INT64_MAX)
        ),
    ),
    pb.FUNCTION_REPLACE: (
        pa.string(),
        lambda values, constants: pc.replace_substring(
            as_string(values[0]), pattern=constants[0], replacement=constants[1]
        ),
    ),
}


def _compile_coalesce(
    operands: list[_Expression], context: ExpressionContext, path: FieldPath
) -> _Expression:
    widened = [_widened(operand.type) for operand in operands]
    for position, t in enumerate(widened):
        if not t.equals(widened[0]):
            raise path.item(position).mismatch(
                "COALESCE arguments must share a type; "
                f"{type_string(t)} is not {type_string(widened[0])}"
            )
    result_type = widened[0]
    if not _coalesce_defined(result_type):
        raise path.item(0).mismatch(f"COALESCE does not accept {type_string(result_type)}")

    def evaluate(table: pa.Table) -> pa.Array:
        values = [operand.evaluate(table) for operand in operands]
        converted = _overflow_checked(
            lambda: [pc.cast(v, result_type) for v in values], context.step_index
        )
        return converted[0] if len(converted) == 1 else pc.coalesce(*converted)

    return _Expression(result_type, evaluate)


def _widened(t: pa.DataType) -> pa.DataType:
    """Numeric widening of COALESCE (§6.3): integers to int64, floats to double."""
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    return t


@functools.cache
def _coalesce_defined(t: pa.DataType) -> bool:
    empty = pa.array([], type=t)
    try:
        pc.coalesce(empty, empty)
    except pa.ArrowException:
        return False
    return True


def _overflow_checked(compute: Callable[[], object], step_index: int) -> object:
    try:
        return compute()
    except pa.ArrowInvalid as error:
        raise FailedPrecondition(
            reason="ARITHMETIC_OVERFLOW",
            message=f"integer overflow in step {step_index}: {error}",
            metadata={"step_index": str(step_index)},
        ) from None


def _divide(dividend: pa.Array, divisor: pa.Array) -> pa.Array:
    quotient = pc.divide(dividend, divisor)
    return pc.if_else(pc.equal(divisor, 0.0), pa.scalar(None, pa.float64()), quotient)


def _round_half_even(values: pa.Array, digits: int) -> pa.Array:
    """Each double rounded to `digits` decimal places, ties to even, correctly rounded.

    The result is the double nearest to the exact decimal rounding of the exact binary value,
    which is what Python's round(float, n) computes. The vectorized path scales by 10^|n| and
    rounds with rint; values whose scaled form is within a few ulps of a tie, beyond 2^52, or
    not finite (and every value when |n| > 22, where 10^|n| is inexact) are redone with round().
    """
    x = pc.fill_null(values, 0.0).to_numpy(zero_copy_only=False)
    result = np.empty_like(x)
    doubtful = np.ones(len(x), dtype=bool)
    if abs(digits) <= 22:
        scale = 10.0 ** abs(digits)
        with np.errstate(all="ignore"):
            scaled = x * scale if digits >= 0 else x / scale
            rounded = np.rint(scaled)
            result = rounded / scale if digits >= 0 else rounded * scale
            fraction = np.abs(scaled - np.trunc(scaled))
            doubtful = (
                ~np.isfinite(scaled)
                | (np.abs(scaled) >= 2.0**52)
                | (np.abs(fraction - 0.5) <= 4 * np.spacing(np.abs(scaled)))
            )
    if doubtful.any():
        result[doubtful] = [round(v, digits) for v in x[doubtful].tolist()]
    return pa.array(result, pa.float64(), mask=pc.is_null(values).to_numpy(zero_copy_only=False))


def _map_text(
    values: pa.Array, ascii_kernel: Callable[[pa.Array], pa.Array], method: Callable[[str], str]
) -> pa.Array:
    """Unicode default case mapping: Arrow for ASCII values, Python's str methods (full
    mappings such as ß → SS, final sigma) for the rest."""
    values = as_string(values)
    result = ascii_kernel(values)
    others = pc.invert(pc.fill_null(pc.string_is_ascii(values), True))
    if not pc.any(others).as_py():
        return result
    mapped = [method(v) for v in values.filter(others).to_pylist()]
    return pc.replace_with_mask(result, others, pa.array(mapped, pa.string()))
