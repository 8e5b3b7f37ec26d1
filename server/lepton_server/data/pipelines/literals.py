"""Literals (spec/data.md §6.2): a Literal message checked, converted exactly to a column's
type, and a fitted fill value reported back as a Literal (FittedColumn.fill_value)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lepton.data.v1 import pipeline_pb2 as pb
from lepton_server.data.pipelines.plans import FieldPath
from lepton_server.data.pipelines.type_classes import (
    INT64_MAX,
    INT64_MIN,
    MS_PER_DAY,
    NS_PER_UNIT,
    integer_bounds,
    is_bytes,
    is_text,
)

_EPOCH = date(1970, 1, 1)
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP_NS_UTC = pa.timestamp("ns", tz="UTC")


_LITERAL_TYPES = {
    "bool_value": pa.bool_(),
    "int64_value": pa.int64(),
    "double_value": pa.float64(),
    "string_value": pa.string(),
    "bytes_value": pa.binary(),
    "timestamp_value": _TIMESTAMP_NS_UTC,
    "date_value": pa.date32(),
}
_LITERAL_CLASSES = {
    "bool_value": "bool",
    "int64_value": "number",
    "double_value": "number",
    "string_value": "string",
    "bytes_value": "binary",
    "timestamp_value": "timestamp",
    "date_value": "date",
}


@dataclass(frozen=True)
class CheckedLiteral:
    """A checked Literal: its oneof member and value (nanoseconds for timestamps, days since
    the epoch for dates)."""

    kind: str
    value: bool | int | float | str | bytes

    @property
    def type(self) -> pa.DataType:
        return _LITERAL_TYPES[self.kind]

    @property
    def comparable_class(self) -> str:
        return _LITERAL_CLASSES[self.kind]

    def scalar(self) -> pa.Scalar:
        return pa.scalar(self.value, type=self.type)


def checked_literal(message: pb.Literal, path: FieldPath) -> CheckedLiteral:
    kind = message.WhichOneof("value")
    if kind is None:
        raise path.invalid("exactly one literal value must be set")
    if kind == "timestamp_value":
        stamp = message.timestamp_value
        if not 0 <= stamp.nanos <= 999_999_999:
            raise path.field(kind).invalid("nanos must be in 0..999999999")
        nanos = stamp.seconds * 1_000_000_000 + stamp.nanos
        if not INT64_MIN <= nanos <= INT64_MAX:
            raise path.field(kind).invalid("the instant is outside timestamp[ns, tz=UTC]")
        return CheckedLiteral(kind, nanos)
    if kind == "date_value":
        text = message.date_value
        try:
            if not _DATE_TEXT.fullmatch(text):
                raise ValueError(text)
            day = date(int(text[:4]), int(text[5:7]), int(text[8:]))
        except ValueError:
            raise path.field(kind).invalid(
                f"{text!r} is not a calendar date of the form YYYY-MM-DD"
            ) from None
        return CheckedLiteral(kind, (day - _EPOCH).days)
    return CheckedLiteral(kind, getattr(message, kind))


def convert_literal(  # noqa: PLR0911, PLR0912 - one case per type
    literal: CheckedLiteral, t: pa.DataType
) -> object | None:
    """The literal as a value of type `t` if it converts exactly (§6.2), else None."""
    kind, value = literal.kind, literal.value
    if pa.types.is_boolean(t):
        return value if kind == "bool_value" else None
    if pa.types.is_integer(t):
        if kind == "double_value":
            if not (math.isfinite(value) and float(value).is_integer()):
                return None
            value = int(value)
        elif kind != "int64_value":
            return None
        low, high = integer_bounds(t)
        return value if low <= value <= high else None
    if pa.types.is_floating(t):
        if kind not in ("int64_value", "double_value"):
            return None
        with np.errstate(over="ignore"):
            converted = float(t.to_pandas_dtype()(value))
        same = converted == value or (math.isnan(converted) and math.isnan(value))
        return converted if same else None
    if is_text(t):
        return value if kind == "string_value" else None
    if pa.types.is_fixed_size_binary(t):
        return value if kind == "bytes_value" and len(value) == t.byte_width else None
    if is_bytes(t):
        return value if kind == "bytes_value" else None
    if pa.types.is_timestamp(t):
        if kind != "timestamp_value":
            return None
        count, rest = divmod(value, NS_PER_UNIT[t.unit])
        return count if rest == 0 else None
    if pa.types.is_date32(t):
        return value if kind == "date_value" else None
    if pa.types.is_date64(t):
        return value * MS_PER_DAY if kind == "date_value" else None
    return None


def fitted_literal(scalar: pa.Scalar) -> pb.Literal:  # noqa: PLR0911 - one case per type
    """A fill value as a Literal for FittedColumn.fill_value.

    Literal has no uint64, time or date64 member (spec gap): a uint64 above 2^63-1 is reported
    as double_value, a time as string_value in Arrow's text form, a date64 as its day.
    """
    t = scalar.type
    if pa.types.is_boolean(t):
        return pb.Literal(bool_value=scalar.as_py())
    if pa.types.is_integer(t):
        value = scalar.as_py()
        if value > INT64_MAX:
            return pb.Literal(double_value=float(value))
        return pb.Literal(int64_value=value)
    if pa.types.is_floating(t):
        return pb.Literal(double_value=float(scalar.as_py()))
    if is_text(t):
        return pb.Literal(string_value=scalar.as_py())
    if is_bytes(t):
        return pb.Literal(bytes_value=scalar.as_py())
    if pa.types.is_timestamp(t):
        seconds, nanos = divmod(scalar.value * NS_PER_UNIT[t.unit], 1_000_000_000)
        literal = pb.Literal()
        literal.timestamp_value.seconds = seconds
        literal.timestamp_value.nanos = nanos
        return literal
    if pa.types.is_date(t):
        days = pc.cast(pa.array([scalar]), pa.date32())[0].as_py()
        return pb.Literal(date_value=days.isoformat())
    return pb.Literal(string_value=pc.cast(pa.array([scalar]), pa.string())[0].as_py())
