"""How a server hosts the registry (REG-001): discovery lists the service and the features it
implements; without `registry.watch`, WatchModelEvents is UNIMPLEMENTED."""

from __future__ import annotations

import hashlib

import grpc
from registry_calls import create_model, expect_error, ready_version

from lepton.discovery.v1 import discovery_service_pb2 as discovery
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc

SERVICE = "lepton.registry.v1.ModelRegistryService"


def _features(address: str) -> dict[str, list[str]]:
    with grpc.insecure_channel(address) as channel:
        info = discovery_grpc.DiscoveryServiceStub(channel).GetServerInfo(
            discovery.GetServerInfoRequest(), timeout=10
        )
    return {service.name: list(service.features) for service in info.services}


def test_discovery_lists_the_registry_with_the_watch_and_job_features(registry_server):
    assert _features(registry_server.address)[SERVICE] == [
        "registry.conversion",
        "registry.format_validation",
        "registry.import",
        "registry.watch",
    ]


def test_every_layer_is_hosted_by_default(server):
    assert SERVICE in _features(server.address)


def test_without_watch_the_feature_is_absent_and_watching_is_unimplemented(server_factory):
    server = server_factory("--services", "registry", "--registry-no-watch")
    assert _features(server.address)[SERVICE] == [
        "registry.conversion",
        "registry.format_validation",
        "registry.import",
    ]
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.ModelRegistryServiceStub(channel)
        expect_error(
            lambda: next(stub.WatchModelEvents(pb.WatchModelEventsRequest(), timeout=10)),
            grpc.StatusCode.UNIMPLEMENTED,
            "FEATURE_NOT_SUPPORTED",
            feature="registry.watch",
        )


def test_artifacts_live_under_the_shared_storage_uri(server_factory, tmp_path):
    storage = tmp_path / "store"
    for services in ("registry", "registry,data"):
        server = server_factory("--services", services, "--storage-uri", storage.as_uri())
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.ModelRegistryServiceStub(channel)
            data = f"stored by {services}".encode()
            ready_version(stub, create_model(stub), data)
        blob = storage / "registry" / "blobs" / hashlib.sha256(data).hexdigest()
        assert blob.read_bytes() == data
