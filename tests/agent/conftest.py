"""Fixtures of the device agent's tests: a DeviceAgentService on loopback serving
ReadArtifact, a trusted release key with its trust-roots file, and signed releases."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.agent_releases import (
    TRUSTED_KEY_ID,
    ArtifactServer,
    ArtifactServicer,
    golden_vectors,
    scale_model,
)

from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import release_pb2
from lepton_ai.edge.releases import raw_public_key, sign_release, write_trust_roots


@pytest.fixture
def artifact_server() -> Iterator[ArtifactServer]:
    servicer = ArtifactServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    agent_grpc.add_DeviceAgentServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    servicer.server = ArtifactServer(f"127.0.0.1:{port}")
    yield servicer.server
    server.stop(None)


@pytest.fixture
def trusted_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def trust_roots_file(tmp_path, trusted_key):
    path = tmp_path / "trust-roots.json"
    write_trust_roots(path, {TRUSTED_KEY_ID: raw_public_key(trusted_key)})
    return path


ReleaseFactory = Callable[..., release_pb2.ModelRelease]


@pytest.fixture
def make_release(artifact_server, trusted_key) -> ReleaseFactory:
    """A signed release of scale_model(factor) whose golden vectors expect `expected`
    (default: factor), its files served by `artifact_server`."""

    def make(
        factor: float,
        expected: float | None = None,
        *,
        key: Ed25519PrivateKey | None = None,
        version: str = "1",
    ) -> release_pb2.ModelRelease:
        model = scale_model(factor)
        vectors = golden_vectors(factor if expected is None else expected)
        labels = json.dumps({"0": "scaled", "factor": factor}).encode()
        release = release_pb2.ModelRelease(
            model_version=f"models/scale/versions/{version}",
            artifact=artifact_server.add(model),
            runtime_config=release_pb2.RuntimeConfig(runtime="onnxruntime"),
            health_check=release_pb2.HealthCheckConfig(vectors_path="checks/vectors.pb"),
            files=[
                release_pb2.ReleaseFile(
                    path="checks/vectors.pb",
                    artifact=artifact_server.add(vectors),
                    role=release_pb2.RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS,
                ),
                release_pb2.ReleaseFile(
                    path="labels.json",
                    artifact=artifact_server.add(labels),
                    role=release_pb2.RELEASE_FILE_ROLE_CONFIGURATION,
                ),
            ],
            parameters={"threshold": "0.5", "camera": "left"},
            overridable_parameters=["threshold"],
        )
        return sign_release(release, key or trusted_key, TRUSTED_KEY_ID)

    return make
