"""The content digest of spec/data.md §4.3, recomputed by the client.

A deliberately plain, slot-by-slot encoder of the byte string E, written from the spec text
alone so that the data profile checks a server's `content_digest` against an independent
reading of §4.3 (DAT-041). It is slow (Python per slot) and meant for the small tables of
the suite; it builds each leaf's col() in memory and hashes it once.
"""

from __future__ import annotations

import hashlib
import math
import struct

import pyarrow as pa

MAGIC = b"lepton-table-v2\n"
LEAF_ROWS = 65_536  # L of §4.3
# Floating-point widths: struct format and the one quiet NaN of §4.3.
_FLOATS = {
    2: ("<e", bytes.fromhex("007e")),
    4: ("<f", bytes.fromhex("0000c07f")),
    8: ("<d", bytes.fromhex("000000000000f87f")),
}


def u64(value: int) -> bytes:
    """x as 8 bytes, unsigned little-endian."""
    return value.to_bytes(8, "little", signed=False)


def text(value: str) -> bytes:
    """str(s): the UTF-8 byte length, then the bytes."""
    data = value.encode("utf-8")
    return u64(len(data)) + data


def canonical_type(t: pa.DataType) -> str:
    """The canonical type string of spec/data.md §4.2."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if _is_list_like(t):
        kind = "large_list" if pa.types.is_large_list(t) else "list"
        size = ""
        if pa.types.is_fixed_size_list(t):
            kind, size = "fixed_size_list", f"[{t.list_size}]"
        return f"{kind}<item: {canonical_type(t.value_type)}>{size}"
    if pa.types.is_map(t):
        return f"map<{canonical_type(t.key_type)}, {canonical_type(t.item_type)}>"
    if pa.types.is_struct(t):
        children = ", ".join(f"{f.name}: {canonical_type(f.type)}" for f in t)
        return f"struct<{children}>"
    return str(t)


def content_digest(table: pa.Table) -> str:
    """Lowercase hex SHA-256 of E for `table` (dictionary columns taken decoded)."""
    return hashlib.sha256(encode(table)).hexdigest()


def encode(table: pa.Table) -> bytes:
    """The byte string E of spec/data.md §4.3."""
    out = bytearray(MAGIC)
    out += u64(table.num_columns)
    for field in table.schema:
        out += text(field.name) + text(canonical_type(field.type))
    out += u64(table.num_rows)
    for column in table.columns:
        chunks = [_decoded(chunk) for chunk in column.chunks]
        array = (
            pa.concat_arrays(chunks) if chunks else pa.array([], type=_decoded_type(column.type))
        )
        out += column_hash(array)
    return bytes(out)


def column_hash(array: pa.Array) -> bytes:
    """column(c): SHA-256 of the leaf count and each leaf's SHA-256 of col() over L rows."""
    starts = range(0, len(array), LEAF_ROWS)
    leaves = [hashlib.sha256(col(array.slice(start, LEAF_ROWS))).digest() for start in starts]
    return hashlib.sha256(u64(len(leaves)) + b"".join(leaves)).digest()


def _decoded_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _decoded(array: pa.Array) -> pa.Array:
    return array.dictionary_decode() if pa.types.is_dictionary(array.type) else array


def col(array: pa.Array) -> bytes:
    """col(a) = validity(a) values(a)."""
    t = array.type
    if pa.types.is_null(t):
        return bytes(len(array))
    valid = [array[i].is_valid for i in range(len(array))]
    return bytes(1 if v else 0 for v in valid) + _values(array, valid)


def _values(array: pa.Array, valid: list[bool]) -> bytes:
    for applies, encoder in _ENCODERS:
        if applies(array.type):
            return encoder(array, valid)
    raise ValueError(f"spec/data.md §4.3 does not encode the Arrow type {array.type}")


def _bool_values(array: pa.Array, valid: list[bool]) -> bytes:
    return bytes(1 if ok and array[i].as_py() else 0 for i, ok in enumerate(valid))


def _float_values(array: pa.Array, valid: list[bool]) -> bytes:
    return b"".join(
        _float(array[i].as_py() if ok else 0.0, array.type) for i, ok in enumerate(valid)
    )


def _integer_values(array: pa.Array, valid: list[bool]) -> bytes:
    t = array.type
    width, signed = t.bit_width // 8, pa.types.is_signed_integer(t)
    return b"".join((v or 0).to_bytes(width, "little", signed=signed) for v in array.to_pylist())


def _decimal_values(array: pa.Array, valid: list[bool]) -> bytes:
    t = array.type
    width = t.bit_width // 8
    return b"".join(
        _unscaled(v, t.scale).to_bytes(width, "little", signed=True)
        if v is not None
        else bytes(width)
        for v in array.to_pylist()
    )


def _fixed_binary_values(array: pa.Array, valid: list[bool]) -> bytes:
    width = array.type.byte_width
    return b"".join(v if v is not None else bytes(width) for v in array.to_pylist())


def _temporal_values(array: pa.Array, valid: list[bool]) -> bytes:
    # The physical value: the integer in the type's unit (days, ms, s ... ns).
    width = array.type.bit_width // 8
    values = array.view(pa.int32() if width == 4 else pa.int64()).to_pylist()
    return b"".join((v or 0).to_bytes(width, "little", signed=True) for v in values)


def _binary_values(array: pa.Array, valid: list[bool]) -> bytes:
    values = [_bytes(v) for v in array.to_pylist()]
    return b"".join(u64(len(v)) for v in values) + b"".join(values)


def _struct_values(array: pa.Array, valid: list[bool]) -> bytes:
    kept = array.filter(pa.array(valid, type=pa.bool_()))
    return b"".join(col(kept.field(j)) for j in range(array.type.num_fields))


def _list_values(array: pa.Array, valid: list[bool]) -> bytes:
    # Maps are encoded as list<item: struct<key: K, value: V>>.
    counts, parts = [], []
    for i, ok in enumerate(valid):
        elements = array[i].values if ok else None
        counts.append(len(elements) if elements is not None else 0)
        if elements is not None and len(elements):
            parts.append(elements)
    t = array.type
    child_type = pa.struct([t.key_field, t.item_field]) if pa.types.is_map(t) else t.value_type
    child = pa.concat_arrays(parts) if parts else pa.array([], type=child_type)
    return b"".join(u64(c) for c in counts) + col(child)


def _float(value: float, t: pa.DataType) -> bytes:
    fmt, quiet_nan = _FLOATS[t.bit_width // 8]
    if math.isnan(value):
        return quiet_nan
    return struct.pack(fmt, value)


def _unscaled(value, scale: int) -> int:
    sign, digits, exponent = value.as_tuple()
    number = int("".join(map(str, digits)) or "0")
    shift = exponent + scale
    number = number * 10**shift if shift >= 0 else number // 10**-shift
    return -number if sign else number


def _bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value.encode("utf-8") if isinstance(value, str) else value


def _is_temporal(t: pa.DataType) -> bool:
    return (
        pa.types.is_date(t)
        or pa.types.is_time(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_duration(t)
    )


def _is_binary_like(t: pa.DataType) -> bool:
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def _is_list_like(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


_ENCODERS = (
    (pa.types.is_boolean, _bool_values),
    (pa.types.is_floating, _float_values),
    (pa.types.is_integer, _integer_values),
    (pa.types.is_decimal, _decimal_values),
    (pa.types.is_fixed_size_binary, _fixed_binary_values),
    (_is_temporal, _temporal_values),
    (_is_binary_like, _binary_values),
    (pa.types.is_struct, _struct_values),
    (lambda t: _is_list_like(t) or pa.types.is_map(t), _list_values),
)
