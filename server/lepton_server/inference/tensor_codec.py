"""Tensors of the Open Inference Protocol: datatypes, raw and typed contents, BYTES framing.

Decoding turns request contents into numpy arrays (without copying raw fixed-size data) and
raises InvalidArgument with the reasons spec/inference.md names; encoding turns arrays into
raw little-endian bytes (INF-020..INF-029).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lepton.inference.v1 import infer_tensor_pb2
from lepton_server.runtime.errors import invalid_argument

LENGTH = struct.Struct("<I")


@dataclass(frozen=True)
class DataType:
    """One OIP datatype: its numpy dtype, raw element size and typed-contents field."""

    name: str
    dtype: np.dtype
    size: int  # bytes per element in raw form; 0 for BYTES (variable)
    typed_field: str | None  # None: raw only (FP16, BF16)
    bounds: tuple[int, int] | None = None  # value range when widened in typed form


def _dt(name: str, dtype: str, size: int, field: str | None, bounds=None) -> DataType:
    return DataType(name, np.dtype(dtype), size, field, bounds)


DATATYPES: dict[str, DataType] = {
    d.name: d
    for d in (
        _dt("BOOL", "?", 1, "bool_contents"),
        _dt("UINT8", "<u1", 1, "uint_contents", (0, 2**8 - 1)),
        _dt("UINT16", "<u2", 2, "uint_contents", (0, 2**16 - 1)),
        _dt("UINT32", "<u4", 4, "uint_contents"),
        _dt("UINT64", "<u8", 8, "uint64_contents"),
        _dt("INT8", "<i1", 1, "int_contents", (-(2**7), 2**7 - 1)),
        _dt("INT16", "<i2", 2, "int_contents", (-(2**15), 2**15 - 1)),
        _dt("INT32", "<i4", 4, "int_contents"),
        _dt("INT64", "<i8", 8, "int64_contents"),
        _dt("FP16", "<f2", 2, None),
        # numpy has no bfloat16: BF16 elements travel as their 16-bit patterns.
        _dt("BF16", "<u2", 2, None),
        _dt("FP32", "<f4", 4, "fp32_contents"),
        _dt("FP64", "<f8", 8, "fp64_contents"),
        _dt("BYTES", "O", 0, "bytes_contents"),
    )
}
TYPED_FIELDS = sorted({d.typed_field for d in DATATYPES.values() if d.typed_field})


def datatype(name: str, field: str) -> DataType:
    """The datatype called `name`, or INVALID_ARGUMENT [UNKNOWN_DATATYPE] (INF-027)."""
    found = DATATYPES.get(name)
    if found is None:
        raise invalid_argument("UNKNOWN_DATATYPE", field, f"unknown datatype {name!r}")
    return found


def element_count(shape: Sequence[int]) -> int:
    return math.prod(shape)


def decode_raw(data: bytes, dtype: DataType, shape: Sequence[int], field: str) -> np.ndarray:
    """A raw entry as an array of `shape` (INF-020..INF-022, INF-025)."""
    count = element_count(shape)
    if dtype.name == "BYTES":
        return decode_bytes_elements(data, count, field).reshape(shape)
    wanted = count * dtype.size
    if len(data) != wanted:
        raise invalid_argument(
            "TENSOR_SIZE_MISMATCH",
            field,
            f"{len(data)} bytes, but shape {list(shape)} of {dtype.name} needs {wanted}",
        )
    if dtype.name == "BOOL":
        octets = np.frombuffer(data, dtype=np.uint8)
        if octets.size and octets.max() > 1:
            raise invalid_argument("INVALID_BOOL_VALUE", field, "a BOOL byte is neither 0 nor 1")
        return octets.view(np.bool_).reshape(shape)
    return np.frombuffer(data, dtype=dtype.dtype).reshape(shape)


def decode_bytes_elements(data: bytes, count: int, field: str) -> np.ndarray:
    """`count` length-framed elements covering `data` exactly (INF-021)."""
    elements = np.empty(count, dtype=object)
    view = memoryview(data)
    position, end = 0, len(data)
    for index in range(count):
        if position + 4 > end:
            raise invalid_argument(
                "INVALID_BYTES_ENCODING", field, f"element {index}: truncated length prefix"
            )
        (length,) = LENGTH.unpack_from(view, position)
        position += 4
        if position + length > end:
            raise invalid_argument(
                "INVALID_BYTES_ENCODING",
                field,
                f"element {index}: length {length} runs past the end of the data",
            )
        elements[index] = bytes(view[position : position + length])
        position += length
    if position != end:
        raise invalid_argument(
            "INVALID_BYTES_ENCODING",
            field,
            f"{end - position} bytes after the last of {count} elements",
        )
    return elements


def decode_typed(
    contents: infer_tensor_pb2.InferTensorContents,
    dtype: DataType,
    shape: Sequence[int],
    field: str,
) -> np.ndarray:
    """Typed contents as an array of `shape` (INF-025, INF-026)."""
    used = [name for name in TYPED_FIELDS if len(getattr(contents, name))]
    if dtype.typed_field is None or used not in ([], [dtype.typed_field]):
        expected = dtype.typed_field or "raw contents only"
        raise invalid_argument(
            "CONTENTS_TYPE_MISMATCH",
            field,
            f"{dtype.name} takes {expected}, got {', '.join(used) or 'nothing'}",
        )
    values = getattr(contents, dtype.typed_field)
    count = element_count(shape)
    if len(values) != count:
        raise invalid_argument(
            "TENSOR_SIZE_MISMATCH",
            field,
            f"{len(values)} elements, but shape {list(shape)} needs {count}",
        )
    if dtype.name == "BYTES":
        array = np.empty(count, dtype=object)
        array[:] = list(values)
        return array.reshape(shape)
    if dtype.bounds is None:
        return np.fromiter(values, dtype=dtype.dtype, count=count).reshape(shape)
    # 8- and 16-bit values travel widened to 32 bits: check the range before narrowing.
    wide = np.fromiter(values, dtype=np.int64, count=count)
    low, high = dtype.bounds
    if wide.size and (wide.min() < low or wide.max() > high):
        raise invalid_argument(
            "CONTENTS_TYPE_MISMATCH", field, f"a value is outside the range of {dtype.name}"
        )
    return wide.astype(dtype.dtype).reshape(shape)


def encode_raw(array: np.ndarray, dtype: DataType) -> bytes | memoryview:
    """An array as raw little-endian bytes (BYTES elements length-framed). Fixed-size data
    comes back as a view of the array when its layout already is the wire layout."""
    if dtype.name == "BYTES":
        parts: list[bytes] = []
        for element in array.reshape(-1):
            data = element.encode() if isinstance(element, str) else bytes(element)
            parts.append(LENGTH.pack(len(data)))
            parts.append(data)
        return b"".join(parts)
    wire = np.ascontiguousarray(array, dtype=dtype.dtype)
    return memoryview(wire.reshape(-1).view(np.uint8))
