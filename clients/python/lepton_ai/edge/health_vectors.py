"""The golden vectors of an edge release's health check (`lepton.edge.v1.HealthCheckVectors`).

A publisher builds them when it makes a release: `build_vectors` runs an ONNX model on
sample inputs (taken from the model version's evaluation data) and records the outputs it
gives as the expected ones, with a tolerance for floating-point outputs. They travel as a
release file of role RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS (`VECTORS_MEDIA_TYPE`, binary
protobuf). An agent's health check runs every vector through the newly installed release
with `check_vectors` and refuses the release on any mismatch (EDG-109).

Tensors are `TensorValue`s: raw contents in row-major order, little-endian, BYTES elements
each prefixed by their length as a 4-byte little-endian unsigned integer; `encode_tensor`
and `decode_tensor` convert them to and from numpy arrays (BF16 as its 16-bit patterns,
numpy having no bfloat16; BYTES as an object array of bytes).

onnxruntime is needed only by `build_vectors`, which imports it when called: it is a
dependency of the server and the agent, not of the SDK.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from lepton.edge.v1 import release_pb2
from lepton.type.v1 import tensor_pb2

HealthCheckVectors = release_pb2.HealthCheckVectors
HealthCheckVector = release_pb2.HealthCheckVector
TensorValue = release_pb2.TensorValue
DataType = tensor_pb2.DataType
VECTORS_MEDIA_TYPE = "application/vnd.lepton.edge.health-check-vectors+proto"
# Defaults for vectors with a floating-point output: loose enough for another CPU, thread
# count or execution provider, tight enough to catch a broken conversion or preprocessing.
DEFAULT_ABSOLUTE_TOLERANCE = 1e-5
DEFAULT_RELATIVE_TOLERANCE = 1e-4
_LENGTH = struct.Struct("<I")

# DataType -> numpy dtype of its raw form. BF16 is kept as its bit patterns.
_DTYPES: dict[int, np.dtype] = {
    DataType.DATA_TYPE_BOOL: np.dtype("?"),
    DataType.DATA_TYPE_UINT8: np.dtype("<u1"),
    DataType.DATA_TYPE_UINT16: np.dtype("<u2"),
    DataType.DATA_TYPE_UINT32: np.dtype("<u4"),
    DataType.DATA_TYPE_UINT64: np.dtype("<u8"),
    DataType.DATA_TYPE_INT8: np.dtype("<i1"),
    DataType.DATA_TYPE_INT16: np.dtype("<i2"),
    DataType.DATA_TYPE_INT32: np.dtype("<i4"),
    DataType.DATA_TYPE_INT64: np.dtype("<i8"),
    DataType.DATA_TYPE_FP16: np.dtype("<f2"),
    DataType.DATA_TYPE_FP32: np.dtype("<f4"),
    DataType.DATA_TYPE_FP64: np.dtype("<f8"),
    DataType.DATA_TYPE_BF16: np.dtype("<u2"),
}
_FLOATS = frozenset(
    {
        DataType.DATA_TYPE_FP16,
        DataType.DATA_TYPE_FP32,
        DataType.DATA_TYPE_FP64,
        DataType.DATA_TYPE_BF16,
    }
)
# numpy dtype -> DataType for arrays whose type is not stated (not BF16: uint16 is UINT16).
_DATA_TYPES = {
    dtype.newbyteorder("="): data_type
    for data_type, dtype in _DTYPES.items()
    if data_type != DataType.DATA_TYPE_BF16
}


# ------------------------------------------------------------------------------ tensors


def data_type_of(array: np.ndarray) -> DataType.ValueType:
    """The DataType of a numpy array: its fixed-size type, or BYTES for str, bytes and
    object arrays; ValueError for any other (complex numbers, dates, ...)."""
    if array.dtype.kind in "OSU":
        return DataType.DATA_TYPE_BYTES
    found = _DATA_TYPES.get(array.dtype.newbyteorder("="))
    if found is None:
        raise ValueError(f"no tensor data type holds numpy {array.dtype}")
    return found


def encode_tensor(
    name: str, value: Any, data_type: DataType.ValueType | None = None
) -> release_pb2.TensorValue:
    """`value` (an array or anything numpy turns into one) as a TensorValue: raw contents in
    row-major order, little-endian; BYTES elements (str as UTF-8) length-prefixed.
    `data_type` defaults to the array's own (`data_type_of`); DATA_TYPE_BF16 takes the
    elements' 16-bit patterns as uint16."""
    array = np.asarray(value)
    data_type = data_type_of(array) if data_type is None else data_type
    if data_type == DataType.DATA_TYPE_BYTES:
        raw = b"".join(_framed(element) for element in array.reshape(-1))
    elif data_type in _DTYPES:
        raw = np.ascontiguousarray(array, dtype=_DTYPES[data_type]).tobytes()
    else:
        raise ValueError(f"{name}: unknown data type {data_type}")
    return TensorValue(name=name, data_type=data_type, shape=list(array.shape), raw_contents=raw)


def _framed(element: object) -> bytes:
    data = element.encode() if isinstance(element, str) else bytes(element)  # type: ignore[arg-type]
    return _LENGTH.pack(len(data)) + data


def decode_tensor(value: release_pb2.TensorValue) -> np.ndarray:
    """A TensorValue as a numpy array of its shape (BYTES: an object array of bytes, BF16:
    uint16 bit patterns); ValueError when its type is unknown, a dimension is negative or
    the raw contents do not hold exactly the elements its shape needs."""
    shape = tuple(value.shape)
    if any(dimension < 0 for dimension in shape):
        raise ValueError(f"{value.name}: negative dimension in shape {list(shape)}")
    count = math.prod(shape)
    if value.data_type == DataType.DATA_TYPE_BYTES:
        return _bytes_elements(value.raw_contents, count, value.name).reshape(shape)
    dtype = _DTYPES.get(value.data_type)
    if dtype is None:
        raise ValueError(f"{value.name}: unknown data type {value.data_type}")
    if len(value.raw_contents) != count * dtype.itemsize:
        raise ValueError(
            f"{value.name}: {len(value.raw_contents)} bytes of raw contents, shape "
            f"{list(shape)} of {DataType.Name(value.data_type)} needs {count * dtype.itemsize}"
        )
    if value.data_type == DataType.DATA_TYPE_BOOL:
        octets = np.frombuffer(value.raw_contents, dtype=np.uint8)
        if octets.size and octets.max() > 1:
            raise ValueError(f"{value.name}: a BOOL byte is neither 0 nor 1")
    return np.frombuffer(value.raw_contents, dtype=dtype).reshape(shape)


def _bytes_elements(data: bytes, count: int, name: str) -> np.ndarray:
    elements = np.empty(count, dtype=object)
    position = 0
    for index in range(count):
        if position + _LENGTH.size > len(data):
            raise ValueError(f"{name}: element {index}: truncated length prefix")
        (length,) = _LENGTH.unpack_from(data, position)
        position += _LENGTH.size
        if position + length > len(data):
            raise ValueError(f"{name}: element {index}: runs past the end of the contents")
        elements[index] = data[position : position + length]
        position += length
    if position != len(data):
        raise ValueError(f"{name}: {len(data) - position} bytes after the last element")
    return elements


# ------------------------------------------------------------------------------ vectors


def make_vector(
    inputs: Mapping[str, Any],
    expected_outputs: Mapping[str, Any],
    absolute_tolerance: float | None = None,
    relative_tolerance: float | None = None,
) -> release_pb2.HealthCheckVector:
    """One vector from input and expected output arrays by name. Unset tolerances default
    to DEFAULT_ABSOLUTE_TOLERANCE and DEFAULT_RELATIVE_TOLERANCE when an output is of a
    floating-point type, and to exact equality otherwise."""
    if not expected_outputs:
        raise ValueError("a vector compares at least one output")
    outputs = [encode_tensor(name, value) for name, value in expected_outputs.items()]
    has_float = any(output.data_type in _FLOATS for output in outputs)
    if absolute_tolerance is None:
        absolute_tolerance = DEFAULT_ABSOLUTE_TOLERANCE if has_float else 0.0
    if relative_tolerance is None:
        relative_tolerance = DEFAULT_RELATIVE_TOLERANCE if has_float else 0.0
    if absolute_tolerance < 0 or relative_tolerance < 0:
        raise ValueError("tolerances are >= 0")
    return HealthCheckVector(
        inputs=[encode_tensor(name, value) for name, value in inputs.items()],
        expected_outputs=outputs,
        absolute_tolerance=absolute_tolerance,
        relative_tolerance=relative_tolerance,
    )


def build_vectors(
    model: str | Path | bytes,
    samples: Iterable[Mapping[str, Any]],
    *,
    outputs: Iterable[str] | None = None,
    absolute_tolerance: float | None = None,
    relative_tolerance: float | None = None,
    providers: Iterable[str] = ("CPUExecutionProvider",),
) -> release_pb2.HealthCheckVectors:
    """Golden vectors of an ONNX model (a path or its bytes): each sample (inputs by name)
    is run with onnxruntime, and the `outputs` it gives (default: every output of the
    model) become the vector's expected outputs, with tolerances as in `make_vector`.

    Needs onnxruntime, imported here: it is a server and agent dependency, not one of the
    SDK, so install it (`pip install onnxruntime`) where vectors are built."""
    import onnxruntime  # noqa: PLC0415 - optional: only this function needs it

    source = model if isinstance(model, bytes) else str(model)
    session = onnxruntime.InferenceSession(source, providers=list(providers))
    names = list(outputs) if outputs is not None else [o.name for o in session.get_outputs()]
    text_inputs = {i.name for i in session.get_inputs() if i.type == "tensor(string)"}
    vectors = HealthCheckVectors()
    for sample in samples:
        inputs = {name: np.asarray(value) for name, value in sample.items()}
        # onnxruntime's string tensors hold str; the vectors hold their UTF-8 bytes.
        feeds = {
            name: _as_text(array) if name in text_inputs else array
            for name, array in inputs.items()
        }
        results = session.run(names, feeds)
        expected = dict(zip(names, (_as_bytes(np.asarray(r)) for r in results), strict=True))
        vectors.vectors.append(
            make_vector(inputs, expected, absolute_tolerance, relative_tolerance)
        )
    if not vectors.vectors:
        raise ValueError("golden vectors need at least one sample")
    return vectors


def _as_text(array: np.ndarray) -> np.ndarray:
    texts = np.empty(array.size, dtype=object)
    texts[:] = [e.decode() if isinstance(e, bytes) else str(e) for e in array.reshape(-1)]
    return texts.reshape(array.shape)


def _as_bytes(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind not in "OSU":
        return array
    elements = np.empty(array.size, dtype=object)
    elements[:] = [e.encode() if isinstance(e, str) else bytes(e) for e in array.reshape(-1)]
    return elements.reshape(array.shape)


def parse_vectors(data: bytes) -> release_pb2.HealthCheckVectors:
    """The HealthCheckVectors a release file holds; ValueError when the bytes do not parse."""
    vectors = HealthCheckVectors()
    try:
        vectors.ParseFromString(data)
    except DecodeError as error:
        raise ValueError(f"not a serialized HealthCheckVectors: {error}") from error
    return vectors


# ------------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Mismatch:
    """Why a vector failed: its index, the output compared ("" when the whole vector
    failed, e.g. the run raised) and what was wrong."""

    vector: int
    output: str
    description: str

    def __str__(self) -> str:
        where = f"vector {self.vector}" + (f", output {self.output!r}" if self.output else "")
        return f"{where}: {self.description}"


Run = Callable[[dict[str, np.ndarray]], Mapping[str, Any]]


def check_vectors(run: Run, vectors: release_pb2.HealthCheckVectors) -> list[Mismatch]:
    """Run every vector through `run` (input arrays by name -> output arrays by name) and
    compare each expected output (EDG-109): same shape and data type, and every element
    within |actual - expected| <= absolute_tolerance + relative_tolerance * |expected| for
    floating-point outputs (NaN matches NaN, an infinity only itself), exactly equal
    otherwise. An exception of `run` or a malformed vector is a mismatch too; an empty
    HealthCheckVectors is one. Returns the mismatches, empty when the release passes."""
    if not vectors.vectors:
        return [Mismatch(-1, "", "the golden vectors hold no vector")]
    mismatches: list[Mismatch] = []
    for index, vector in enumerate(vectors.vectors):
        mismatches.extend(_check_vector(run, index, vector))
    return mismatches


def _check_vector(run: Run, index: int, vector: release_pb2.HealthCheckVector) -> list[Mismatch]:
    if not vector.expected_outputs:
        return [Mismatch(index, "", "the vector lists no expected output")]
    try:
        inputs = {value.name: decode_tensor(value) for value in vector.inputs}
        expected = [(value, decode_tensor(value)) for value in vector.expected_outputs]
    except ValueError as error:
        return [Mismatch(index, "", f"malformed vector: {error}")]
    try:
        outputs = run(inputs)
    except Exception as error:
        return [Mismatch(index, "", f"the run failed: {type(error).__name__}: {error}")]
    mismatches = []
    for value, wanted in expected:
        if value.name not in outputs:
            mismatches.append(Mismatch(index, value.name, "the run gave no such output"))
            continue
        problem = _compare(np.asarray(outputs[value.name]), wanted, value.data_type, vector)
        if problem:
            mismatches.append(Mismatch(index, value.name, problem))
    return mismatches


def _compare(
    actual: np.ndarray,
    expected: np.ndarray,
    data_type: DataType.ValueType,
    vector: release_pb2.HealthCheckVector,
) -> str | None:
    if actual.shape != expected.shape:
        return f"shape {list(actual.shape)}, expected {list(expected.shape)}"
    if data_type == DataType.DATA_TYPE_BF16:
        # The runner may give bit patterns (uint16) or values; compare values.
        if actual.dtype.kind == "u" and actual.dtype.itemsize == 2:
            actual = _bf16_values(actual)
        expected = _bf16_values(expected)
    else:
        try:
            actual_type = data_type_of(actual)
        except ValueError as error:
            return str(error)
        if actual_type != data_type:
            return f"data type {DataType.Name(actual_type)}, expected {DataType.Name(data_type)}"
    if data_type == DataType.DATA_TYPE_BYTES:
        actual = _as_bytes(actual.astype(object))
        same = [a == e for a, e in zip(actual.reshape(-1), expected.reshape(-1), strict=True)]
        return None if all(same) else f"{same.count(False)} of {len(same)} elements differ"
    if data_type not in _FLOATS:
        differ = int(np.count_nonzero(actual != expected))
        return f"{differ} of {expected.size} elements differ" if differ else None
    return _compare_floats(actual, expected, vector)


def _compare_floats(
    actual: np.ndarray, expected: np.ndarray, vector: release_pb2.HealthCheckVector
) -> str | None:
    got = actual.astype(np.float64)
    want = expected.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        within = np.abs(got - want) <= (
            vector.absolute_tolerance + vector.relative_tolerance * np.abs(want)
        )
    # An infinite expected value would make the tolerance infinite: it matches only itself.
    within &= np.isfinite(want)
    matches = within | (got == want) | (np.isnan(got) & np.isnan(want))
    if matches.all():
        return None
    first = int(np.argmax(~matches.reshape(-1)))
    return (
        f"{int(np.count_nonzero(~matches))} of {expected.size} elements outside the tolerance "
        f"(absolute {vector.absolute_tolerance}, relative {vector.relative_tolerance}); "
        f"first at flat index {first}: {got.reshape(-1)[first]!r}, "
        f"expected {want.reshape(-1)[first]!r}"
    )


def _bf16_values(patterns: np.ndarray) -> np.ndarray:
    return (patterns.astype("<u4") << 16).view("<f4")
