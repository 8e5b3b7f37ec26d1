"""The releases the agent harness deploys: a small ONNX model y = x * factor over FP32
[1, 4] (built with onnx.helper, padded on demand so a download can be cut), golden vectors
that expect some factor, a configuration file, and the signed ModelRelease naming all three
by SHA-256 (spec/edge.md sections 2.4 and 2.9)."""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from onnx import TensorProto, helper

from lepton.edge.v1 import release_pb2
from lepton.type.v1 import artifact_pb2, digest_pb2, tensor_pb2
from lepton_conformance.suites.edge.release_signatures import sign

INPUT = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
VECTORS_PATH = "checks/vectors.pb"
LABELS_PATH = "labels.json"
VECTORS_MEDIA_TYPE = "application/vnd.lepton.edge.health-check-vectors+proto"
MODEL_MEDIA_TYPE = "application/octet-stream"


def scale_model(factor: float, name: str, padding: int = 0) -> bytes:
    """y = x * factor over FP32 [1, 4], its bytes unique to `name`; `padding` bytes of doc
    string make it larger."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "factor"], ["y"])],
        "scale",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        initializer=[helper.make_tensor("factor", TensorProto.FLOAT, [1], [factor])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="lepton-conformance"
    )
    model.ir_version = 8
    model.doc_string = f"release {name}" + "p" * padding
    return model.SerializeToString()


def _tensor(name: str, values: np.ndarray) -> release_pb2.TensorValue:
    return release_pb2.TensorValue(
        name=name,
        data_type=tensor_pb2.DATA_TYPE_FP32,
        shape=list(values.shape),
        raw_contents=values.astype("<f4").tobytes(),
    )


def golden_vectors(expected_factor: float, name: str) -> bytes:
    """Two vectors, x = INPUT and x = a constant unique to `name` (so that every release's
    vectors file has a digest of its own), each with y = x * expected_factor."""
    unique = np.full((1, 4), zlib.crc32(name.encode()) % 1000, dtype=np.float32)
    vectors = [
        release_pb2.HealthCheckVector(
            inputs=[_tensor("x", x)],
            expected_outputs=[_tensor("y", x * expected_factor)],
            absolute_tolerance=1e-5,
            relative_tolerance=1e-6,
        )
        for x in (INPUT, unique)
    ]
    return release_pb2.HealthCheckVectors(vectors=vectors).SerializeToString()


def descriptor(data: bytes, media_type: str = MODEL_MEDIA_TYPE) -> artifact_pb2.ArtifactDescriptor:
    return artifact_pb2.ArtifactDescriptor(
        size_bytes=len(data),
        digest=digest_pb2.Digest(
            algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=hashlib.sha256(data).hexdigest()
        ),
        media_type=media_type,
    )


@dataclass(frozen=True)
class Release:
    """A signed release, the bytes of each of its artifacts by SHA-256 hex, and what its
    model answers for INPUT."""

    release: release_pb2.ModelRelease
    blobs: dict[str, bytes]
    factor: float

    @property
    def model_digest(self) -> str:
        return self.release.artifact.digest.hex

    @property
    def digests(self) -> set[str]:
        return set(self.blobs)

    def file_digest(self, path: str) -> str:
        return next(f.artifact.digest.hex for f in self.release.files if f.path == path)


def make_release(
    name: str,
    factor: float,
    key: Ed25519PrivateKey,
    key_id: str,
    *,
    expected: float | None = None,
    padding: int = 0,
) -> Release:
    """Release `name` of scale_model(factor) whose golden vectors expect `expected` (default
    `factor`), signed by `key` under `key_id`. `name` makes its files and digests unique."""
    model = scale_model(factor, name, padding)
    vectors = golden_vectors(factor if expected is None else expected, name)
    labels = json.dumps({"release": name, "0": "scaled"}).encode()
    release = release_pb2.ModelRelease(
        model_version=f"models/conformance-scale/versions/{name}",
        artifact=descriptor(model),
        runtime_config=release_pb2.RuntimeConfig(runtime="onnxruntime"),
        health_check=release_pb2.HealthCheckConfig(vectors_path=VECTORS_PATH),
        files=[
            release_pb2.ReleaseFile(
                path=VECTORS_PATH,
                artifact=descriptor(vectors, VECTORS_MEDIA_TYPE),
                role=release_pb2.RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS,
            ),
            release_pb2.ReleaseFile(
                path=LABELS_PATH,
                artifact=descriptor(labels, "application/json"),
                role=release_pb2.RELEASE_FILE_ROLE_CONFIGURATION,
            ),
        ],
        parameters={"threshold": "0.5"},
        overridable_parameters=["threshold"],
    )
    blobs = {hashlib.sha256(data).hexdigest(): data for data in (model, vectors, labels)}
    return Release(sign(release, key, key_id), blobs, factor)
