"""The roles profile (spec/general.md "Roles", GEN-015, GEN-016): run with `--reader-token`,
the token of a principal that holds the reader role only, beside `--token`, which may write."""

from __future__ import annotations

import uuid

import grpc

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
