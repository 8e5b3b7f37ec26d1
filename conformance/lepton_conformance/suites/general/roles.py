"""The roles profile (spec/general.md "Roles", GEN-015, GEN-016): run with `--reader-token`,
the token of a principal that holds the reader role only, beside `--token`, which may write."""

from __future__ import annotations

import uuid

import grpc

from lepton.audit.v1 import audit_service_pb2 as audit_pb
from lepton.audit.v1 import audit_service_pb2_grpc as audit_grpc
from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import NotApplicable
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList, Profile
from lepton_conformance.harness.target import TargetOptions, bearer
from lepton_conformance.suites.general.probes import raw_call

DATASETS = "lepton.data.v1.DatasetService"
# (service, a method that reads, a method that writes) of each layer with operator methods.
LAYER_METHODS = (
    (DATASETS, "ListDatasets", "CreateDataset"),
    ("lepton.registry.v1.ModelRegistryService", "ListModels", "CreateModel"),
    ("lepton.training.v1.TrainingService", "ListTrainingJobs", "CreateTrainingJob"),
    ("lepton.annotation.v1.AnnotationService", "ListAnnotationProjects", "CreateAnnotationProject"),
    ("lepton.edge.v1.EdgeService", "ListDevices", "CreateDeployment"),
)


def _given(options: TargetOptions) -> str | None:
    if options.reader_token is None or options.token is None:
        return "no --reader-token (and --token): roles were not given to the run"
    return None


ROLES = Profile(
    "roles",
    "Roles: a reader's credential reads and is refused every write, before anything is done",
    applies=lambda _info: None,
    requires=_given,
)
CASES = CaseList()


def _permission_denied(error: grpc.RpcError) -> bool:
    info = expect.error_info(error)
    return (
        error.code() == grpc.StatusCode.PERMISSION_DENIED
        and info is not None
        and info.reason == "PERMISSION_DENIED"
    )


@CASES.case(ROLES, "reader-reads-and-may-not-write", "GEN-015", "GEN-016")
def reader_may_not_write(ctx: CaseContext) -> None:
    """With the reader's token, each layer's List is not refused and its Create (empty or
    valid) is PERMISSION_DENIED [PERMISSION_DENIED]; with --token the same Create is not."""
    reader = bearer(ctx.options.reader_token)
    served = [row for row in LAYER_METHODS if ctx.info.serves(row[0])]
    if not served:
        raise NotApplicable("the target serves no layer with operator methods", "layer services")
    for service, read, write in served:
        try:
            raw_call(ctx, f"/{service}/{read}", b"", metadata=reader)
        except grpc.RpcError as error:
            expect.holds(
                not _permission_denied(error), f"{read} to be allowed to a reader", str(error)
            )
        error = expect.fails(
            lambda s=service, w=write: raw_call(ctx, f"/{s}/{w}", b"", metadata=reader),
            f"{write} with the reader's token",
        )
        expect.holds(
            _permission_denied(error),
            f"{write} refused PERMISSION_DENIED [PERMISSION_DENIED]",
            expect.describe(error),
        )
        try:
            raw_call(ctx, f"/{service}/{write}", b"", metadata=ctx.metadata)
        except grpc.RpcError as error:
            expect.holds(not _permission_denied(error), f"{write} allowed with --token", str(error))


@CASES.case(ROLES, "refused-write-leaves-nothing", "GEN-015", "GEN-004")
def refused_write_leaves_nothing(ctx: CaseContext) -> None:
    """A valid CreateDataset with the reader's token is refused and creates nothing."""
    ctx.require_service(DATASETS)
    dataset_id = f"roles-{uuid.uuid4().hex[:12]}"
    request = data_pb.CreateDatasetRequest(dataset_id=dataset_id).SerializeToString()
    error = expect.fails(
        lambda: raw_call(
            ctx, f"/{DATASETS}/CreateDataset", request, metadata=bearer(ctx.options.reader_token)
        ),
        "CreateDataset with the reader's token",
    )
    expect.holds(
        _permission_denied(error), "PERMISSION_DENIED [PERMISSION_DENIED]", expect.describe(error)
    )
    get = data_pb.GetDatasetRequest(name=f"datasets/{dataset_id}").SerializeToString()
    expect.fails_with(
        lambda: raw_call(ctx, f"/{DATASETS}/GetDataset", get, metadata=ctx.metadata),
        grpc.StatusCode.NOT_FOUND,
    )


AUDIT = "lepton.audit.v1.AuditService"


def _audit_events(ctx: CaseContext, filter: str) -> list[audit_pb.AuditEvent]:
    """Every event the filter selects, through every page, with --token."""
    stub = audit_grpc.AuditServiceStub(ctx.channel)
    events, token = [], ""
    while True:
        page = expect.succeeds(
            lambda t=token: stub.ListAuditEvents(
                audit_pb.ListAuditEventsRequest(page_size=100, page_token=t, filter=filter),
                metadata=ctx.metadata,
                timeout=ctx.timeout,
            ),
            "ListAuditEvents with --token",
        )
        events.extend(page.events)
        token = page.next_page_token
        if not token:
            return events


@CASES.case(ROLES, "audit-log-records-writes-and-refusals", "GEN-017", "GEN-018")
def audit_log(ctx: CaseContext) -> None:
    """A write made with --token and a write refused to the reader are both in the audit log,
    in order, with their codes; the reader may not list the log."""
    if not ctx.info.serves(AUDIT):
        raise NotApplicable("the target serves no audit log", AUDIT)
    ctx.require_service(DATASETS)
    dataset_id = f"audit-{uuid.uuid4().hex[:12]}"
    create = f"/{DATASETS}/CreateDataset"
    request = data_pb.CreateDatasetRequest(dataset_id=dataset_id).SerializeToString()
    expect.succeeds(lambda: raw_call(ctx, create, request, metadata=ctx.metadata))
    reader = bearer(ctx.options.reader_token)
    expect.fails(lambda: raw_call(ctx, create, request, metadata=reader), "a reader's create")
    events = _audit_events(ctx, f'method = "{create}" AND time >= "1970-01-01T00:00:00Z"')
    mine = [e for e in events if e.resource == f"datasets/{dataset_id}"]
    expect.equal([e.code for e in mine], ["OK"], f"events naming datasets/{dataset_id}")
    later = [e for e in events if e.sequence > mine[0].sequence]
    refused = [e for e in later if e.code == "PERMISSION_DENIED"]
    expect.holds(bool(refused), "the reader's refused CreateDataset recorded after it", str(later))
    expect.equal(refused[0].reason, "PERMISSION_DENIED", "the refusal's reason")
    expect.holds(
        bool(refused[0].principal),
        "the refusal recorded under the reader's principal",
        repr(refused[0].principal),
    )
    error = expect.fails(
        lambda: audit_grpc.AuditServiceStub(ctx.channel).ListAuditEvents(
            audit_pb.ListAuditEventsRequest(), metadata=reader, timeout=ctx.timeout
        ),
        "ListAuditEvents with the reader's token",
    )
    expect.holds(_permission_denied(error), "PERMISSION_DENIED", expect.describe(error))
