"""What tests of the fleet server's RPCs build through its real stubs: uploaded artifacts,
signed releases, devices and deployments, and a device's side of a short Sync stream.

A device's access token comes from the fleet's DeviceTokens (the domain object Register
uses), so these tests need no registration handshake."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lepton.edge.v1 import (
    artifact_upload_pb2,
    deployment_pb2,
    device_agent_service_pb2,
    device_pb2,
    device_state_pb2,
    release_pb2,
)
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton.type.v1 import artifact_pb2, digest_pb2
from lepton_ai.edge.releases import sign_release
from lepton_server.aip.standard_fields import now_ns
from lepton_server.edge.services import Fleet

KEY = Ed25519PrivateKey.generate()
SHA256 = digest_pb2.DIGEST_ALGORITHM_SHA256
T = TypeVar("T")


def descriptor(data: bytes) -> artifact_pb2.ArtifactDescriptor:
    return artifact_pb2.ArtifactDescriptor(
        size_bytes=len(data),
        digest=digest_pb2.Digest(algorithm=SHA256, hex=hashlib.sha256(data).hexdigest()),
        media_type="application/octet-stream",
    )


def upload(edge: pb_grpc.EdgeServiceStub, data: bytes) -> pb.UploadArtifactResponse:
    """UploadArtifact of `data` in one chunk."""
    header = artifact_upload_pb2.ArtifactUploadHeader(artifact=descriptor(data))
    return edge.UploadArtifact(
        iter(
            [
                pb.UploadArtifactRequest(header=header),
                pb.UploadArtifactRequest(chunk=artifact_pb2.ArtifactChunk(offset=0, data=data)),
            ]
        )
    )


def release(model: bytes, version: int = 1) -> release_pb2.ModelRelease:
    """A signed release of `model` (not uploaded)."""
    unsigned = release_pb2.ModelRelease(
        model_version=f"models/detector/versions/{version}",
        artifact=descriptor(model),
        runtime_config=release_pb2.RuntimeConfig(runtime="onnxruntime"),
    )
    unsigned.health_check.skip_inference_test = True
    return sign_release(unsigned, KEY, "test-key")


def uploaded_release(edge: pb_grpc.EdgeServiceStub, version: int = 1) -> release_pb2.ModelRelease:
    """A signed release whose artifact the server stores."""
    model = f"model {version} {time.time_ns()}".encode()
    upload(edge, model)
    return release(model, version)


def create_device(
    edge: pb_grpc.EdgeServiceStub, device_id: str, **labels: str
) -> device_pb2.Device:
    """An APPROVED device with `labels` (EDG-011)."""
    return edge.CreateDevice(
        pb.CreateDeviceRequest(device_id=device_id, device=device_pb2.Device(labels=labels))
    ).device


def create_deployment(
    edge: pb_grpc.EdgeServiceStub, deployment_id: str, **match_labels: str
) -> deployment_pb2.Deployment:
    """A deployment targeting the devices with `match_labels`."""
    deployment = deployment_pb2.Deployment(
        target=deployment_pb2.DeviceTarget(match_labels=match_labels)
    )
    return edge.CreateDeployment(
        pb.CreateDeploymentRequest(deployment_id=deployment_id, deployment=deployment)
    ).deployment


def device_metadata(fleet: Fleet, device: str) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying a fresh access token of `device`."""
    token, _ = fleet.tokens.issue_access(device, now_ns())
    return (("authorization", f"Bearer {token}"),)


def sync_once(
    agent,
    metadata: tuple[tuple[str, str], ...],
    acknowledged_generation: int,
    reported: device_state_pb2.ReportedState,
) -> device_state_pb2.DesiredState:
    """One Sync stream of a device: a hello acknowledging `acknowledged_generation` and
    reporting `reported`, then the client closes; the desired state the server sent."""
    hello = device_agent_service_pb2.SyncHello(
        boot_id="boot-1",
        agent_version="test",
        acknowledged_generation=acknowledged_generation,
        reported_state=reported,
    )
    responses = list(
        agent.Sync(iter([device_agent_service_pb2.SyncRequest(hello=hello)]), metadata=metadata)
    )
    return next(r.desired_state for r in responses if r.HasField("desired_state"))


def eventually(probe: Callable[[], T | None], timeout: float = 10.0) -> T:
    """The first non-None, truthy result of `probe()`, polled until `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {probe}")
        time.sleep(0.05)
