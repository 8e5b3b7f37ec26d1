"""Arrow types of a version's schema: the supported set, canonical strings and cast targets.

spec/data.md §4.1 fixes which Arrow types a schema may hold, §4.2 the one string that names
each of them (`Field.type`, and the content digest of §4.3) and the smaller grammar of type
strings that pipeline casts accept. Everything here is plain pyarrow: the servicers turn
`UnsupportedArrowType` into UNSUPPORTED_ARROW_TYPE, `InvalidColumnNames` into
INVALID_ARROW_DATA and a `ValueError` from `parse_cast_type` into INVALID_FIELD.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable

import pyarrow as pa

# Types without children whose canonical string is pyarrow's own `str(type)` (§4.2).
_LEAF_PREDICATES: tuple[Callable[[pa.DataType], bool], ...] = (
    pa.types.is_null,
    pa.types.is_boolean,
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_decimal128,
    pa.types.is_decimal256,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_binary,
    pa.types.is_large_binary,
    pa.types.is_fixed_size_binary,
    pa.types.is_date32,
    pa.types.is_date64,
    pa.types.is_time32,
    pa.types.is_time64,
    pa.types.is_timestamp,
    pa.types.is_duration,
)


class UnsupportedArrowType(Exception):
    """A schema holds a type outside spec/data.md §4.1, somewhere inside top-level `column`."""

    def __init__(self, column: str, arrow_type: pa.DataType) -> None:
        self.column = column
        self.arrow_type = arrow_type
        super().__init__(
            f"column {column!r} holds the Arrow type {arrow_type}, which is not one of the "
            "supported types of spec/data.md §4.1"
        )


class InvalidColumnNames(ValueError):
    """Top-level column names are empty or repeated (spec/data.md §4.1)."""


def _is_leaf(t: pa.DataType) -> bool:
    return any(predicate(t) for predicate in _LEAF_PREDICATES)


def _is_list_like(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _children(t: pa.DataType) -> list[pa.DataType]:
    """The child types of a supported nested type (dictionary: its value type)."""
    if _is_list_like(t):
        return [t.value_type]
    if pa.types.is_struct(t):
        return [t.field(i).type for i in range(t.num_fields)]
    if pa.types.is_map(t):
        return [t.key_type, t.item_type]
    if pa.types.is_dictionary(t):
        return [t.value_type]
    return []


def _is_supported_node(t: pa.DataType) -> bool:
    """Whether `t` itself, ignoring its children, is a type of §4.1 (or a dictionary)."""
    return (
        _is_leaf(t)
        or _is_list_like(t)
        or pa.types.is_struct(t)
        or pa.types.is_map(t)
        or pa.types.is_dictionary(t)
    )


def _first_unsupported(t: pa.DataType) -> pa.DataType | None:
    if not _is_supported_node(t):
        return t
    for child in _children(t):
        found = _first_unsupported(child)
        if found is not None:
            return found
    return None


def check_supported(schema: pa.Schema) -> None:
    """Raise unless `schema` is a valid version schema of spec/data.md §4.1.

    Column names are checked first, because a stream with repeated or empty names is not a
    valid table at all (DAT-023), whatever its types. Dictionary types are accepted: they are
    decoded on write, so only their value types must be supported.
    """
    names = schema.names
    if any(name == "" for name in names):
        raise InvalidColumnNames("a top-level column name is empty")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidColumnNames(f"the top-level column name {name!r} appears twice")
        seen.add(name)
    for field in schema:
        unsupported = _first_unsupported(field.type)
        if unsupported is not None:
            raise UnsupportedArrowType(field.name, unsupported)


def canonical_type(t: pa.DataType) -> str:
    """The canonical type string of spec/data.md §4.2 for a type of §4.1.

    pyarrow's `str(type)` carries child field names of list-likes, `not null` markers and the
    map's entry names and `keys_sorted` flag; §4.2 spells none of them. A dictionary type is
    named by its value type, because versions store dictionary columns decoded (DAT-025).
    Raises ValueError for a type outside §4.1.
    """
    if _is_leaf(t):
        return str(t)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        kind = "large_list" if pa.types.is_large_list(t) else "list"
        return f"{kind}<item: {canonical_type(t.value_type)}>"
    if pa.types.is_fixed_size_list(t):
        return f"fixed_size_list<item: {canonical_type(t.value_type)}>[{t.list_size}]"
    if pa.types.is_struct(t):
        children = (f"{f.name}: {canonical_type(f.type)}" for f in t)
        return f"struct<{', '.join(children)}>"
    if pa.types.is_map(t):
        return f"map<{canonical_type(t.key_type)}, {canonical_type(t.item_type)}>"
    if pa.types.is_dictionary(t):
        return canonical_type(t.value_type)
    raise ValueError(f"the Arrow type {t} has no canonical type string (spec/data.md §4.1)")


def field_descriptions(schema: pa.Schema) -> list[tuple[str, str, bool]]:
    """(name, canonical type string, nullable) of each top-level column, in schema order."""
    return [(field.name, canonical_type(field.type), field.nullable) for field in schema]


# --- Dictionary decoding -------------------------------------------------------------------


def _has_dictionary(t: pa.DataType) -> bool:
    return pa.types.is_dictionary(t) or any(_has_dictionary(c) for c in _children(t))


def _decoded_field(field: pa.Field) -> pa.Field:
    return field.with_type(_decoded_type(field.type))


def _decoded_type(t: pa.DataType) -> pa.DataType:
    """`t` with every dictionary type, at any depth, replaced by its decoded value type."""
    if not _has_dictionary(t):
        return t
    if pa.types.is_dictionary(t):
        return _decoded_type(t.value_type)
    if _is_list_like(t):
        item = _decoded_field(t.value_field)
        if pa.types.is_large_list(t):
            return pa.large_list(item)
        return pa.list_(item, t.list_size if pa.types.is_fixed_size_list(t) else -1)
    if pa.types.is_struct(t):
        return pa.struct([_decoded_field(f) for f in t])
    if pa.types.is_map(t):
        return pa.map_(
            _decoded_field(t.key_field), _decoded_field(t.item_field), keys_sorted=t.keys_sorted
        )
    raise ValueError(f"cannot decode dictionaries inside the Arrow type {t}")


def _decode_array(array: pa.Array) -> pa.Array:
    """`array` with every dictionary, at any depth, replaced by the values it indexes.

    pyarrow's cast decodes dictionaries of flat values only, so nested arrays are rebuilt
    around their decoded children: the parent's own buffers (validity, offsets) are reused.
    """
    t = array.type
    if not _has_dictionary(t):
        return array
    if pa.types.is_dictionary(t):
        return _decode_array(array.dictionary).take(array.indices)
    if pa.types.is_struct(t):
        children = [_decode_array(array.field(i)) for i in range(t.num_fields)]
        mask = array.is_null() if array.null_count else None
        fields = [f.with_type(c.type) for f, c in zip(t, children, strict=True)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=mask)
    # list, large_list, fixed_size_list and map keep offsets and validity, one child each.
    child = _decode_array(array.values)
    own_buffers = 1 if pa.types.is_fixed_size_list(t) else 2
    return pa.Array.from_buffers(
        _decoded_type(t),
        len(array),
        array.buffers()[:own_buffers],
        array.null_count,
        array.offset,
        children=[child],
    )


def decode_dictionaries(table: pa.Table) -> pa.Table:
    """`table` with dictionary-encoded data, top-level or nested, stored as plain values.

    Field names, nullability and metadata are kept; only the types change (DAT-025). A table
    without dictionaries is returned as it is.
    """
    if not any(_has_dictionary(t) for t in table.schema.types):
        return table
    fields = [_decoded_field(field) for field in table.schema]
    columns = [
        pa.chunked_array([_decode_array(chunk) for chunk in column.chunks], type=field.type)
        for column, field in zip(table.columns, fields, strict=True)
    ]
    schema = pa.schema(fields, metadata=table.schema.metadata)
    return pa.Table.from_arrays(columns, schema=schema)


# --- Cast type strings (§4.2, "Cast type strings") -----------------------------------------

_SIMPLE_CAST_TYPES: dict[str, pa.DataType] = {
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

# The parameterized productions. Character classes are spelled out rather than \d or \w,
# which would also match non-ASCII digits and letters.
_NUMBER = r"0|[1-9][0-9]*"
_PARAMETERIZED_CAST_TYPE = re.compile(
    r"time32\[(?P<time32>s|ms)\]"
    r"|time64\[(?P<time64>us|ns)\]"
    r"|timestamp\[(?P<timestamp>s|ms|us|ns)"
    r"(?:, tz=(?P<zone>[+-][0-9]{2}:[0-9]{2}|[A-Za-z][A-Za-z0-9_+/-]*))?\]"
    r"|duration\[(?P<duration>s|ms|us|ns)\]"
    rf"|(?P<decimal>decimal128|decimal256)\((?P<precision>{_NUMBER}), (?P<scale>{_NUMBER})\)"
)
_MAX_PRECISION = {"decimal128": 38, "decimal256": 76}
_DECIMAL_CONSTRUCTORS = {"decimal128": pa.decimal128, "decimal256": pa.decimal256}
# Present in some zoneinfo directories as a link to the host's own zone, not a zone name:
# accepting it would make a pipeline's meaning depend on the machine that runs it.
_NOT_ZONE_NAMES = frozenset({"localtime"})


def parse_cast_type(text: str) -> pa.DataType:
    """The Arrow type a cast type string names (spec/data.md §4.2, DAT-098).

    Accepts exactly the strings of the grammar, case-sensitively (each is also the canonical
    string of its type), within its ranges; raises ValueError for anything else.
    """
    simple = _SIMPLE_CAST_TYPES.get(text)
    if simple is not None:
        return simple
    match = _PARAMETERIZED_CAST_TYPE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a cast type string (spec/data.md §4.2)")
    groups = match.groupdict()
    if groups["time32"]:
        return pa.time32(groups["time32"])
    if groups["time64"]:
        return pa.time64(groups["time64"])
    if groups["duration"]:
        return pa.duration(groups["duration"])
    if groups["timestamp"]:
        zone = groups["zone"]
        if zone is not None:
            _check_zone(zone)
        return pa.timestamp(groups["timestamp"], tz=zone)
    return _decimal(groups["decimal"], groups["precision"], groups["scale"])


def _decimal(kind: str, precision_text: str, scale_text: str) -> pa.DataType:
    max_precision = _MAX_PRECISION[kind]
    # Compare lengths first: int() of a very long digit string is slow or refused outright.
    precision = int(precision_text) if len(precision_text) <= 2 else max_precision + 1
    scale = int(scale_text) if len(scale_text) <= 2 else max_precision + 1
    if not 1 <= precision <= max_precision:
        raise ValueError(
            f"{kind} precision {precision_text} is outside 1..{max_precision} (spec/data.md §4.2)"
        )
    if not 0 <= scale <= precision:
        raise ValueError(
            f"{kind} scale {scale_text} is outside 0..{precision}, the precision "
            "(spec/data.md §4.2)"
        )
    return _DECIMAL_CONSTRUCTORS[kind](precision, scale)


def _check_zone(zone: str) -> None:
    if zone[0] in "+-":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"time zone offset {zone!r} is outside -23:59..+23:59")
        return
    if zone != "UTC" and (zone in _NOT_ZONE_NAMES or zone not in _known_zones()):
        raise ValueError(f"{zone!r} is not a time zone of this server's time zone database")


@functools.cache
def _known_zones() -> frozenset[str]:
    # Reads the whole zone database once (tens of milliseconds); it does not change while
    # the server runs.
    return frozenset(zoneinfo.available_timezones())
