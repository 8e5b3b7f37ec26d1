"""Typed helpers that build the Expression and Predicate messages of a pipeline
(spec/data.md §6.2, §6.3) with Python operators:

    (col("age") >= 18) & col("country").isin(["DE", "FR"])      # a Predicate
    (col("price") * col("quantity")).round(2)                   # an Expression
    col("email").lower().trim()

Nothing is evaluated here: the server checks types when it validates the pipeline.
"""

from __future__ import annotations

import datetime
import numbers
from collections.abc import Iterable
from typing import Any
from typing import Literal as TypingLiteral

import pyarrow as pa

from lepton.data.v1 import pipeline_pb2 as pl

LiteralLike = bool | int | float | str | bytes | datetime.datetime | datetime.date | pl.Literal
CastErrorLike = TypingLiteral["fail", "null"]
CAST_ERROR_POLICIES = {"fail": pl.CAST_ERROR_POLICY_FAIL, "null": pl.CAST_ERROR_POLICY_NULL}


def literal(value: LiteralLike) -> pl.Literal:  # noqa: PLR0911 - one case per type
    """A Literal message: bool → bool_value, integers → int64_value, floats → double_value,
    str → string_value, bytes → bytes_value, datetime → timestamp_value (a naive datetime is
    UTC), date → date_value ("YYYY-MM-DD")."""
    if isinstance(value, pl.Literal):
        return value
    if isinstance(value, bool):
        return pl.Literal(bool_value=value)
    if isinstance(value, numbers.Integral):
        return pl.Literal(int64_value=int(value))
    if isinstance(value, numbers.Real):
        return pl.Literal(double_value=float(value))
    if isinstance(value, str):
        return pl.Literal(string_value=value)
    if isinstance(value, bytes | bytearray):
        return pl.Literal(bytes_value=bytes(value))
    if isinstance(value, datetime.datetime):
        result = pl.Literal()
        result.timestamp_value.FromDatetime(value)
        return result
    if isinstance(value, datetime.date):
        return pl.Literal(date_value=value.isoformat())
    raise TypeError(f"{value!r} ({type(value).__name__}) cannot be a pipeline literal")


def type_string(kind: str | pa.DataType) -> str:
    """A cast type string (spec/data.md §4.2): given as is, or a pyarrow type's canonical
    spelling, e.g. pa.timestamp("ms", tz="UTC") → "timestamp[ms, tz=UTC]"."""
    return kind if isinstance(kind, str) else str(kind)


def cast_error_policy(on_error: CastErrorLike) -> int:
    try:
        return CAST_ERROR_POLICIES[on_error]
    except KeyError:
        raise ValueError(f"on_error must be 'fail' or 'null', not {on_error!r}") from None


def _expr(value: Expr | LiteralLike) -> Expr:
    return value if isinstance(value, Expr) else lit(value)


class Expr:
    """An Expression node. Arithmetic operators and the methods below build function calls;
    `to_proto()` returns the message."""

    __slots__ = ("_proto",)

    def __init__(self, proto: pl.Expression) -> None:
        self._proto = proto

    def to_proto(self) -> pl.Expression:
        """A copy of the Expression message."""
        copy = pl.Expression()
        copy.CopyFrom(self._proto)
        return copy

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._proto})".replace("\n", " ").strip()

    def _call(self, function: int, *others: Expr | LiteralLike) -> Expr:
        return call(function, self, *others)

    # Arithmetic (int64 for integers, double otherwise; §6.3).
    def __add__(self, other: Expr | LiteralLike) -> Expr:
        return self._call(pl.FUNCTION_ADD, other)

    def __radd__(self, other: LiteralLike) -> Expr:
        return call(pl.FUNCTION_ADD, other, self)

    def __sub__(self, other: Expr | LiteralLike) -> Expr:
        return self._call(pl.FUNCTION_SUBTRACT, other)

    def __rsub__(self, other: LiteralLike) -> Expr:
        return call(pl.FUNCTION_SUBTRACT, other, self)

    def __mul__(self, other: Expr | LiteralLike) -> Expr:
        return self._call(pl.FUNCTION_MULTIPLY, other)

    def __rmul__(self, other: LiteralLike) -> Expr:
        return call(pl.FUNCTION_MULTIPLY, other, self)

    def __truediv__(self, other: Expr | LiteralLike) -> Expr:
        return self._call(pl.FUNCTION_DIVIDE, other)

    def __rtruediv__(self, other: LiteralLike) -> Expr:
        return call(pl.FUNCTION_DIVIDE, other, self)

    def __pow__(self, other: Expr | LiteralLike) -> Expr:
        return self._call(pl.FUNCTION_POWER, other)

    def __rpow__(self, other: LiteralLike) -> Expr:
        return call(pl.FUNCTION_POWER, other, self)

    def __neg__(self) -> Expr:
        return self._call(pl.FUNCTION_NEGATE)

    def __abs__(self) -> Expr:
        return self._call(pl.FUNCTION_ABS)

    # Numeric functions.
    def sqrt(self) -> Expr:
        return self._call(pl.FUNCTION_SQRT)

    def exp(self) -> Expr:
        return self._call(pl.FUNCTION_EXP)

    def log(self) -> Expr:
        return self._call(pl.FUNCTION_LOG)

    def round(self, digits: int | None = None) -> Expr:
        """Rounded to `digits` decimal places (ties to even); None means the server's default,
        0."""
        if digits is None:
            return self._call(pl.FUNCTION_ROUND)
        return self._call(pl.FUNCTION_ROUND, int(digits))

    def floor(self) -> Expr:
        return self._call(pl.FUNCTION_FLOOR)

    def ceil(self) -> Expr:
        return self._call(pl.FUNCTION_CEIL)

    # String functions.
    def upper(self) -> Expr:
        return self._call(pl.FUNCTION_UPPER)

    def lower(self) -> Expr:
        return self._call(pl.FUNCTION_LOWER)

    def trim(self) -> Expr:
        return self._call(pl.FUNCTION_TRIM)

    def length(self) -> Expr:
        return self._call(pl.FUNCTION_LENGTH)

    def substring(self, start: int, length: int) -> Expr:
        return self._call(pl.FUNCTION_SUBSTRING, int(start), int(length))

    def replace(self, pattern: str, replacement: str) -> Expr:
        return self._call(pl.FUNCTION_REPLACE, str(pattern), str(replacement))

    def cast(self, kind: str | pa.DataType, *, on_error: CastErrorLike = "fail") -> Expr:
        """A conversion to `kind` (a cast type string or a pyarrow type)."""
        return Expr(
            pl.Expression(
                cast=pl.CastExpression(
                    input=self.to_proto(),
                    type=type_string(kind),
                    on_error=cast_error_policy(on_error),
                )
            )
        )


class Column(Expr):
    """A column reference. Besides the Expr operators it builds predicates: comparisons with
    a literal or another column, and the null, set and string tests."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__(pl.Expression(column=name))
        self.name = name

    def _compare(self, operator: int, other: object) -> Condition:
        if isinstance(other, Column):
            comparison = pl.Comparison(column=self.name, operator=operator, other_column=other.name)
        elif isinstance(other, Expr):
            raise TypeError("a comparison takes a column and a literal or another column")
        elif other is None:
            raise TypeError("compare with None through is_null() or is_not_null()")
        else:
            comparison = pl.Comparison(
                column=self.name,
                operator=operator,
                value=literal(other),  # type: ignore[arg-type]
            )
        return Condition(pl.Predicate(comparison=comparison))

    def __eq__(self, other: object) -> Condition:  # type: ignore[override]
        return self._compare(pl.COMPARISON_OPERATOR_EQUAL, other)

    def __ne__(self, other: object) -> Condition:  # type: ignore[override]
        return self._compare(pl.COMPARISON_OPERATOR_NOT_EQUAL, other)

    def __lt__(self, other: object) -> Condition:
        return self._compare(pl.COMPARISON_OPERATOR_LESS, other)

    def __le__(self, other: object) -> Condition:
        return self._compare(pl.COMPARISON_OPERATOR_LESS_OR_EQUAL, other)

    def __gt__(self, other: object) -> Condition:
        return self._compare(pl.COMPARISON_OPERATOR_GREATER, other)

    def __ge__(self, other: object) -> Condition:
        return self._compare(pl.COMPARISON_OPERATOR_GREATER_OR_EQUAL, other)

    __hash__ = None  # type: ignore[assignment]

    def is_null(self) -> Condition:
        return Condition(pl.Predicate(is_null=pl.IsNull(column=self.name)))

    def is_not_null(self) -> Condition:
        return ~self.is_null()

    def isin(self, values: Iterable[LiteralLike]) -> Condition:
        literals = [literal(v) for v in values]
        return Condition(pl.Predicate(in_set=pl.InSet(column=self.name, values=literals)))

    def _match(self, operator: int, pattern: str, ignore_case: bool) -> Condition:
        match = pl.StringMatch(
            column=self.name, operator=operator, pattern=pattern, ignore_case=ignore_case
        )
        return Condition(pl.Predicate(string_match=match))

    def contains(self, pattern: str, *, ignore_case: bool = False) -> Condition:
        return self._match(pl.STRING_MATCH_OPERATOR_CONTAINS, pattern, ignore_case)

    def startswith(self, pattern: str, *, ignore_case: bool = False) -> Condition:
        return self._match(pl.STRING_MATCH_OPERATOR_STARTS_WITH, pattern, ignore_case)

    def endswith(self, pattern: str, *, ignore_case: bool = False) -> Condition:
        return self._match(pl.STRING_MATCH_OPERATOR_ENDS_WITH, pattern, ignore_case)


class Condition:
    """A Predicate. Combine with `&` (all_of), `|` (any_of) and `~` (negate); Python's `and`,
    `or`, `not` and chained comparisons cannot be overloaded and raise TypeError."""

    __slots__ = ("_proto",)

    def __init__(self, proto: pl.Predicate) -> None:
        self._proto = proto

    def to_proto(self) -> pl.Predicate:
        """A copy of the Predicate message."""
        copy = pl.Predicate()
        copy.CopyFrom(self._proto)
        return copy

    def __and__(self, other: Condition) -> Condition:
        return all_of(self, other)

    def __or__(self, other: Condition) -> Condition:
        return any_of(self, other)

    def __invert__(self) -> Condition:
        return Condition(pl.Predicate(negate=self.to_proto()))

    def __bool__(self) -> bool:
        raise TypeError("use &, | and ~ to combine conditions, not and, or, not")

    def __repr__(self) -> str:
        return f"Condition({self._proto})".replace("\n", " ").strip()


def _flatten(kind: str, conditions: Iterable[Condition | pl.Predicate]) -> list[pl.Predicate]:
    predicates: list[pl.Predicate] = []
    for condition in conditions:
        proto = condition.to_proto() if isinstance(condition, Condition) else condition
        if proto.WhichOneof("kind") == kind:
            predicates.extend(getattr(proto, kind).predicates)
        else:
            predicates.append(proto)
    return predicates


def all_of(*conditions: Condition | pl.Predicate) -> Condition:
    """True when every condition is true (nested all_of lists are flattened)."""
    predicates = _flatten("all_of", conditions)
    return Condition(pl.Predicate(all_of=pl.PredicateList(predicates=predicates)))


def any_of(*conditions: Condition | pl.Predicate) -> Condition:
    """True when any condition is true (nested any_of lists are flattened)."""
    predicates = _flatten("any_of", conditions)
    return Condition(pl.Predicate(any_of=pl.PredicateList(predicates=predicates)))


def col(name: str) -> Column:
    """A reference to the column `name`."""
    return Column(name)


def lit(value: LiteralLike) -> Expr:
    """A constant expression."""
    return Expr(pl.Expression(literal=literal(value)))


def call(function: int, *arguments: Expr | LiteralLike) -> Expr:
    """A call of a pipeline Function (e.g. pl.FUNCTION_ADD) on `arguments`."""
    return Expr(
        pl.Expression(
            call=pl.FunctionCall(
                function=function, arguments=[_expr(a).to_proto() for a in arguments]
            )
        )
    )


def concat(*arguments: Expr | LiteralLike) -> Expr:
    """Concatenation of two or more strings."""
    return call(pl.FUNCTION_CONCAT, *arguments)


def coalesce(*arguments: Expr | LiteralLike) -> Expr:
    """The first non-null argument."""
    return call(pl.FUNCTION_COALESCE, *arguments)


def expression(value: Expr | LiteralLike | pl.Expression | Any) -> pl.Expression:
    """An Expression message from an Expr, an Expression message or a literal value."""
    if isinstance(value, pl.Expression):
        return value
    return _expr(value).to_proto()
