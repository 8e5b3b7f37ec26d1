"""The classes of Arrow types that steps accept: numeric, text and binary types, the rows of
the comparability table of spec/data.md §6.2, integer bounds, the units of temporal types,
and the canonical type strings (§4.2) that error messages use."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from lepton_server.data.arrow_types import canonical_type

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
MS_PER_DAY = 86_400_000


def type_string(t: pa.DataType) -> str:
    """The canonical type string (§4.2), for messages."""
    return canonical_type(t)


def is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def is_bytes(t: pa.DataType) -> bool:
    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)


# The rows of the §6.2 table: which column types compare with which.
_COMPARABLE_CLASSES: list[tuple[Callable[[pa.DataType], bool], str]] = [
    (is_numeric, "number"),
    (is_text, "string"),
    (is_bytes, "binary"),
    (pa.types.is_boolean, "bool"),
    (pa.types.is_timestamp, "timestamp"),
    (pa.types.is_date, "date"),
]


def comparable_class(t: pa.DataType) -> str | None:
    """The row of the §6.2 table a column type belongs to, None for the incomparable types."""
    return next((name for matches, name in _COMPARABLE_CLASSES if matches(t)), None)


def is_mode_type(t: pa.DataType) -> bool:
    return (
        pa.types.is_boolean(t)
        or is_numeric(t)
        or is_text(t)
        or is_bytes(t)
        or pa.types.is_date(t)
        or pa.types.is_time(t)
        or pa.types.is_timestamp(t)
    )


def integer_bounds(t: pa.DataType) -> tuple[int, int]:
    info = np.iinfo(t.to_pandas_dtype())
    return int(info.min), int(info.max)
