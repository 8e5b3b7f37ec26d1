"""A client of the Open Inference Protocol for the inference profiles: builds requests from
numpy arrays in raw or typed form and decodes responses in either form. Written apart from any
server so that it checks the wire format, not a shared implementation."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np

from lepton.inference.v1 import inference_service_pb2 as pb
from lepton_conformance.harness.case import Failed, NotApplicable
from lepton_conformance.harness.context import CaseContext

OIP_SERVICE = "inference.GRPCInferenceService"
LEPTON_SERVICE = "lepton.inference.v1.InferenceService"
SERVICE_NAMES = {"oip": OIP_SERVICE, "lepton": LEPTON_SERVICE}

# datatype -> (numpy dtype, typed-contents field or None for raw-only)
DATATYPES: dict[str, tuple[str, str | None]] = {
    "BOOL": ("?", "bool_contents"),
    "UINT8": ("<u1", "uint_contents"),
    "UINT16": ("<u2", "uint_contents"),
    "UINT32": ("<u4", "uint_contents"),
    "UINT64": ("<u8", "uint64_contents"),
    "INT8": ("<i1", "int_contents"),
    "INT16": ("<i2", "int_contents"),
    "INT32": ("<i4", "int_contents"),
    "INT64": ("<i8", "int64_contents"),
    "FP16": ("<f2", None),
    "BF16": ("<u2", None),
    "FP32": ("<f4", "fp32_contents"),
    "FP64": ("<f8", "fp64_contents"),
    "BYTES": ("O", "bytes_contents"),
}


def frame_bytes(elements: Sequence[bytes]) -> bytes:
    """BYTES elements in raw form: each a uint32 little-endian length, then the bytes."""
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def unframe_bytes(data: bytes, count: int) -> list[bytes]:
    """`count` length-framed elements; raises Failed when the framing is wrong."""
    elements, position = [], 0
    for _ in range(count):
        if position + 4 > len(data):
            raise Failed("BYTES framed by uint32 little-endian lengths", "a truncated frame")
        (length,) = struct.unpack_from("<I", data, position)
        position += 4
        elements.append(data[position : position + length])
        position += length
    if position != len(data):
        raise Failed("frames that cover the output exactly", f"{len(data) - position} stray bytes")
    return elements


def to_raw(array: np.ndarray, datatype: str) -> bytes:
    if datatype == "BYTES":
        return frame_bytes([bytes(e) for e in array.reshape(-1)])
    return np.ascontiguousarray(array, dtype=DATATYPES[datatype][0]).tobytes()


@dataclass(frozen=True)
class Tensor:
    """A named tensor: datatype, shape and elements."""

    name: str
    datatype: str
    array: np.ndarray

    @property
    def shape(self) -> list[int]:
        return list(self.array.shape)


def tensor(name: str, datatype: str, values: Any, shape: Sequence[int]) -> Tensor:
    """A Tensor from plain values (BYTES values as str or bytes)."""
    dtype = DATATYPES[datatype][0]
    if datatype == "BYTES":
        flat = [v.encode() if isinstance(v, str) else bytes(v) for v in values]
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
    else:
        array = np.asarray(values, dtype=dtype)
    return Tensor(name, datatype, array.reshape(shape))


def request(
    model: str,
    inputs: Sequence[Tensor],
    *,
    raw: bool = True,
    version: str = "",
    request_id: str = "",
    outputs: Sequence[str] = (),
) -> pb.ModelInferRequest:
    """A ModelInferRequest with every input in raw or in typed form."""
    message = pb.ModelInferRequest(model_name=model, model_version=version, id=request_id)
    for t in inputs:
        entry = message.inputs.add(name=t.name, datatype=t.datatype, shape=t.shape)
        if raw:
            message.raw_input_contents.append(to_raw(t.array, t.datatype))
        else:
            field = DATATYPES[t.datatype][1]
            if field is None:
                raise ValueError(f"{t.datatype} has no typed form")
            values = t.array.reshape(-1).tolist()
            getattr(entry.contents, field).extend(values)
    for name in outputs:
        message.outputs.add(name=name)
    return message


def decode_outputs(response: pb.ModelInferResponse) -> dict[str, Tensor]:
    """Every output of a response, raw or typed (INF-028: never mixed in one response)."""
    raw = list(response.raw_output_contents)
    if raw and len(raw) != len(response.outputs):
        raise Failed(
            "one raw_output_contents entry per output",
            f"{len(raw)} entries for {len(response.outputs)} outputs",
        )
    decoded: dict[str, Tensor] = {}
    for index, output in enumerate(response.outputs):
        if output.datatype not in DATATYPES:
            raise Failed("an OIP datatype", repr(output.datatype))
        count = int(np.prod(output.shape)) if len(output.shape) else 1
        typed_used = output.HasField("contents") and output.contents.ByteSize() > 0
        if raw and typed_used:
            raise Failed("outputs in one form", "raw and typed contents mixed in a response")
        array = _from_raw(output.datatype, raw[index], count) if raw else _from_typed(output, count)
        shape = list(output.shape)
        decoded[output.name] = Tensor(output.name, output.datatype, array.reshape(shape))
    return decoded


def _from_raw(datatype: str, data: bytes, count: int) -> np.ndarray:
    if datatype == "BYTES":
        array = np.empty(count, dtype=object)
        array[:] = unframe_bytes(data, count)
        return array
    dtype = np.dtype(DATATYPES[datatype][0])
    if len(data) != count * dtype.itemsize:
        raise Failed(f"{count} elements of {datatype}", f"{len(data)} bytes")
    return np.frombuffer(data, dtype=dtype)


def _from_typed(output: pb.ModelInferResponse.InferOutputTensor, count: int) -> np.ndarray:
    dtype, field = DATATYPES[output.datatype]
    if field is None:
        raise Failed(f"{output.datatype} output as raw contents", "typed contents")
    values = list(getattr(output.contents, field))
    if len(values) != count:
        raise Failed(f"{count} typed elements", f"{len(values)}")
    if output.datatype == "BYTES":
        array = np.empty(count, dtype=object)
        array[:] = values
        return array
    return np.asarray(values).astype(dtype)


class InferenceClient:
    """Calls the target's inference service under the name the run chose."""

    def __init__(self, ctx: CaseContext, service: str) -> None:
        self.ctx = ctx
        self.service = service

    def _method(self, name: str, stream: bool = False):
        method = pb.DESCRIPTOR.services_by_name["InferenceService"].methods_by_name[name]
        request_class = getattr(pb, method.input_type.name)
        response_class = getattr(pb, method.output_type.name)
        factory = self.ctx.channel.stream_stream if stream else self.ctx.channel.unary_unary
        return factory(
            f"/{self.service}/{name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )

    def call(self, name: str, message: Any, timeout: float | None = None) -> Any:
        return self._method(name)(
            message, metadata=self.ctx.metadata, timeout=timeout or self.ctx.timeout
        )

    def infer(self, message: pb.ModelInferRequest) -> pb.ModelInferResponse:
        return self.call("ModelInfer", message)

    def stream(self, messages: Iterator[pb.ModelInferRequest], timeout: float | None = None):
        return self._method("ModelStreamInfer", stream=True)(
            messages, metadata=self.ctx.metadata, timeout=timeout or self.ctx.timeout
        )


def client(ctx: CaseContext) -> InferenceClient:
    """The client for this run: `--inference-service`, or whichever name the target serves
    (the Open Inference Protocol name first)."""
    chosen = ctx.options.inference_service
    if chosen:
        return InferenceClient(ctx, SERVICE_NAMES[chosen])
    for name in (OIP_SERVICE, LEPTON_SERVICE):
        if ctx.info.serves(name):
            return InferenceClient(ctx, name)
    raise NotApplicable("the target serves no inference service", "inference service")


def server_extensions(ctx: CaseContext) -> frozenset[str]:
    """ServerMetadata.extensions, fetched once per run."""
    cached = ctx.cache.get("extensions")
    if cached is None:
        try:
            metadata = client(ctx).call("ServerMetadata", pb.ServerMetadataRequest())
            cached = frozenset(metadata.extensions)
        except grpc.RpcError:
            cached = frozenset()
        ctx.cache["extensions"] = cached
    return cached


def require_extension(ctx: CaseContext, extension: str) -> None:
    """The case does not apply unless the target lists `extension` or its probe found it
    implemented (a feature that answers is tested whether listed or not)."""
    finding = ctx.info.optional_features.get(extension)
    if finding is None:  # not probed (dynamic_batching): the list is all there is
        if extension not in server_extensions(ctx):
            raise NotApplicable(f"the target does not list the {extension!r} extension", extension)
    elif not (finding.listed or finding.implemented):
        raise NotApplicable(
            f"the target does not implement the {extension!r} extension "
            f"(unlisted; probe {finding.evidence})",
            extension,
        )
    ctx.uses_feature(extension)


def assert_tensors_equal(got: Mapping[str, Tensor], wanted: Mapping[str, Tensor]) -> None:
    """Outputs must match the expected ones exactly: names, datatypes, shapes, bits."""
    if sorted(got) != sorted(wanted):
        raise Failed(f"outputs {sorted(wanted)}", f"outputs {sorted(got)}")
    for name, expected in wanted.items():
        actual = got[name]
        if actual.datatype != expected.datatype:
            raise Failed(f"{name} datatype {expected.datatype}", actual.datatype)
        if actual.shape != expected.shape:
            raise Failed(f"{name} shape {expected.shape}", str(actual.shape))
        if to_raw(actual.array, actual.datatype) != to_raw(expected.array, expected.datatype):
            raise Failed(
                f"{name} = {expected.array.reshape(-1)[:8].tolist()}…",
                f"{actual.array.reshape(-1)[:8].tolist()}…",
            )
