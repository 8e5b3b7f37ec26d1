"""Releases of registry model versions (spec/edge.md §2.6, EDG-123): a fleet server with a
registry, its own or one at --edge-registry-address, resolves a release's version or alias,
fills the artifact from it and serves the registry's bytes to devices without an upload."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.agent_releases import golden_vectors, scale_model
from support.status_details import error_info

from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton.edge.v1 import release_pb2
from lepton.registry.v1 import model_registry_service_pb2 as registry_pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as registry_grpc
from lepton.registry.v1 import model_version_pb2
from lepton.type.v1 import model_artifact_pb2, model_format_pb2
from lepton_ai import EdgeFleet
from lepton_ai.edge.releases import sign_release
from lepton_ai.registry import ModelRegistry
from lepton_ai.registry.artifact_transfer import descriptor_of
from lepton_ai.registry.model_packaging import package

KEY = Ed25519PrivateKey.generate()
VECTORS = release_pb2.HealthCheckVectors.FromString(golden_vectors(2.0))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "scale.onnx"
    path.write_bytes(scale_model(2.0))
    return path


def _registered(address: str, model_file: Path) -> model_version_pb2.ModelVersion:
    """A new model with one READY version of `model_file`, aliased `prod`."""
    with ModelRegistry.connect(address, progress=False) as registry:
        return registry.register(model_file, f"scale-{uuid.uuid4().hex[:8]}", alias="prod")


def model_of(version: model_version_pb2.ModelVersion) -> str:
    return version.name.rsplit("/versions/", 1)[0]


def _downloaded(address: str, descriptor) -> bytes:
    with grpc.insecure_channel(address) as channel:
        request = pb.DownloadArtifactRequest(digest=descriptor.digest)
        responses = pb_grpc.EdgeServiceStub(channel).DownloadArtifact(request, timeout=30)
        return b"".join(r.chunk.data for r in responses if r.WhichOneof("payload") == "chunk")


def _without(release: release_pb2.ModelRelease, *fields: str) -> release_pb2.ModelRelease:
    """A copy of `release` with `fields` cleared."""
    copy = release_pb2.ModelRelease()
    copy.CopyFrom(release)
    for name in fields:
        copy.ClearField(name)
    return copy


def _rolled_out(fleet: EdgeFleet, release: release_pb2.ModelRelease):
    deployment = fleet.create_deployment(f"d-{uuid.uuid4().hex[:8]}", all_devices=True)
    return fleet.create_rollout(deployment.name, release)


def _create_error(address: str, release: release_pb2.ModelRelease) -> grpc.RpcError:
    with EdgeFleet.connect(address, progress=False) as fleet:
        deployment = fleet.create_deployment(f"d-{uuid.uuid4().hex[:8]}", all_devices=True)
    with grpc.insecure_channel(address) as channel:
        request = pb.CreateRolloutRequest(parent=deployment.name)
        request.rollout.release.CopyFrom(release)
        with pytest.raises(grpc.RpcError) as raised:
            pb_grpc.EdgeServiceStub(channel).CreateRollout(request, timeout=30)
    return raised.value


def test_a_release_of_an_alias_names_its_version_and_the_fleet_serves_the_registry_bytes(
    server, model_file
):
    version = _registered(server.address, model_file)
    with EdgeFleet.connect(server.address, progress=False) as fleet:
        release = fleet.create_release(
            f"{model_of(version)}/aliases/prod", vectors=VECTORS, sign_with=(KEY, "k1")
        )
        rollout = _rolled_out(fleet, release)
    stored = rollout.release
    assert stored.model_version == version.name
    assert stored.artifact == version.artifact.descriptor
    assert stored.format == model_format_pb2.ModelFormat.MODEL_FORMAT_ONNX
    # Nothing was uploaded to the fleet: the bytes come from the registry.
    assert _downloaded(server.address, stored.artifact) == model_file.read_bytes()


def test_the_server_fills_an_unset_artifact_and_format_and_checks_the_signature_after(
    server, model_file
):
    """A publisher signs the filled release; the same release sent unfilled is stored
    filled, with the digest of the filled form."""
    version = _registered(server.address, model_file)
    with EdgeFleet.connect(server.address, progress=False) as fleet:
        filled = fleet.create_release(version.name, vectors=VECTORS, sign_with=(KEY, "k1"))
        sent = _without(filled, "artifact", "release_digest", "format")
        stored = _rolled_out(fleet, sent).release
    assert stored.artifact == version.artifact.descriptor
    assert stored.release_digest == filled.release_digest


def test_a_signature_over_the_unfilled_release_is_invalid(server, model_file):
    version = _registered(server.address, model_file)
    with EdgeFleet.connect(server.address, progress=False) as fleet:
        filled = fleet.create_release(version.name, vectors=VECTORS, sign_with=(KEY, "k1"))
    unfilled = _without(filled, "artifact", "release_digest", "signatures")
    error = _create_error(server.address, sign_release(unfilled, KEY, "k1"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    # The client's release digest (of the unfilled form) differs from the stored one.
    assert error_info(error).reason == "INVALID_FIELD"
    unsigned = sign_release(unfilled, KEY, "k1")
    unsigned.ClearField("release_digest")
    error = _create_error(server.address, unsigned)
    assert error_info(error).reason == "RELEASE_SIGNATURE_INVALID"


def test_a_version_the_registry_lacks_is_not_found(server, model_file):
    version = _registered(server.address, model_file)
    with EdgeFleet.connect(server.address, progress=False) as fleet:
        release = fleet.create_release(version.name, vectors=VECTORS, sign_with=(KEY, "k1"))
    release.ClearField("artifact")
    for missing in (f"{model_of(version)}/versions/99", f"{model_of(version)}/aliases/nope"):
        release.model_version = missing
        error = _create_error(server.address, release)
        assert (error.code(), error_info(error).reason) == (
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        ), missing


def test_a_version_not_ready_is_a_failed_precondition(server, model_file):
    version = _registered(server.address, model_file)
    packed = package(model_file, None)
    with grpc.insecure_channel(server.address) as channel:
        pending = (
            registry_grpc.ModelRegistryServiceStub(channel)
            .CreateModelVersion(
                registry_pb.CreateModelVersionRequest(
                    parent=model_of(version),
                    model_version=model_version_pb2.ModelVersion(
                        artifact=model_artifact_pb2.ModelArtifact(
                            descriptor=descriptor_of(packed), format=packed.format
                        )
                    ),
                ),
                timeout=30,
            )
            .model_version
        )
    with EdgeFleet.connect(server.address, progress=False) as fleet:
        release = fleet.create_release(version.name, vectors=VECTORS, sign_with=(KEY, "k1"))
    release.model_version = pending.name
    release.ClearField("artifact")
    error = _create_error(server.address, release)
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_NOT_READY",
    )
    assert error_info(error).metadata["resource_name"] == pending.name


def test_a_fleet_server_reads_the_registry_at_the_address_it_is_given(
    server, server_factory, model_file
):
    """A release signed over the concrete version may name it through an alias: the
    fleet resolves the alias to what was signed."""
    version = _registered(server.address, model_file)
    fleet_server = server_factory("--services", "edge", "--edge-registry-address", server.address)
    with (
        ModelRegistry.connect(server.address, progress=False) as registry,
        EdgeFleet.connect(fleet_server.address, progress=False) as fleet,
    ):
        alias = f"{model_of(version)}/aliases/prod"
        release = fleet.create_release(
            alias, vectors=VECTORS, sign_with=(KEY, "k1"), registry=registry
        )
        assert release.model_version == version.name
        sent = _without(release, "release_digest")
        sent.model_version = alias
        stored = _rolled_out(fleet, sent).release
    assert stored.model_version == version.name
    assert stored.release_digest == release.release_digest
    assert _downloaded(fleet_server.address, stored.artifact) == model_file.read_bytes()


def test_a_complete_release_of_a_version_the_registry_lacks_is_checked_as_any_other(
    server, model_file
):
    """A release with its artifact may name a version of another registry: the fleet's own
    store decides (ARTIFACT_NOT_AVAILABLE for bytes it does not hold)."""
    version = _registered(server.address, model_file)
    with EdgeFleet.connect(server.address, progress=False) as fleet:
        release = fleet.create_release(
            version.name, vectors=VECTORS, sign_with=(KEY, "k1"), model=b"other bytes"
        )
        release.ClearField("signatures")
        release.model_version = "models/elsewhere/versions/4"
        release = sign_release(release, KEY, "k1")
        stored = _rolled_out(fleet, release).release
    assert stored.model_version == "models/elsewhere/versions/4"


def test_without_a_registry_an_alias_is_an_invalid_name(server_factory, model_file):
    fleet_server = server_factory("--services", "edge")
    release = release_pb2.ModelRelease(model_version="models/m/aliases/prod")
    error = _create_error(fleet_server.address, release)
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_NAME",
    )
