"""The gRPC face of the fleet server: lepton.edge.v1.EdgeService and DeviceAgentService,
one domain call per RPC; errors stay LeptonError for the host's error mapping.

The RPCs of an optional feature this server does not list answer UNIMPLEMENTED
[FEATURE_NOT_SUPPORTED] with metadata `feature` (EDG-001)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from grpc import aio

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton_server.edge.artifact_store import ArtifactStore
from lepton_server.edge.deployments import Deployments
from lepton_server.edge.device_commands import DeviceCommands
from lepton_server.edge.device_watch import DeviceWatches
from lepton_server.edge.devices import Devices
from lepton_server.edge.registration import Registration
from lepton_server.edge.registry_releases import RegistryReleases
from lepton_server.edge.rollouts import Rollouts
from lepton_server.edge.sync_streams import SyncStreams
from lepton_server.edge.telemetry_batches import TelemetryBatches
from lepton_server.edge.telemetry_store import ALL_DEVICES, TelemetryStore
from lepton_server.runtime.principals import current_principal

# DownloadArtifactResponse or ReadArtifactResponse: a descriptor, then chunks.
ArtifactMessage = TypeVar("ArtifactMessage")


async def _artifact_stream(
    artifacts: ArtifactStore, request: Any, message: Callable[..., ArtifactMessage]
) -> AsyncIterator[ArtifactMessage]:
    """ReadArtifact and DownloadArtifact (EDG-046, EDG-047, EDG-116): every check before the
    first message, then the descriptor and the chunks."""
    descriptor, chunks = artifacts.read(
        request.digest, request.offset, request.length_bytes, request.chunk_size_bytes
    )
    yield message(artifact=descriptor)
    async for chunk in chunks:
        yield message(chunk=chunk)


class EdgeServicer(pb_grpc.EdgeServiceServicer):
    """EdgeService requests to Devices, DeviceWatches, Deployments, Rollouts, the
    ArtifactStore and the TelemetryStore."""

    def __init__(
        self,
        devices: Devices,
        deployments: Deployments,
        *,
        watches: DeviceWatches,
        rollouts: Rollouts,
        artifacts: ArtifactStore,
        telemetry: TelemetryStore,
        commands: DeviceCommands,
        registry: RegistryReleases | None = None,
    ) -> None:
        self.devices = devices
        self.commands = commands
        self.registry = registry
        self.deployments = deployments
        self.watches = watches
        self.rollouts = rollouts
        self.artifacts = artifacts
        self.telemetry = telemetry

    async def CreateDevice(self, request, context: aio.ServicerContext):
        return self.devices.create(request)

    async def GetDevice(self, request, context: aio.ServicerContext):
        return pb.GetDeviceResponse(device=self.devices.get(request.name))

    async def ListDevices(self, request, context: aio.ServicerContext):
        devices, token = self.devices.list(request)
        return pb.ListDevicesResponse(devices=devices, next_page_token=token)

    async def UpdateDevice(self, request, context: aio.ServicerContext):
        return pb.UpdateDeviceResponse(device=self.devices.update(request))

    async def ApproveDevice(self, request, context: aio.ServicerContext):
        return pb.ApproveDeviceResponse(device=self.devices.approve(request.name, request.etag))

    async def RejectDevice(self, request, context: aio.ServicerContext):
        return pb.RejectDeviceResponse(device=self.devices.reject(request.name, request.etag))

    async def DecommissionDevice(self, request, context: aio.ServicerContext):
        device = self.devices.decommission(request.name, request.etag)
        return pb.DecommissionDeviceResponse(device=device)

    async def DeleteDevice(self, request, context: aio.ServicerContext):
        self.devices.delete(request.name, request.etag)
        return pb.DeleteDeviceResponse()

    async def IssueBootstrapToken(self, request, context: aio.ServicerContext):
        return self.devices.issue_bootstrap_token(request)

    async def WatchDevices(
        self, request, context: aio.ServicerContext
    ) -> AsyncIterator[pb.WatchDevicesResponse]:
        async for response in self.watches.watch(request.filter):
            yield response

    async def CreateDeviceCommand(self, request, context: aio.ServicerContext):
        return pb.CreateDeviceCommandResponse(command=self.commands.create(request))

    async def GetDeviceCommand(self, request, context: aio.ServicerContext):
        return pb.GetDeviceCommandResponse(command=self.commands.get(request.name))

    async def ListDeviceCommands(self, request, context: aio.ServicerContext):
        commands, token = self.commands.list(request)
        return pb.ListDeviceCommandsResponse(commands=commands, next_page_token=token)

    async def CancelDeviceCommand(self, request, context: aio.ServicerContext):
        return pb.CancelDeviceCommandResponse(command=self.commands.cancel(request.name))

    async def CreateDeployment(self, request, context: aio.ServicerContext):
        return pb.CreateDeploymentResponse(deployment=self.deployments.create(request))

    async def GetDeployment(self, request, context: aio.ServicerContext):
        return pb.GetDeploymentResponse(deployment=self.deployments.get(request.name))

    async def ListDeployments(self, request, context: aio.ServicerContext):
        deployments, token = self.deployments.list(request)
        return pb.ListDeploymentsResponse(deployments=deployments, next_page_token=token)

    async def UpdateDeployment(self, request, context: aio.ServicerContext):
        return pb.UpdateDeploymentResponse(deployment=self.deployments.update(request))

    async def DeleteDeployment(self, request, context: aio.ServicerContext):
        self.deployments.delete(request.name, request.etag)
        return pb.DeleteDeploymentResponse()

    async def CreateRollout(self, request, context: aio.ServicerContext):
        filled = None
        if self.registry is not None and request.rollout.HasField("release"):
            filled = await self.registry.fill(request.rollout.release)
        return pb.CreateRolloutResponse(rollout=self.rollouts.create(request, filled))

    async def GetRollout(self, request, context: aio.ServicerContext):
        return pb.GetRolloutResponse(rollout=self.rollouts.get(request.name))

    async def ListRollouts(self, request, context: aio.ServicerContext):
        rollouts, token = self.rollouts.list(request)
        return pb.ListRolloutsResponse(rollouts=rollouts, next_page_token=token)

    async def ListRolloutDeviceStatuses(self, request, context: aio.ServicerContext):
        statuses, token = self.rollouts.list_device_statuses(request)
        return pb.ListRolloutDeviceStatusesResponse(device_statuses=statuses, next_page_token=token)

    async def PauseRollout(self, request, context: aio.ServicerContext):
        return pb.PauseRolloutResponse(rollout=self.rollouts.pause(request))

    async def ResumeRollout(self, request, context: aio.ServicerContext):
        return pb.ResumeRolloutResponse(rollout=self.rollouts.resume(request))

    async def AbortRollout(self, request, context: aio.ServicerContext):
        return pb.AbortRolloutResponse(rollout=self.rollouts.abort(request))

    async def RollbackRollout(self, request, context: aio.ServicerContext):
        return pb.RollbackRolloutResponse(rollout=self.rollouts.rollback(request))

    async def ApproveRolloutStage(self, request, context: aio.ServicerContext):
        return pb.ApproveRolloutStageResponse(rollout=self.rollouts.approve_stage(request))

    async def RetryRolloutDevices(self, request, context: aio.ServicerContext):
        rollout, devices = self.rollouts.retry_devices(request)
        return pb.RetryRolloutDevicesResponse(rollout=rollout, devices=devices)

    async def WatchRollout(
        self, request, context: aio.ServicerContext
    ) -> AsyncIterator[pb.WatchRolloutResponse]:
        async for rollout in self.rollouts.watch(request.name):
            yield pb.WatchRolloutResponse(rollout=rollout)

    async def UploadArtifact(self, request_iterator, context: aio.ServicerContext):
        outcome = await self.artifacts.upload(request_iterator)
        return pb.UploadArtifactResponse(
            committed_offset=outcome.committed_offset,
            artifact=outcome.artifact,
            already_existed=outcome.already_existed,
        )

    async def GetArtifactUploadStatus(self, request, context: aio.ServicerContext):
        status = await self.artifacts.status(request.digest)
        return pb.GetArtifactUploadStatusResponse(
            artifact=status.artifact, committed_offset=status.committed_offset
        )

    async def DownloadArtifact(
        self, request, context: aio.ServicerContext
    ) -> AsyncIterator[pb.DownloadArtifactResponse]:
        async for message in _artifact_stream(self.artifacts, request, pb.DownloadArtifactResponse):
            yield message

    async def ListTelemetryRecords(self, request, context: aio.ServicerContext):
        if request.parent != ALL_DEVICES:
            self.devices.row(request.parent, "parent")  # NOT_FOUND for an unknown device
        return self.telemetry.list_records(request)


class DeviceAgentServicer(agent_grpc.DeviceAgentServiceServicer):
    """DeviceAgentService requests to Registration, SyncStreams, the ArtifactStore and the
    telemetry's group commit (TelemetryBatches). The calling device is the call's principal,
    set from its access token (DeviceTokens.authenticate)."""

    def __init__(
        self,
        registration: Registration,
        streams: SyncStreams,
        artifacts: ArtifactStore,
        telemetry: TelemetryBatches,
    ) -> None:
        self.registration = registration
        self.streams = streams
        self.artifacts = artifacts
        self.telemetry = telemetry

    async def CreateRegistrationChallenge(self, request, context: aio.ServicerContext):
        return self.registration.create_challenge(request)

    async def Register(self, request, context: aio.ServicerContext):
        return self.registration.register(request)

    async def Sync(
        self, request_iterator, context: aio.ServicerContext
    ) -> AsyncIterator[agent_pb.SyncResponse]:
        async for response in self.streams.serve(current_principal(), request_iterator):
            yield response

    async def StatArtifact(self, request, context: aio.ServicerContext):
        return agent_pb.StatArtifactResponse(artifact=self.artifacts.stat(request.digest))

    async def ReadArtifact(
        self, request, context: aio.ServicerContext
    ) -> AsyncIterator[agent_pb.ReadArtifactResponse]:
        async for message in _artifact_stream(
            self.artifacts, request, agent_pb.ReadArtifactResponse
        ):
            yield message

    async def UploadTelemetry(self, request, context: aio.ServicerContext):
        return await self.telemetry.ingest(current_principal(), request)

    async def UploadBlob(self, request_iterator, context: aio.ServicerContext):
        outcome = await self.artifacts.upload(request_iterator)
        return agent_pb.UploadBlobResponse(
            committed_offset=outcome.committed_offset,
            blob=outcome.artifact,
            already_existed=outcome.already_existed,
        )

    async def GetBlobUploadStatus(self, request, context: aio.ServicerContext):
        status = await self.artifacts.status(request.digest)
        return agent_pb.GetBlobUploadStatusResponse(
            blob=status.artifact, committed_offset=status.committed_offset
        )
