"""How discovery finds the edge services and the optional features it can probe without a
device (spec/edge.md section 7): GetDevice of a device no server holds for EdgeService,
StatArtifact without credentials for DeviceAgentService (UNAUTHENTICATED still shows the
service is there); for `edge.commands`, `edge.artifact_upload` and `edge.telemetry_query` a
call of their RPC about something no server holds. UNIMPLEMENTED means the feature is absent;
any other answer (NOT_FOUND first of all) that it is there. `edge.device_blobs` needs a
device token and is probed by the discovery case."""

from __future__ import annotations

import grpc

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.type.v1 import digest_pb2
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.discovery import answer_of
from lepton_conformance.harness.suite import ServiceProbe
from lepton_conformance.harness.target import FeatureFinding
from lepton_conformance.suites.edge.edge_client import AGENT_SERVICE, SERVICE, FleetClient

# A device no server holds: a probe must not create or touch anything.
ABSENT = "devices/lepton-conformance-feature-probe"
ABSENT_DIGEST = digest_pb2.Digest(algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex="0" * 64)
COMMANDS = "edge.commands"
ARTIFACT_UPLOAD = "edge.artifact_upload"
TELEMETRY_QUERY = "edge.telemetry_query"
DEVICE_BLOBS = "edge.device_blobs"
SERVICE_PROBES = (
    ServiceProbe(SERVICE, "GetDevice", pb.GetDeviceRequest(name=ABSENT), pb.GetDeviceResponse),
    ServiceProbe(
        AGENT_SERVICE,
        "StatArtifact",
        agent_pb.StatArtifactRequest(digest=ABSENT_DIGEST),
        agent_pb.StatArtifactResponse,
    ),
)
FEATURE_PROBES = {
    COMMANDS: ("GetDeviceCommand", pb.GetDeviceCommandRequest(name=f"{ABSENT}/commands/probe")),
    ARTIFACT_UPLOAD: (
        "GetArtifactUploadStatus",
        pb.GetArtifactUploadStatusRequest(digest=ABSENT_DIGEST),
    ),
    TELEMETRY_QUERY: ("ListTelemetryRecords", pb.ListTelemetryRecordsRequest(parent=ABSENT)),
}


def probe_features(ctx: CaseContext) -> None:
    """Record, for each feature with a probe, whether it is listed and whether it answers."""
    if not ctx.info.serves(SERVICE):
        return
    client = FleetClient(ctx)
    listed = ctx.info.features.get(SERVICE, frozenset())
    for feature, (rpc, request) in FEATURE_PROBES.items():
        code = answer_of(lambda rpc=rpc, request=request: client.call(rpc, request))
        ctx.info.optional_features[feature] = FeatureFinding(
            feature,
            SERVICE,
            feature in listed,
            code != grpc.StatusCode.UNIMPLEMENTED,
            f"{rpc}: {code.name}",
        )
