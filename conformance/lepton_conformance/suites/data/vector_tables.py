"""Arrow tables written as data in the YAML vectors: a table is a list of columns
`{name, type, values}`, the type a canonical type string (spec/data.md §4.2: the cast type
strings, `null`, `fixed_size_binary[W]` and `list<item: T>`), the values plain YAML with a few
spellings for what YAML lacks:

* `.nan`, `.inf`, `-.inf` for floating-point specials (YAML's own);
* `{hex: "00ff"}` for bytes;
* `{sha256: "text"}` / `{sha256_hex: "00ff"}` for the lowercase hex SHA-256 of the UTF-8 text
  or of the bytes (the pseudonyms of spec/data.md §6.4's `hash`, written as their definition);
* ISO dates ("2024-02-29") for date columns, decimal strings for decimal columns, integers in
  the column's unit for times, timestamps and durations."""

from __future__ import annotations

import datetime
import decimal
import hashlib
import re
from typing import Any

import pyarrow as pa

_SIMPLE = {
    "null": pa.null(),
    "bool": pa.bool_(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "halffloat": pa.float16(),
    "float": pa.float32(),
    "double": pa.float64(),
    "string": pa.string(),
    "large_string": pa.large_string(),
    "binary": pa.binary(),
    "large_binary": pa.large_binary(),
    "date32[day]": pa.date32(),
    "date64[ms]": pa.date64(),
}
_PARAMETERIZED = re.compile(
    r"(?P<temporal>time32|time64|timestamp|duration)\[(?P<unit>s|ms|us|ns)(?:, tz=(?P<tz>.+))?\]"
    r"|(?P<decimal>decimal128|decimal256)\((?P<precision>[0-9]+), (?P<scale>[0-9]+)\)"
    r"|fixed_size_binary\[(?P<width>[0-9]+)\]"
    r"|list<item: (?P<item>.+)>"
)


def arrow_type(text: str) -> pa.DataType:
    """The Arrow type a canonical type string names."""
    if text in _SIMPLE:
        return _SIMPLE[text]
    match = _PARAMETERIZED.fullmatch(text)
    if match is None:
        raise ValueError(f"the vectors use no type {text!r}")
    if match["temporal"]:
        make = {
            "time32": pa.time32,
            "time64": pa.time64,
            "duration": pa.duration,
            "timestamp": lambda unit: pa.timestamp(unit, tz=match["tz"]),
        }[match["temporal"]]
        return make(match["unit"])
    if match["decimal"]:
        make = pa.decimal128 if match["decimal"] == "decimal128" else pa.decimal256
        return make(int(match["precision"]), int(match["scale"]))
    if match["width"]:
        return pa.binary(int(match["width"]))
    return pa.list_(arrow_type(match["item"]))


def value(raw: Any, t: pa.DataType) -> Any:  # noqa: PLR0911 - one case per spelling
    """A YAML value as the Python value pyarrow takes for type `t`."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        if "hex" in raw:
            return bytes.fromhex(raw["hex"])
        if "sha256" in raw:
            return hashlib.sha256(raw["sha256"].encode("utf-8")).hexdigest()
        if "sha256_hex" in raw:
            return hashlib.sha256(bytes.fromhex(raw["sha256_hex"])).hexdigest()
        raise ValueError(f"unknown value spelling {raw!r}")
    if pa.types.is_date(t) and isinstance(raw, str):
        return datetime.date.fromisoformat(raw)
    if pa.types.is_decimal(t):
        return decimal.Decimal(str(raw))
    if pa.types.is_floating(t) and isinstance(raw, int):
        return float(raw)
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t)) and isinstance(raw, str):
        return raw.encode("utf-8")
    if pa.types.is_list(t):
        return [value(item, t.value_type) for item in raw]
    return raw


def column(spec: dict[str, Any]) -> tuple[pa.Field, pa.Array]:
    t = arrow_type(spec["type"])
    return pa.field(spec["name"], t), pa.array([value(v, t) for v in spec["values"]], t)


def table(columns: list[dict[str, Any]]) -> pa.Table:
    """The table the column specs describe."""
    built = [column(spec) for spec in columns]
    return pa.Table.from_arrays([a for _, a in built], schema=pa.schema([f for f, _ in built]))
