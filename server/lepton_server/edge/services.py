"""The edge layer's services built from its parts: the fleet database in
`<data-dir>/edge/fleet.db`, the device registry, registration and device tokens, deployments
and desired states, and the Sync streams; EdgeService for operators and DeviceAgentService
for devices, which authenticates its callers with device access tokens instead of the
server's operator tokens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton_server.aip.pagination import PageTokens
from lepton_server.config import ServerConfig
from lepton_server.edge.deployments import Deployments
from lepton_server.edge.desired_states import DesiredStates, FleetAssignments
from lepton_server.edge.device_events import DeviceEvents
from lepton_server.edge.device_tokens import DeviceTokens
from lepton_server.edge.device_watch import DeviceWatches
from lepton_server.edge.devices import Devices
from lepton_server.edge.fleet_database import FleetDatabase
from lepton_server.edge.layer import EdgeConfig
from lepton_server.edge.registration import Registration, RegistrationTimes
from lepton_server.edge.servicer import DeviceAgentServicer, EdgeServicer
from lepton_server.edge.sync_streams import SyncStreams
from lepton_server.runtime.hosted_service import HostedService

EDGE_SERVICE = pb.DESCRIPTOR.services_by_name["EdgeService"].full_name
AGENT_SERVICE = agent_pb.DESCRIPTOR.services_by_name["DeviceAgentService"].full_name
# Optional features (spec/edge.md 7) this server implements: none yet.
EDGE_FEATURES: tuple[str, ...] = ()
AGENT_FEATURES: tuple[str, ...] = ()
SECOND_NS = 10**9


@dataclass(frozen=True)
class Fleet:
    """The fleet server's domain objects, for the servicers and the layer's other parts
    (the rollout controller uses `assignments`)."""

    db: FleetDatabase
    events: DeviceEvents
    tokens: DeviceTokens
    devices: Devices
    registration: Registration
    deployments: Deployments
    assignments: FleetAssignments
    streams: SyncStreams


def open_fleet(server: ServerConfig, config: EdgeConfig) -> Fleet:
    """The fleet's parts over `<data-dir>/edge/fleet.db`."""
    db = FleetDatabase(server.data_dir / "edge" / "fleet.db")
    events = DeviceEvents()
    page_tokens = PageTokens()
    desired = DesiredStates(db, events)
    tokens = DeviceTokens(db, int(config.access_token_ttl_seconds * SECOND_NS))
    devices = Devices(db, desired, tokens, events, page_tokens)
    times = RegistrationTimes(
        challenge_ttl_ns=int(config.challenge_ttl_seconds * SECOND_NS),
        pending_retry_after_ns=int(config.pending_retry_after_seconds * SECOND_NS),
    )
    return Fleet(
        db=db,
        events=events,
        tokens=tokens,
        devices=devices,
        registration=Registration(db, devices, tokens, times),
        deployments=Deployments(db, desired, page_tokens),
        assignments=FleetAssignments(desired),
        streams=SyncStreams(db, devices, events),
    )


def build(server: ServerConfig, config: EdgeConfig) -> list[HostedService]:
    """Open the fleet database and describe both services."""
    return hosted_services(open_fleet(server, config))


def hosted_services(fleet: Fleet) -> list[HostedService]:
    """EdgeService and DeviceAgentService over `fleet`."""
    edge = EdgeServicer(fleet.devices, fleet.deployments, DeviceWatches(fleet.devices))
    agent = DeviceAgentServicer(fleet.registration, fleet.streams)

    def start(loop: asyncio.AbstractEventLoop, _address: str) -> None:
        fleet.streams.start(loop)

    return [
        HostedService(
            EDGE_SERVICE,
            lambda grpc_server: pb_grpc.add_EdgeServiceServicer_to_server(edge, grpc_server),
            features=EDGE_FEATURES,
            start=start,
            close=fleet.db.close,
            refuse=fleet.tokens.refuse_on_fleet,
        ),
        HostedService(
            AGENT_SERVICE,
            lambda grpc_server: agent_grpc.add_DeviceAgentServiceServicer_to_server(
                agent, grpc_server
            ),
            features=AGENT_FEATURES,
            authenticate=fleet.tokens.authenticate,
        ),
    ]
