"""data-core case of discovery: DatasetService lists exactly the optional features it
implements (spec/data.md §10)."""

from __future__ import annotations

import grpc
from google.protobuf.message import Message

from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data.dataset_checks import (
    DATASET_FEATURES,
    fixture,
)
from lepton_conformance.suites.data.dataset_client import (
    SERVICE,
    DatasetClient,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


# --- discovery ------------------------------------------------------------------------------


def _feature_probes(dataset: str, version: str) -> dict[str, list[tuple[str, Message]]]:
    """One call of every RPC of each optional feature (§10)."""
    job, export = f"{dataset}/importJobs/conf-job", f"{dataset}/exportJobs/conf-job"
    return {
        "data.import": [
            (
                "CreateImportJob",
                pb.CreateImportJobRequest(parent=dataset, import_job_id="conf-job"),
            ),
            ("GetImportJob", pb.GetImportJobRequest(name=job)),
            ("ListImportJobs", pb.ListImportJobsRequest(parent=dataset)),
            ("CancelImportJob", pb.CancelImportJobRequest(name=job)),
            ("WatchImportJob", pb.WatchImportJobRequest(name=job)),
        ],
        "data.export": [
            (
                "CreateExportJob",
                pb.CreateExportJobRequest(parent=dataset, export_job_id="conf-job"),
            ),
            ("GetExportJob", pb.GetExportJobRequest(name=export)),
            ("ListExportJobs", pb.ListExportJobsRequest(parent=dataset)),
            ("CancelExportJob", pb.CancelExportJobRequest(name=export)),
            ("WatchExportJob", pb.WatchExportJobRequest(name=export)),
        ],
        "data.flight": [("IssueFlightTicket", pb.IssueFlightTicketRequest(name=version))],
    }


@CASES.case(
    CORE, "discovery.features-are-exactly-the-implemented-ones", "DAT-001", "DAT-002", "GEN-033"
)
def features_honest(ctx: CaseContext) -> None:
    """Discovery lists DatasetService with features of §10 only; every RPC of an unlisted
    feature is UNIMPLEMENTED [FEATURE_NOT_SUPPORTED] with metadata feature, and a listed one
    answers."""
    expect.holds(
        SERVICE in ctx.info.features,
        f"GetServerInfo to list {SERVICE}",
        f"services {sorted(ctx.info.features)} ({ctx.info.discovery_error or 'no error'})",
    )
    listed = ctx.info.features[SERVICE]
    unknown = sorted(listed - DATASET_FEATURES)
    expect.holds(not unknown, "only features of spec/data.md §10", f"unknown {unknown}")
    client = DatasetClient(ctx)
    with fixture(client) as names:
        for feature, probes in _feature_probes(names["name"], names["{v}"]).items():
            if feature in listed:
                lists = [(rpc, r) for rpc, r in probes if rpc.startswith(("List", "Issue"))]
                for rpc, request in lists:
                    expect.succeeds(
                        lambda rpc=rpc, request=request: client.call(rpc, request),
                        f"{rpc} of the listed feature {feature} to answer",
                    )
                continue
            for rpc, request in probes:
                expect.rejects(
                    lambda rpc=rpc, request=request: client.call(rpc, request),
                    grpc.StatusCode.UNIMPLEMENTED,
                    "FEATURE_NOT_SUPPORTED",
                    metadata={"feature": feature},
                )
