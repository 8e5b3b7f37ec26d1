"""registry-core cases of registered models: create, idempotent retries, list order and pages,
conditional updates, deletion and the derived fields (spec/registry.md, "Models")."""

from __future__ import annotations

import uuid

import grpc
from google.protobuf import field_mask_pb2

from lepton.registry.v1 import model_pb2
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import (
    RegistryClient,
    random_bytes,
    unique_id,
    version_of,
)

CASES = CaseList()


@CASES.case(CORE, "models.create-returns-the-model", "REG-005")
def create(ctx: CaseContext) -> None:
    """CreateModel returns the named model with its fields, no versions or aliases, and
    create_time equal to update_time."""
    client = RegistryClient(ctx)
    fields = {"display_name": "Fraud (EU)", "description": "*scores*", "labels": {"team": "risk"}}
    with client.scratch(**fields) as name:
        model = client.model(name)
        expect.equal(
            (model.display_name, model.description, dict(model.labels)),
            (fields["display_name"], fields["description"], fields["labels"]),
            "(display_name, description, labels)",
        )
        expect.equal(
            (dict(model.aliases), model.latest_version, model.version_count),
            ({}, "", 0),
            "(aliases, latest_version, version_count)",
        )
        expect.holds(bool(model.etag), "a non-empty etag", "empty")
        expect.equal(model.create_time, model.update_time, "create_time = update_time")


@CASES.case(CORE, "models.request-id-makes-create-idempotent", "REG-007")
def request_id(ctx: CaseContext) -> None:
    """A CreateModel and a CreateModelVersion repeated with their request_id return what the
    first call created and consume no second version number; a different request under the
    same request_id is ALREADY_EXISTS [REQUEST_ID_CONFLICT]."""
    client = RegistryClient(ctx)
    model_id, key = unique_id(), str(uuid.uuid4())
    request = pb.CreateModelRequest(model_id=model_id, request_id=key)
    first = client.call("CreateModel", request).model
    try:
        expect.equal(client.call("CreateModel", request).model.name, first.name, "retried model")
        data = random_bytes(16)
        version_request = pb.CreateModelVersionRequest(
            parent=first.name, model_version=version_of(data), request_id=str(uuid.uuid4())
        )
        created = client.call("CreateModelVersion", version_request).model_version
        again = client.call("CreateModelVersion", version_request).model_version
        expect.equal(again.name, created.name, "retried version")
        expect.equal(client.model(first.name).version_count, 1, "version_count after a retry")
        changed = pb.CreateModelRequest(model_id=unique_id(), request_id=key)
        expect.fails_with(
            lambda: client.call("CreateModel", changed),
            grpc.StatusCode.ALREADY_EXISTS,
            "REQUEST_ID_CONFLICT",
        )
    finally:
        client.delete_model(first.name)


@CASES.case(CORE, "models.list-pages-visit-each-once-in-order", "REG-004", "REG-008")
def list_pages(ctx: CaseContext) -> None:
    """ListModels filtered to this run's models pages through them in name order (or the
    order asked for), each exactly once, two per page."""
    client = RegistryClient(ctx)
    prefix = unique_id("conf-list")
    names = [client.create_model(f"{prefix}-{i}", display_name=f"m{3 - i}").name for i in range(3)]
    try:
        for order, wanted in (
            ("", names),
            ("display_name desc", names),
            ("name desc", names[::-1]),
        ):
            seen, token = [], ""
            while True:
                request = pb.ListModelsRequest(
                    page_size=2, page_token=token, filter=f'name : "{prefix}"', order_by=order
                )
                page = client.call("ListModels", request)
                expect.holds(
                    len(page.models) <= 2, "at most page_size models", str(len(page.models))
                )
                seen += [m.name for m in page.models]
                token = page.next_page_token
                if not token:
                    break
            expect.equal(seen, wanted, f"models listed with order_by {order!r}")
    finally:
        for name in names:
            client.delete_model(name)


@CASES.case(CORE, "models.update-follows-the-mask-and-the-etag", "REG-009")
def update(ctx: CaseContext) -> None:
    """UpdateModel changes only the masked fields and returns a new etag; the old etag is
    then stale (ABORTED [ETAG_MISMATCH])."""
    client = RegistryClient(ctx)
    with client.scratch(display_name="before", description="kept") as name:
        model = client.model(name)
        change = model_pb2.Model(
            name=name, display_name="after", description="ignored", etag=model.etag
        )
        mask = field_mask_pb2.FieldMask(paths=["display_name"])
        request = pb.UpdateModelRequest(model=change, update_mask=mask)
        updated = client.call("UpdateModel", request).model
        expect.equal(
            (updated.display_name, updated.description), ("after", "kept"), "fields after update"
        )
        expect.holds(updated.etag != model.etag, "a new etag", updated.etag)
        expect.fails_with(
            lambda: client.call("UpdateModel", request),
            grpc.StatusCode.ABORTED,
            "ETAG_MISMATCH",
        )


@CASES.case(CORE, "models.delete-with-force-removes-everything", "REG-010")
def delete_force(ctx: CaseContext) -> None:
    """DeleteModel with force removes the model, its versions and aliases."""
    client = RegistryClient(ctx)
    name = client.create_model(unique_id()).name
    version = client.register(name, random_bytes(32))
    client.set_alias(f"{name}/aliases/prod", version.name)
    client.delete_model(name, force=True)
    for missing in (name, version.name, f"{name}/aliases/prod"):
        rpc, request = (
            ("GetModel", pb.GetModelRequest(name=missing))
            if missing == name
            else ("GetModelVersion", pb.GetModelVersionRequest(name=missing))
        )
        expect.fails_with(
            lambda rpc=rpc, request=request: client.call(rpc, request),
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(CORE, "models.derived-fields-follow-versions-and-aliases", "REG-011", "REG-015")
def derived(ctx: CaseContext) -> None:
    """aliases, latest_version (the highest READY version) and version_count follow the
    model's versions and aliases."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        first = client.register(name, random_bytes(8))
        second = client.register(name, random_bytes(8))
        client.create_version(name, random_bytes(8))  # pending: not latest
        client.set_alias(f"{name}/aliases/stable", first.name)
        model = client.model(name)
        expect.equal(
            (dict(model.aliases), model.latest_version, model.version_count),
            ({"stable": first.name}, second.name, 3),
            "(aliases, latest_version, version_count)",
        )
        latest = client.version(f"{name}/aliases/latest")
        expect.equal(latest.name, second.name, "the version `latest` resolves to")


@CASES.case(CORE, "models.creator-is-the-callers-principal", "REG-045", "GEN-014")
def creator(ctx: CaseContext) -> None:
    """A model and a version record who created them: with a token, a principal that is not
    the token; without one, nothing."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        version = client.create_version(name, random_bytes(8))
        creators = (client.model(name).creator, version.creator)
        if ctx.options.token is None:
            expect.equal(creators, ("", ""), "creators without a token")
        else:
            expect.holds(
                all(creators) and creators[0] == creators[1],
                "the same non-empty principal on the model and the version",
                str(creators),
            )
            expect.holds(
                creators[0] != ctx.options.token,
                "a principal that is not the token",
                "the token",
            )
