"""The protobuf wire format, for the hot paths that encode their own messages: a large
`bytes` field written straight after its tag and length is copied once, where building the
message and serializing it copies it three times. Protobuf parsers accept fields in any order,
so the result decodes exactly as the message built field by field would."""

from __future__ import annotations

_VARINT = 0
_LENGTH_DELIMITED = 2


def varint(value: int) -> bytes:
    """`value` (not negative) as a protobuf base-128 varint."""
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def length_delimited(number: int, size: int) -> bytes:
    """The tag and length that precede `size` bytes of field `number`."""
    return varint(number << 3 | _LENGTH_DELIMITED) + varint(size)


def varint_field(number: int, value: int) -> bytes:
    """Field `number` holding the integer `value` (not negative); nothing for 0, as proto3
    omits default values."""
    return varint(number << 3 | _VARINT) + varint(value) if value else b""
