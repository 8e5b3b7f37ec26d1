"""What the device agent's tests build: a small ONNX model, golden vectors, signed releases,
and a DeviceAgentService servicer that serves ReadArtifact from memory and can cut a stream
short."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import grpc
import numpy as np
from onnx import TensorProto, helper

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import release_pb2
from lepton.type.v1 import artifact_pb2, digest_pb2, tensor_pb2

TRUSTED_KEY_ID = "release-key-1"


def scale_model(factor: float, padding_floats: int = 0) -> bytes:
    """An ONNX model y = x * factor over FP32 [1, 4], made larger by an unused initializer of
    `padding_floats` values (for tests of large downloads)."""
    padding = (
        [
            helper.make_tensor(
                "padding",
                TensorProto.FLOAT,
                [padding_floats],
                bytes(4 * padding_floats),
                raw=True,
            )
        ]
        if padding_floats
        else []
    )
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "factor"], ["y"])],
        "scale",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        initializer=[helper.make_tensor("factor", TensorProto.FLOAT, [1], [factor]), *padding],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def tensor(name: str, values: np.ndarray) -> release_pb2.TensorValue:
    return release_pb2.TensorValue(
        name=name,
        data_type=tensor_pb2.DATA_TYPE_FP32,
        shape=list(values.shape),
        raw_contents=values.astype("<f4").tobytes(),
    )


def golden_vectors(expected_factor: float) -> bytes:
    """One vector: x = [1, 2, 3, 4], y = x * expected_factor."""
    x = np.array([[1, 2, 3, 4]], dtype=np.float32)
    vectors = release_pb2.HealthCheckVectors(
        vectors=[
            release_pb2.HealthCheckVector(
                inputs=[tensor("x", x)],
                expected_outputs=[tensor("y", x * expected_factor)],
                absolute_tolerance=1e-5,
            )
        ]
    )
    return vectors.SerializeToString()


def descriptor(data: bytes, media_type: str = "application/octet-stream"):
    return artifact_pb2.ArtifactDescriptor(
        size_bytes=len(data),
        digest=digest_pb2.Digest(
            algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=hashlib.sha256(data).hexdigest()
        ),
        media_type=media_type,
    )


@dataclass
class ArtifactServer:
    """A DeviceAgentService on loopback serving ReadArtifact from `blobs` (by SHA-256 hex)."""

    address: str
    blobs: dict[str, bytes] = field(default_factory=dict)
    # Each ReadArtifact request as received.
    requests: list[agent_pb.ReadArtifactRequest] = field(default_factory=list)
    # When set, the next stream breaks (UNAVAILABLE) after this many bytes; cleared then.
    cut_after: int | None = None

    def add(self, data: bytes, content: bytes | None = None) -> artifact_pb2.ArtifactDescriptor:
        """Serve `content` (default `data`) under the descriptor of `data`."""
        described = descriptor(data)
        self.blobs[described.digest.hex] = data if content is None else content
        return described


class ArtifactServicer(agent_grpc.DeviceAgentServiceServicer):
    def __init__(self) -> None:
        self.server: ArtifactServer | None = None

    def ReadArtifact(self, request, context):
        server = self.server
        server.requests.append(request)
        data = server.blobs.get(request.digest.hex)
        if data is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such artifact")
        yield agent_pb.ReadArtifactResponse(artifact=descriptor(data))
        offset, cut = request.offset, server.cut_after
        server.cut_after = None
        end = len(data) if not request.length_bytes else offset + request.length_bytes
        sent = 0
        while offset < min(end, len(data)):
            piece = data[offset : min(end, offset + 1000)]
            if cut is not None and sent + len(piece) > cut:
                context.abort(grpc.StatusCode.UNAVAILABLE, "connection cut by the test")
            yield agent_pb.ReadArtifactResponse(
                chunk=artifact_pb2.ArtifactChunk(offset=offset, data=piece)
            )
            offset += len(piece)
            sent += len(piece)
