"""The gRPC face of the fleet server: lepton.edge.v1.EdgeService and DeviceAgentService,
one domain call per RPC; errors stay LeptonError for the host's error mapping.

RPCs whose domain lives in other modules of the layer (rollouts, artifacts, telemetry) answer
UNIMPLEMENTED until they are wired; those of an optional feature this server does not list
answer UNIMPLEMENTED [FEATURE_NOT_SUPPORTED] with metadata `feature` (EDG-001)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from grpc import aio

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import device_agent_service_pb2_grpc as agent_grpc
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.edge.v1 import edge_service_pb2_grpc as pb_grpc
from lepton_server.edge.deployments import Deployments
from lepton_server.edge.device_watch import DeviceWatches
from lepton_server.edge.devices import Devices
from lepton_server.edge.registration import Registration
from lepton_server.edge.sync_streams import SyncStreams
from lepton_server.runtime.errors import Unimplemented
from lepton_server.runtime.principals import current_principal

# RPCs of optional features this server does not implement (spec/edge.md 7).
EDGE_FEATURE_RPCS = {
    "CreateDeviceCommand": "edge.commands",
    "GetDeviceCommand": "edge.commands",
    "ListDeviceCommands": "edge.commands",
    "CancelDeviceCommand": "edge.commands",
    "UploadArtifact": "edge.artifact_upload",
    "GetArtifactUploadStatus": "edge.artifact_upload",
    "ListTelemetryRecords": "edge.telemetry_query",
}
AGENT_FEATURE_RPCS = {
    "UploadBlob": "edge.device_blobs",
    "GetBlobUploadStatus": "edge.device_blobs",
}
# Core RPCs whose domain is not wired into this servicer yet.
EDGE_UNWIRED_RPCS = (
    "CreateRollout",
    "GetRollout",
    "ListRollouts",
    "ListRolloutDeviceStatuses",
    "PauseRollout",
    "ResumeRollout",
    "AbortRollout",
    "RollbackRollout",
    "ApproveRolloutStage",
    "RetryRolloutDevices",
    "WatchRollout",
    "DownloadArtifact",
)
AGENT_UNWIRED_RPCS = ("StatArtifact", "ReadArtifact", "UploadTelemetry")


def _feature_not_supported(method: str, feature: str) -> Callable[..., Any]:
    async def handler(self: Any, request: Any, context: aio.ServicerContext) -> None:
        raise Unimplemented(
            reason="FEATURE_NOT_SUPPORTED",
            message=f"{method} needs feature {feature}, which this server does not list",
            metadata={"feature": feature},
        )

    return handler


def _unwired(method: str) -> Callable[..., Any]:
    async def handler(self: Any, request: Any, context: aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented")

    return handler


class EdgeServicer(pb_grpc.EdgeServiceServicer):
    """EdgeService requests to Devices, DeviceWatches and Deployments."""

    def __init__(self, devices: Devices, deployments: Deployments, watches: DeviceWatches) -> None:
        self.devices = devices
        self.deployments = deployments
        self.watches = watches

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


class DeviceAgentServicer(agent_grpc.DeviceAgentServiceServicer):
    """DeviceAgentService requests to Registration and SyncStreams. The calling device is
    the call's principal, set from its access token (DeviceTokens.authenticate)."""

    def __init__(self, registration: Registration, streams: SyncStreams) -> None:
        self.registration = registration
        self.streams = streams

    async def CreateRegistrationChallenge(self, request, context: aio.ServicerContext):
        return self.registration.create_challenge(request)

    async def Register(self, request, context: aio.ServicerContext):
        return self.registration.register(request)

    async def Sync(
        self, request_iterator, context: aio.ServicerContext
    ) -> AsyncIterator[agent_pb.SyncResponse]:
        async for response in self.streams.serve(current_principal(), request_iterator):
            yield response


for _method, _feature in EDGE_FEATURE_RPCS.items():
    setattr(EdgeServicer, _method, _feature_not_supported(_method, _feature))
for _method in EDGE_UNWIRED_RPCS:
    setattr(EdgeServicer, _method, _unwired(_method))
for _method, _feature in AGENT_FEATURE_RPCS.items():
    setattr(DeviceAgentServicer, _method, _feature_not_supported(_method, _feature))
for _method in AGENT_UNWIRED_RPCS:
    setattr(DeviceAgentServicer, _method, _unwired(_method))
