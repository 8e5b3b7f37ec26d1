"""edge-fleet case of discovery: EdgeService and DeviceAgentService list exactly the optional
features of spec/edge.md section 7 they implement, each on its own entry, and each unlisted
feature is refused with UNIMPLEMENTED [FEATURE_NOT_SUPPORTED] naming it (EDG-001)."""

from __future__ import annotations

import grpc

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.edge_client import (
    AGENT_SERVICE,
    SERVICE,
    AgentClient,
    FleetClient,
    absent_digest,
    enrol,
)
from lepton_conformance.suites.edge.feature_probes import DEVICE_BLOBS, FEATURE_PROBES
from lepton_conformance.suites.edge.profiles import FLEET

CASES = CaseList()
FEATURES = {
    SERVICE: {
        "edge.commands",
        "edge.artifact_upload",
        "edge.telemetry_query",
        "edge.rollout_rate",
        "edge.update_windows",
    },
    AGENT_SERVICE: {"edge.device_blobs", "edge.enrollment_tokens"},
}


def _refused(call, feature: str) -> None:
    expect.rejects(
        call,
        grpc.StatusCode.UNIMPLEMENTED,
        "FEATURE_NOT_SUPPORTED",
        metadata={"feature": feature},
    )


@CASES.case(FLEET, "discovery.features-are-exactly-the-implemented-ones", "EDG-001", "GEN-033")
def features_honest(ctx: CaseContext) -> None:
    """GetServerInfo lists both edge services with features of spec/edge.md section 7 only,
    each on the service section 7 names; every probed feature is listed exactly when it
    answers, and an unlisted one is refused with UNIMPLEMENTED [FEATURE_NOT_SUPPORTED] and
    metadata feature."""
    for service, allowed in FEATURES.items():
        expect.holds(
            service in ctx.info.features,
            f"GetServerInfo to list {service}",
            f"services {sorted(ctx.info.features)} ({ctx.info.discovery_error or 'no error'})",
        )
        unknown = sorted(ctx.info.features[service] - allowed)
        expect.holds(not unknown, f"only features section 7 names for {service}", f"also {unknown}")
    fleet = FleetClient(ctx)
    for feature, (rpc, request) in FEATURE_PROBES.items():
        finding = ctx.info.optional_features.get(feature)
        expect.holds(finding is not None, f"the {feature} probe to have run", "no finding")
        expect.equal(finding.listed, finding.implemented, f"{feature} listed = implemented")
        if not finding.listed:
            _refused(lambda rpc=rpc, request=request: fleet.call(rpc, request), feature)
    listed = DEVICE_BLOBS in ctx.info.features[AGENT_SERVICE]
    with FleetClient(ctx) as owner:
        agent = AgentClient(ctx)
        device = enrol(owner, agent)
        request = agent_pb.GetBlobUploadStatusRequest(digest=absent_digest())

        def status() -> None:
            agent.call("GetBlobUploadStatus", request, device.token)

        if listed:
            expect.fails_with(status, grpc.StatusCode.NOT_FOUND, "ARTIFACT_NOT_FOUND")
        else:
            _refused(status, DEVICE_BLOBS)
