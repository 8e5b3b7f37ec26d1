"""A fleet server shared by a test module (in process, so tests also reach the Fleet the
rollout controller will use), and its EdgeService and DeviceAgentService stubs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import grpc
import pytest
from support.hosting import hosted
from support.rollout_fleet import Harness

from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton_server.config import ServerConfig
from lepton_server.edge.layer import EdgeConfig
from lepton_server.edge.services import Fleet, hosted_services, open_fleet


@dataclass
class FleetServer:
    address: str
    fleet: Fleet
    channel: grpc.Channel
    edge: pb_grpc.EdgeServiceStub
    agent: agent_grpc.DeviceAgentServiceStub


def serve_fleet(tmp_path, config: EdgeConfig | None = None, **server: object):
    """A context manager running a fleet server with `config` on 127.0.0.1:0."""
    server_config = ServerConfig(data_dir=tmp_path, services=(), **server)
    fleet = open_fleet(server_config, config or EdgeConfig())
    return fleet, hosted(server_config, hosted_services(fleet))


@contextmanager
def running_fleet(tmp_path, config: EdgeConfig | None = None, **server: object):
    """A running fleet server (serve_fleet) with a channel and stubs."""
    fleet, hosting = serve_fleet(tmp_path, config, **server)
    with hosting as address, grpc.insecure_channel(address) as channel:
        yield FleetServer(
            address,
            fleet,
            channel,
            pb_grpc.EdgeServiceStub(channel),
            agent_grpc.DeviceAgentServiceStub(channel),
        )


@pytest.fixture(scope="module")
def fleet_server(tmp_path_factory) -> Iterator[FleetServer]:
    with running_fleet(tmp_path_factory.mktemp("edge")) as server:
        yield server


@pytest.fixture
def start_fleet(tmp_path) -> Callable[..., AbstractContextManager[FleetServer]]:
    """`start_fleet(config, **server_config)`: a fleet server of a test's own settings."""
    return lambda config=None, **server: running_fleet(tmp_path, config, **server)


@pytest.fixture(scope="module")
def edge(fleet_server) -> pb_grpc.EdgeServiceStub:
    return fleet_server.edge


@pytest.fixture(scope="module")
def agent(fleet_server) -> agent_grpc.DeviceAgentServiceStub:
    return fleet_server.agent


@pytest.fixture
def h(tmp_path) -> Harness:
    """A rollout harness: rollouts over an in-memory fleet and a clock the test moves."""
    return Harness(tmp_path / "rollouts.db")
