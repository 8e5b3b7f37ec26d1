"""Hand-encoded protobuf for the inference hot path.

A ModelInferResponse is written as cached bytes for the parts that repeat between requests
(model name, version and output metadata) followed by the request id and the raw output
contents, each a length-delimited field. Protobuf parsers accept fields in any order, so the
result decodes exactly as the message built field by field would, but the tensor bytes are
copied once instead of three times, and small responses skip building message objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_server.runtime.wire_format import length_delimited

# Field numbers of ModelInferResponse and ModelStreamInferResponse (spec/inference.md).
RESPONSE_ID = 3
RESPONSE_RAW_OUTPUT = 6
STREAM_INFER_RESPONSE = 2
HEADER_CACHE_SIZE = 256


class ResponseHeaders:
    """Serialized (model_name, model_version, outputs) of recent output shapes, per version."""

    def __init__(self, name: str, version: str) -> None:
        self.name, self.version = name, version
        self._cache: dict[tuple, bytes] = {}

    def get(self, outputs: Sequence[tuple[str, str, tuple[int, ...]]]) -> bytes:
        key = tuple(outputs)
        header = self._cache.get(key)
        if header is None:
            message = pb.ModelInferResponse(model_name=self.name, model_version=self.version)
            for name, datatype, shape in outputs:
                message.outputs.add(name=name, datatype=datatype, shape=shape)
            header = message.SerializeToString()
            if len(self._cache) >= HEADER_CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = header
        return header


def infer_response(header: bytes, request_id: str, contents: Sequence[bytes | memoryview]) -> bytes:
    """A serialized ModelInferResponse: cached header, id, then raw output contents."""
    parts: list[bytes | memoryview] = [header]
    if request_id:
        encoded = request_id.encode()
        parts += [length_delimited(RESPONSE_ID, len(encoded)), encoded]
    for data in contents:
        parts += [length_delimited(RESPONSE_RAW_OUTPUT, len(data)), data]
    return b"".join(parts)


def stream_response(infer_response_bytes: bytes) -> bytes:
    """A serialized ModelStreamInferResponse carrying one serialized ModelInferResponse."""
    return length_delimited(STREAM_INFER_RESPONSE, len(infer_response_bytes)) + infer_response_bytes


REQUEST_RAW_INPUT = 7
# Below this size upb parses the whole request faster than Python can split it.
SPLIT_THRESHOLD = 64 * 1024


def _read_varint(data: memoryview, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(data):
            raise DecodeError("truncated varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise DecodeError("varint too long")


def parse_infer_request(data: bytes) -> InferRequest:
    """A ModelInferRequest and its raw input contents. For large requests the raw contents
    stay views into `data` (no copy) and upb parses only the rest (INF-020)."""
    if len(data) < SPLIT_THRESHOLD:
        message = pb.ModelInferRequest.FromString(data)
        return InferRequest(message, list(message.raw_input_contents))
    view = memoryview(data)
    rest: list[memoryview] = []
    raw: list[memoryview] = []
    position = 0
    while position < len(view):
        start = position
        tag, position = _read_varint(view, position)
        wire_type = tag & 7
        if wire_type == 0:
            _, position = _read_varint(view, position)
        elif wire_type == 2:
            size, position = _read_varint(view, position)
            if position + size > len(view):
                raise DecodeError("truncated length-delimited field")
            if tag >> 3 == REQUEST_RAW_INPUT:
                raw.append(view[position : position + size])
                position += size
                continue
            position += size
        elif wire_type in (1, 5):
            position += 8 if wire_type == 1 else 4
        else:
            raise DecodeError(f"unsupported wire type {wire_type}")
        if position > len(view):
            raise DecodeError("truncated field")
        rest.append(view[start:position])
    return InferRequest(pb.ModelInferRequest.FromString(b"".join(rest)), raw)


@dataclass(frozen=True)
class InferRequest:
    """A parsed ModelInferRequest whose raw input contents may live outside the message."""

    message: pb.ModelInferRequest
    raw: list[bytes | memoryview]
