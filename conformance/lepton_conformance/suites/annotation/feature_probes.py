"""How discovery finds AnnotationService and its optional features without trusting a list
(spec/annotation.md, "Discovery features"): a first page of projects for the service, and for
`data.annotation.prediction_jobs` and `data.annotation.export_jobs` a Get of a job no server
holds. UNIMPLEMENTED means the feature is absent; any other answer (NOT_FOUND first of all)
that it is there."""

from __future__ import annotations

import grpc

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.discovery import answer_of
from lepton_conformance.harness.suite import ServiceProbe
from lepton_conformance.harness.target import FeatureFinding
from lepton_conformance.suites.annotation.annotation_client import SERVICE, AnnotationClient

SERVICE_PROBES = (
    ServiceProbe(
        SERVICE,
        "ListAnnotationProjects",
        pb.ListAnnotationProjectsRequest(page_size=1),
        pb.ListAnnotationProjectsResponse,
    ),
)
ANNOTATION = "data.annotation"
PREDICTION_JOBS = "data.annotation.prediction_jobs"
EXPORT_JOBS = "data.annotation.export_jobs"
# Jobs no server holds: a probe must not create or touch anything.
ABSENT = "annotationProjects/lepton-conformance-probe"
FEATURE_PROBES = {
    PREDICTION_JOBS: (
        "GetPredictionJob",
        pb.GetPredictionJobRequest(name=f"{ABSENT}/predictionJobs/probe"),
    ),
    EXPORT_JOBS: (
        "GetAnnotationExportJob",
        pb.GetAnnotationExportJobRequest(name=f"{ABSENT}/exportJobs/probe"),
    ),
}


def probe_features(ctx: CaseContext) -> None:
    """Record, for each job feature, whether it is listed and whether its Get answers."""
    if not ctx.info.serves(SERVICE):
        return
    client = AnnotationClient(ctx)
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
