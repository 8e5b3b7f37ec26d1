"""The tenants profile (spec/general.md "Tenants", GEN-019, GEN-024): run with
`--other-tenant-token`, the token of a principal of another tenant than `--token`'s, holding
`writer` and `admin` there. Each case makes a resource with one tenant's credential and checks
that the other's neither lists, reads, changes nor deletes it, and may make its own under the
same ID."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from lepton.audit.v1 import audit_service_pb2 as audit_pb
from lepton.audit.v1 import audit_service_pb2_grpc as audit_grpc
from lepton.data.v1 import dataset_pb2 as data_resources
from lepton.data.v1 import dataset_service_pb2 as data_pb
from lepton.data.v1 import dataset_service_pb2_grpc as data_grpc
from lepton.registry.v1 import model_pb2
from lepton.registry.v1 import model_registry_service_pb2 as registry_pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as registry_grpc
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import NotApplicable
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList, Profile
from lepton_conformance.harness.target import TargetOptions, bearer
from lepton_conformance.suites.data.dataset_client import data, header, ipc_stream, walk_pages

DATASETS = "lepton.data.v1.DatasetService"
MODELS = "lepton.registry.v1.ModelRegistryService"
AUDIT = "lepton.audit.v1.AuditService"


def _given(options: TargetOptions) -> str | None:
    if options.other_tenant_token is None or options.token is None:
        return "no --other-tenant-token (and --token): a second tenant was not given to the run"
    return None


TENANTS = Profile(
    "tenants",
    "Tenants: one tenant's credential never lists, reads, changes or deletes another's",
    applies=lambda _info: None,
    requires=_given,
)
CASES = CaseList()


@dataclass(frozen=True)
class Kind:
    """One kind of resource, as the isolation check makes and names it."""

    service: str
    stub: Callable[[grpc.Channel], Any]
    create: Callable[[str], tuple[str, Message]]  # an ID -> (method, request)
    name: Callable[[str], str]  # an ID -> the resource's name
    get: Callable[[str], tuple[str, Message]]
    listing: tuple[str, Message]  # method and request
    change: Callable[[str], tuple[str, Message]]
    delete: Callable[[str], tuple[str, Message]]


DATASET = Kind(
    DATASETS,
    data_grpc.DatasetServiceStub,
    lambda i: (
        "CreateDataset",
        data_pb.CreateDatasetRequest(
            dataset_id=i, dataset=data_resources.Dataset(description="first tenant's")
        ),
    ),
    lambda i: f"datasets/{i}",
    lambda n: ("GetDataset", data_pb.GetDatasetRequest(name=n)),
    ("ListDatasets", data_pb.ListDatasetsRequest(page_size=100)),
    lambda n: (
        "UpdateDataset",
        data_pb.UpdateDatasetRequest(
            dataset=data_resources.Dataset(name=n, description="changed"),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
    ),
    lambda n: ("DeleteDataset", data_pb.DeleteDatasetRequest(name=n, force=True)),
)
MODEL = Kind(
    MODELS,
    registry_grpc.ModelRegistryServiceStub,
    lambda i: (
        "CreateModel",
        registry_pb.CreateModelRequest(
            model_id=i, model=model_pb2.Model(description="first tenant's")
        ),
    ),
    lambda i: f"models/{i}",
    lambda n: ("GetModel", registry_pb.GetModelRequest(name=n)),
    ("ListModels", registry_pb.ListModelsRequest(page_size=100)),
    lambda n: (
        "UpdateModel",
        registry_pb.UpdateModelRequest(
            model=model_pb2.Model(name=n, description="changed"),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
    ),
    lambda n: ("DeleteModel", registry_pb.DeleteModelRequest(name=n, force=True)),
)


def _call(ctx: CaseContext, kind: Kind, token: str, method_request: tuple[str, Message]) -> Any:
    method, request = method_request
    rpc = getattr(kind.stub(ctx.channel), method)
    return rpc(request, metadata=bearer(token), timeout=ctx.timeout)


def _listed(ctx: CaseContext, kind: Kind, token: str) -> set[str]:
    method, request = kind.listing
    rpc = getattr(kind.stub(ctx.channel), method)
    items = walk_pages(
        lambda page: rpc(page, metadata=bearer(token), timeout=ctx.timeout), method, request
    )
    return {item.name for item in items}


def check_isolated(ctx: CaseContext, kind: Kind) -> None:
    """GEN-019 for one kind: the first tenant's resource is invisible and untouchable with the
    other tenant's credential, which then makes its own under the same ID."""
    ctx.require_service(kind.service)
    first, other = ctx.options.token, ctx.options.other_tenant_token
    resource_id = f"tenant-{uuid.uuid4().hex[:12]}"
    name = kind.name(resource_id)
    expect.succeeds(lambda: _call(ctx, kind, first, kind.create(resource_id)), "Create")
    try:
        expect.holds(
            name not in _listed(ctx, kind, other),
            f"{name} not listed to the other tenant",
            "it is listed",
        )
        for step in (kind.get, kind.change, kind.delete):
            expect.fails_with(
                lambda s=step: _call(ctx, kind, other, s(name)), grpc.StatusCode.NOT_FOUND
            )
        kept = expect.succeeds(lambda: _call(ctx, kind, first, kind.get(name)), "Get (first)")
        expect.equal(_description(kept), "first tenant's", "the first tenant's resource, unchanged")
        # The same ID in the other tenant is a resource of its own.
        expect.succeeds(
            lambda: _call(ctx, kind, other, kind.create(resource_id)), "Create (other tenant)"
        )
        try:
            expect.holds(
                name in _listed(ctx, kind, other), f"{name} listed to its own tenant", "absent"
            )
            expect.succeeds(lambda: _call(ctx, kind, other, kind.delete(name)), "Delete (other)")
            again = expect.succeeds(lambda: _call(ctx, kind, first, kind.get(name)), "Get")
            expect.equal(_description(again), "first tenant's", "the first tenant's resource")
        finally:
            _quietly(lambda: _call(ctx, kind, other, kind.delete(name)))
    finally:
        _quietly(lambda: _call(ctx, kind, first, kind.delete(name)))


def _description(response: Message) -> str:
    resource = next(getattr(response, f.name) for f in response.DESCRIPTOR.fields)
    return resource.description


def _quietly(call: Callable[[], Any]) -> None:
    with contextlib.suppress(grpc.RpcError):
        call()


@CASES.case(TENANTS, "datasets-are-isolated", "GEN-019")
def datasets_isolated(ctx: CaseContext) -> None:
    """A dataset of the first tenant: the other's credential does not list it, gets, updates
    and deletes NOT_FOUND, reads none of its versions, and creates its own under the same ID."""
    check_isolated(ctx, DATASET)
    # A version of it is no more readable than the dataset.
    first, other = bearer(ctx.options.token), bearer(ctx.options.other_tenant_token)
    stub = data_grpc.DatasetServiceStub(ctx.channel)
    dataset_id = f"tenant-{uuid.uuid4().hex[:12]}"
    stub.CreateDataset(
        data_pb.CreateDatasetRequest(dataset_id=dataset_id), metadata=first, timeout=ctx.timeout
    )
    try:
        rows = ipc_stream(pa.table({"id": pa.array([1, 2, 3], pa.int64())}))
        version = expect.succeeds(
            lambda: (
                stub.WriteVersion(
                    iter([header(f"datasets/{dataset_id}"), *data([rows])]),
                    metadata=first,
                    timeout=ctx.timeout,
                ).version
            ),
            "WriteVersion (first tenant)",
        )
        expect.fails_with(
            lambda: list(
                stub.ReadVersion(
                    data_pb.ReadVersionRequest(name=version.name),
                    metadata=other,
                    timeout=ctx.timeout,
                )
            ),
            grpc.StatusCode.NOT_FOUND,
        )
    finally:
        _quietly(
            lambda: stub.DeleteDataset(
                data_pb.DeleteDatasetRequest(name=f"datasets/{dataset_id}", force=True),
                metadata=first,
                timeout=ctx.timeout,
            )
        )


@CASES.case(TENANTS, "models-are-isolated", "GEN-019")
def models_isolated(ctx: CaseContext) -> None:
    """A registry model of the first tenant: the other's credential does not list it, gets,
    updates and deletes NOT_FOUND, and creates its own under the same ID."""
    check_isolated(ctx, MODEL)


@CASES.case(TENANTS, "audit-log-shows-own-tenant-only", "GEN-024")
def audit_isolated(ctx: CaseContext) -> None:
    """A dataset created with the first tenant's credential is in its tenant's audit log and
    not in the other tenant's."""
    if not ctx.info.serves(AUDIT):
        raise NotApplicable("the target serves no audit log", AUDIT)
    ctx.require_service(DATASETS)
    first, other = ctx.options.token, ctx.options.other_tenant_token
    dataset_id = f"tenant-audit-{uuid.uuid4().hex[:12]}"
    name = f"datasets/{dataset_id}"
    expect.succeeds(lambda: _call(ctx, DATASET, first, DATASET.create(dataset_id)), "CreateDataset")
    try:
        wanted = f'resource = "{name}"'
        expect.holds(bool(_audit(ctx, first, wanted)), f"{name} in the first tenant's log", "no")
        expect.holds(
            not _audit(ctx, other, wanted), f"{name} not in the other tenant's log", "it is"
        )
    finally:
        _quietly(lambda: _call(ctx, DATASET, first, DATASET.delete(name)))


def _audit(ctx: CaseContext, token: str, filter: str) -> list[audit_pb.AuditEvent]:
    stub = audit_grpc.AuditServiceStub(ctx.channel)
    request = audit_pb.ListAuditEventsRequest(page_size=100, filter=filter)
    return walk_pages(
        lambda page: stub.ListAuditEvents(page, metadata=bearer(token), timeout=ctx.timeout),
        "ListAuditEvents",
        request,
    )
