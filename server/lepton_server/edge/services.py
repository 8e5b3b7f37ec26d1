"""The edge layer's services built from its parts: the fleet database in
`<data-dir>/edge/fleet.db`, the device registry, registration and device tokens, deployments
and desired states, and the Sync streams; the rollouts (`rollouts.db`) and their controller;
the artifact store (`artifacts/`) and the telemetry store (`telemetry.db`). EdgeService for
operators and DeviceAgentService for devices, which authenticates its callers with device
access tokens instead of the server's operator tokens."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton_server.aip.pagination import PageTokens
from lepton_server.config import ServerConfig
from lepton_server.edge import releases
from lepton_server.edge.artifact_store import ArtifactStore
from lepton_server.edge.deployments import Deployments
from lepton_server.edge.desired_states import DesiredStates, FleetAssignments
from lepton_server.edge.device_commands import DeviceCommands
from lepton_server.edge.device_events import DeviceEvents
from lepton_server.edge.device_tokens import DeviceTokens
from lepton_server.edge.device_watch import DeviceWatches
from lepton_server.edge.devices import Devices
from lepton_server.edge.fleet_database import FleetDatabase
from lepton_server.edge.layer import EdgeConfig
from lepton_server.edge.registration import Registration, RegistrationTimes
from lepton_server.edge.registry_releases import RegistryReleases
from lepton_server.edge.rollout_controller import RolloutController
from lepton_server.edge.rollouts import Rollouts
from lepton_server.edge.servicer import DeviceAgentServicer, EdgeServicer
from lepton_server.edge.sync_streams import SyncStreams
from lepton_server.edge.telemetry_batches import TelemetryBatches
from lepton_server.edge.telemetry_store import TelemetryStore
from lepton_server.runtime.hosted_service import HostedService
from lepton_server.runtime.layer_registry import selected_layers
from lepton_server.runtime.sealed_files import SealedFiles

EDGE_SERVICE = pb.DESCRIPTOR.services_by_name["EdgeService"].full_name
AGENT_SERVICE = agent_pb.DESCRIPTOR.services_by_name["DeviceAgentService"].full_name
# Optional features (spec/edge.md 7) this server implements.
EDGE_FEATURES: tuple[str, ...] = (
    "edge.commands",
    "edge.artifact_upload",
    "edge.telemetry_query",
    "edge.rollout_rate",
    "edge.update_windows",
)
AGENT_FEATURES: tuple[str, ...] = ("edge.device_blobs",)
SECOND_NS = 10**9


@dataclass(frozen=True)
class Fleet:
    """The fleet server's domain objects, for the servicers and the layer's other parts
    (the rollouts reach the fleet through `assignments`)."""

    db: FleetDatabase
    events: DeviceEvents
    tokens: DeviceTokens
    devices: Devices
    registration: Registration
    deployments: Deployments
    assignments: FleetAssignments
    streams: SyncStreams
    commands: DeviceCommands
    rollouts: Rollouts
    controller: RolloutController
    artifacts: ArtifactStore
    telemetry: TelemetryStore
    # The registry releases name, when the server has one (registry_releases.py).
    registry: RegistryReleases | None = None

    def close(self) -> None:
        """Stop the rollout controller and close the stores."""
        if self.registry is not None:
            self.registry.close()
        self.controller.close()
        self.rollouts.close()
        self.telemetry.close()
        self.db.close()


def open_fleet(server: ServerConfig, config: EdgeConfig) -> Fleet:
    """The fleet's parts over `<data-dir>/edge/`."""
    root = server.data_dir / "edge"
    db = FleetDatabase(root / "fleet.db")
    events = DeviceEvents()
    page_tokens = PageTokens()
    desired = DesiredStates(db, events)
    tokens = DeviceTokens(db, int(config.access_token_ttl_seconds * SECOND_NS))
    devices = Devices(db, desired, tokens, events, page_tokens)
    times = RegistrationTimes(
        challenge_ttl_ns=int(config.challenge_ttl_seconds * SECOND_NS),
        pending_retry_after_ns=int(config.pending_retry_after_seconds * SECOND_NS),
    )
    deployments = Deployments(db, desired, page_tokens)
    commands = DeviceCommands(db, events, page_tokens)
    assignments = FleetAssignments(desired)
    artifacts = ArtifactStore(root / "artifacts")
    if server.encryption is not None:
        artifacts.blobs.sealed = SealedFiles(server.encryption, artifacts.blobs.filesystem)
    telemetry = TelemetryStore(root / "telemetry.db", page_tokens)
    # A release's artifacts must be in the store to be servable (ARTIFACT_NOT_AVAILABLE).
    validate_release = functools.partial(
        releases.validate_release, has_artifact=lambda sha256: artifacts.stored(sha256) is not None
    )
    rollouts = Rollouts(
        root / "rollouts.db",
        assignments,
        validate_release,
        check_deployment=deployments.stored,
        tokens=page_tokens,
        features=EDGE_FEATURES,
    )
    deployments.on_delete.append(rollouts.forget_deployment)  # EDG-062
    devices.on_delete.append(telemetry.delete_device)
    return Fleet(
        db=db,
        events=events,
        tokens=tokens,
        devices=devices,
        registration=Registration(db, devices, tokens, times),
        deployments=deployments,
        assignments=assignments,
        streams=SyncStreams(db, devices, events, commands),
        commands=commands,
        rollouts=rollouts,
        controller=RolloutController(rollouts, telemetry.inference_summary),
        artifacts=artifacts,
        telemetry=telemetry,
        registry=_registry(server, config, artifacts),
    )


def _registry(
    server: ServerConfig, config: EdgeConfig, artifacts: ArtifactStore
) -> RegistryReleases | None:
    if config.registry_address is None and "registry" not in selected_layers(server):
        return None
    return RegistryReleases(server, artifacts, config.registry_address)


def build(server: ServerConfig, config: EdgeConfig) -> list[HostedService]:
    """Open the fleet database and describe both services."""
    return hosted_services(open_fleet(server, config))


def hosted_services(fleet: Fleet) -> list[HostedService]:
    """EdgeService and DeviceAgentService over `fleet`."""
    edge = EdgeServicer(
        fleet.devices,
        fleet.deployments,
        watches=DeviceWatches(fleet.devices),
        rollouts=fleet.rollouts,
        artifacts=fleet.artifacts,
        telemetry=fleet.telemetry,
        commands=fleet.commands,
        registry=fleet.registry,
    )
    agent = DeviceAgentServicer(
        fleet.registration, fleet.streams, fleet.artifacts, TelemetryBatches(fleet.telemetry)
    )

    def start(loop: asyncio.AbstractEventLoop, address: str) -> None:
        if fleet.registry is not None:
            fleet.registry.connect(address)
        fleet.streams.start(loop)
        fleet.controller.start()  # runs on `loop`: the host calls start from it

    return [
        HostedService(
            EDGE_SERVICE,
            lambda grpc_server: pb_grpc.add_EdgeServiceServicer_to_server(edge, grpc_server),
            features=EDGE_FEATURES,
            start=start,
            close=fleet.close,
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
