"""A registry server shared by a test module, and its stub."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from support.servers import ServerProcess, start_server

from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory) -> Iterator[ServerProcess]:
    """One `lepton serve --services registry` for the module's tests."""
    server = start_server(
        ["--services", "registry", "--registry-watch-keepalive-seconds", "0.5"],
        tmp_path_factory.mktemp("registry"),
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def channel(registry_server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(registry_server.address) as channel:
        yield channel


@pytest.fixture(scope="module")
def stub(channel) -> pb_grpc.ModelRegistryServiceStub:
    return pb_grpc.ModelRegistryServiceStub(channel)
