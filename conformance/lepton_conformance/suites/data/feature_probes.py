"""How discovery finds the data layer's optional features without trusting the list (spec/data.md
§10): one cheap call of an RPC of each feature, about a dataset that does not exist.
UNIMPLEMENTED means the feature is absent; any other answer (NOT_FOUND first of all) that it is
there, so a feature served but not listed is tested like a listed one (and the discovery case
fails the listing, DAT-001)."""

from __future__ import annotations

import grpc

from lepton.data.v1 import dataset_service_pb2 as dataset_pb
from lepton.data.v1 import processing_service_pb2 as processing_pb
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.discovery import answer_of
from lepton_conformance.harness.suite import ServiceProbe
from lepton_conformance.harness.target import FeatureFinding
from lepton_conformance.suites.data.dataset_client import SERVICE as DATASETS
from lepton_conformance.suites.data.processing_client import FEATURE as PROCESSING
from lepton_conformance.suites.data.processing_client import SERVICE as PROCESSING_SERVICE

# A dataset no server holds: a probe must not create or touch anything.
ABSENT = "datasets/lepton-conformance-feature-probe"


# feature -> the call that shows it (the storage schemes need files, so their list is trusted).
FEATURE_PROBES: dict[str, ServiceProbe] = {
    "data.import": ServiceProbe(
        DATASETS,
        "ListImportJobs",
        dataset_pb.ListImportJobsRequest(parent=ABSENT, page_size=1),
        dataset_pb.ListImportJobsResponse,
    ),
    "data.export": ServiceProbe(
        DATASETS,
        "ListExportJobs",
        dataset_pb.ListExportJobsRequest(parent=ABSENT, page_size=1),
        dataset_pb.ListExportJobsResponse,
    ),
    "data.flight": ServiceProbe(
        DATASETS,
        "IssueFlightTicket",
        dataset_pb.IssueFlightTicketRequest(name=f"{ABSENT}/versions/v1"),
        dataset_pb.IssueFlightTicketResponse,
    ),
    PROCESSING: ServiceProbe(
        PROCESSING_SERVICE,
        "ListPipelineRuns",
        processing_pb.ListPipelineRunsRequest(page_size=1),
        processing_pb.ListPipelineRunsResponse,
    ),
}


def probe_features(ctx: CaseContext) -> None:
    """Record, for each feature of a service the target serves, whether it is listed and
    whether its probe answers anything but UNIMPLEMENTED."""
    for feature, probe in FEATURE_PROBES.items():
        if not ctx.info.serves(probe.service):
            continue
        code = answer_of(
            lambda probe=probe: probe.call(ctx.channel, metadata=ctx.metadata, timeout=ctx.timeout)
        )
        ctx.info.optional_features[feature] = FeatureFinding(
            feature,
            probe.service,
            feature in ctx.info.features.get(probe.service, frozenset()),
            code != grpc.StatusCode.UNIMPLEMENTED,
            f"{probe.method}: {code.name}",
        )
