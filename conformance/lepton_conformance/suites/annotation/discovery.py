"""annotation-core case of discovery: AnnotationService lists `data.annotation`, and each job
feature (`data.annotation.prediction_jobs`, `data.annotation.export_jobs`) exactly when it
implements that kind of job; without it, every RPC of the kind is UNIMPLEMENTED
[FEATURE_NOT_SUPPORTED] with metadata feature (ANN-001)."""

from __future__ import annotations

import grpc
from google.protobuf.message import Message

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import standard_project
from lepton_conformance.suites.annotation.annotation_client import SERVICE, AnnotationClient
from lepton_conformance.suites.annotation.annotation_data import shared_data
from lepton_conformance.suites.annotation.feature_probes import (
    ANNOTATION,
    EXPORT_JOBS,
    PREDICTION_JOBS,
)
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
FEATURES = {ANNOTATION, PREDICTION_JOBS, EXPORT_JOBS}


def _job_calls(project: str) -> dict[str, list[tuple[str, Message]]]:
    """The five RPCs of each job feature, about a job of `project` that does not exist."""
    job, export = f"{project}/predictionJobs/conf-job", f"{project}/exportJobs/conf-job"
    return {
        PREDICTION_JOBS: [
            ("CreatePredictionJob", pb.CreatePredictionJobRequest(parent=project)),
            ("GetPredictionJob", pb.GetPredictionJobRequest(name=job)),
            ("ListPredictionJobs", pb.ListPredictionJobsRequest(parent=project)),
            ("CancelPredictionJob", pb.CancelPredictionJobRequest(name=job)),
            ("WatchPredictionJob", pb.WatchPredictionJobRequest(name=job)),
        ],
        EXPORT_JOBS: [
            ("CreateAnnotationExportJob", pb.CreateAnnotationExportJobRequest(parent=project)),
            ("GetAnnotationExportJob", pb.GetAnnotationExportJobRequest(name=export)),
            ("ListAnnotationExportJobs", pb.ListAnnotationExportJobsRequest(parent=project)),
            ("CancelAnnotationExportJob", pb.CancelAnnotationExportJobRequest(name=export)),
            ("WatchAnnotationExportJob", pb.WatchAnnotationExportJobRequest(name=export)),
        ],
    }


@CASES.case(CORE, "discovery.features-are-exactly-the-implemented-ones", "ANN-001", "GEN-033")
def features_honest(ctx: CaseContext) -> None:
    """GetServerInfo lists AnnotationService with data.annotation and no unknown feature;
    each job feature is listed exactly when its RPCs answer, and when it is not, each of the
    five RPCs of its kind is UNIMPLEMENTED [FEATURE_NOT_SUPPORTED] naming it."""
    expect.holds(
        SERVICE in ctx.info.features,
        f"GetServerInfo to list {SERVICE}",
        f"services {sorted(ctx.info.features)} ({ctx.info.discovery_error or 'no error'})",
    )
    listed = ctx.info.features[SERVICE]
    expect.holds(ANNOTATION in listed, f"the feature {ANNOTATION}", str(sorted(listed)))
    unknown = sorted(listed - FEATURES)
    expect.holds(not unknown, "only features of spec/annotation.md §6", f"unknown {unknown}")
    for feature in (PREDICTION_JOBS, EXPORT_JOBS):
        finding = ctx.info.optional_features.get(feature)
        expect.holds(finding is not None, f"the {feature} probe to have run", "no finding")
        expect.equal(finding.listed, finding.implemented, f"{feature} listed = implemented")
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data).name
        for feature, calls in _job_calls(project).items():
            if feature in listed:
                continue
            for rpc, request in calls:
                expect.rejects(
                    lambda rpc=rpc, request=request: client.call(rpc, request),
                    grpc.StatusCode.UNIMPLEMENTED,
                    "FEATURE_NOT_SUPPORTED",
                    metadata={"feature": feature},
                )
