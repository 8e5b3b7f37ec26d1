"""Registered models (REG-003 to REG-011): create with request ids, get, list with filter,
order and pages, update by mask and etag, delete with and without force."""

from __future__ import annotations

import uuid

import grpc
from google.protobuf import field_mask_pb2
from registry_calls import create_model, create_version, expect_error, ready_version, unique_id

from lepton.registry.v1 import model_pb2
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def test_create_returns_the_model_as_requested(stub):
    model_id = unique_id()
    model = stub.CreateModel(
        pb.CreateModelRequest(
            model_id=model_id,
            model=model_pb2.Model(
                display_name="Fraud", description="finds fraud", labels={"team": "risk"}
            ),
        ),
        timeout=10,
    ).model
    assert model.name == f"models/{model_id}"
    assert (model.display_name, model.description, dict(model.labels)) == (
        "Fraud",
        "finds fraud",
        {"team": "risk"},
    )
    assert not model.aliases and not model.latest_version and model.version_count == 0
    assert model.create_time == model.update_time and model.etag
    assert stub.GetModel(pb.GetModelRequest(name=model.name), timeout=10).model == model


def test_create_rejects_bad_ids_duplicates_labels_and_lengths(stub):
    for bad in ("", "Upper", "1abc", "a-", "a/b", "a" * 64):
        expect_error(
            lambda bad=bad: stub.CreateModel(pb.CreateModelRequest(model_id=bad), timeout=10),
            INVALID,
            "INVALID_NAME",
            "model_id",
        )
    name = create_model(stub)
    expect_error(
        lambda: stub.CreateModel(pb.CreateModelRequest(model_id=name[7:]), timeout=10),
        grpc.StatusCode.ALREADY_EXISTS,
        "RESOURCE_ALREADY_EXISTS",
    )
    for model, field in (
        (model_pb2.Model(labels={"Bad": "x"}), "model.labels.Bad"),
        (model_pb2.Model(display_name="x" * 257), "model.display_name"),
        (model_pb2.Model(description="x" * 16385), "model.description"),
    ):
        expect_error(
            lambda model=model: stub.CreateModel(
                pb.CreateModelRequest(model_id=unique_id(), model=model), timeout=10
            ),
            INVALID,
            "INVALID_FIELD",
            field,
        )


def test_request_id_replays_the_first_create_and_conflicts_with_another(stub):
    request_id = str(uuid.uuid4())
    request = pb.CreateModelRequest(model_id=unique_id(), request_id=request_id)
    first = stub.CreateModel(request, timeout=10).model
    assert stub.CreateModel(request, timeout=10).model == first
    other = pb.CreateModelRequest(model_id=unique_id(), request_id=request_id)
    expect_error(
        lambda: stub.CreateModel(other, timeout=10),
        grpc.StatusCode.ALREADY_EXISTS,
        "REQUEST_ID_CONFLICT",
    )
    expect_error(
        lambda: stub.CreateModel(
            pb.CreateModelRequest(model_id=unique_id(), request_id="not-a-uuid"), timeout=10
        ),
        INVALID,
        "INVALID_FIELD",
        "request_id",
    )


def test_get_rejects_malformed_names_and_names_the_missing_model(stub):
    expect_error(
        lambda: stub.GetModel(pb.GetModelRequest(name="models/A"), timeout=10),
        INVALID,
        "INVALID_NAME",
        "name",
    )
    expect_error(
        lambda: stub.GetModel(pb.GetModelRequest(name="models/absent"), timeout=10),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        resource_name="models/absent",
    )


def _all(stub, **fields) -> list[model_pb2.Model]:
    models, token = [], ""
    while True:
        page = stub.ListModels(pb.ListModelsRequest(page_token=token, **fields), timeout=10)
        models += page.models
        token = page.next_page_token
        if not token:
            return models


def test_list_pages_filters_and_orders(stub):
    team = f"t{uuid.uuid4().hex[:8]}"
    names = [
        create_model(stub, display_name=f"Model {i}", labels={"team": team}) for i in (3, 1, 2)
    ]
    mine = _all(stub, filter=f'labels.team = "{team}"', page_size=1)
    assert [m.name for m in mine] == sorted(names)
    by_display = _all(stub, filter=f'labels.team = "{team}"', order_by="display_name desc")
    assert [m.display_name for m in by_display] == ["Model 3", "Model 2", "Model 1"]
    by_time = _all(stub, filter=f'labels.team = "{team}"', order_by="create_time")
    assert [m.name for m in by_time] == names
    contains = _all(stub, filter=f'labels.team = "{team}" AND display_name : "MODEL 2"')
    assert [m.name for m in contains] == [names[2]]
    page = stub.ListModels(pb.ListModelsRequest(page_size=1, filter=f'labels.team = "{team}"'))
    expect_error(
        lambda: stub.ListModels(pb.ListModelsRequest(page_token=page.next_page_token)),
        INVALID,
        "INVALID_PAGE_TOKEN",
        "page_token",
    )
    for bad_filter in ("state = READY", "display_name < 3", "name = x OR name = y"):
        expect_error(
            lambda bad_filter=bad_filter: stub.ListModels(pb.ListModelsRequest(filter=bad_filter)),
            INVALID,
            "INVALID_FILTER",
            "filter",
        )
    expect_error(
        lambda: stub.ListModels(pb.ListModelsRequest(order_by="etag")),
        INVALID,
        "INVALID_FIELD",
        "order_by",
    )
    expect_error(
        lambda: stub.ListModels(pb.ListModelsRequest(page_size=-1)),
        INVALID,
        "INVALID_FIELD",
        "page_size",
    )


def test_update_changes_the_masked_fields_with_a_new_etag(stub):
    name = create_model(stub, display_name="before", description="kept")
    model = stub.GetModel(pb.GetModelRequest(name=name), timeout=10).model
    changed = stub.UpdateModel(
        pb.UpdateModelRequest(
            model=model_pb2.Model(name=name, display_name="after", description="ignored"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
        timeout=10,
    ).model
    assert (changed.display_name, changed.description) == ("after", "kept")
    assert changed.etag != model.etag
    assert changed.update_time.ToNanoseconds() >= model.update_time.ToNanoseconds()
    expect_error(
        lambda: stub.UpdateModel(
            pb.UpdateModelRequest(
                model=model_pb2.Model(name=name),
                update_mask=field_mask_pb2.FieldMask(paths=["aliases"]),
            )
        ),
        INVALID,
        "INVALID_FIELD",
    )
    expect_error(
        lambda: stub.UpdateModel(
            pb.UpdateModelRequest(model=model_pb2.Model(name=name, etag=model.etag))
        ),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    assert stub.GetModel(pb.GetModelRequest(name=name)).model == changed


def test_delete_needs_force_while_versions_exist(stub):
    name = create_model(stub)
    version = ready_version(stub, name, b"weights")
    stub.SetModelAlias(
        pb.SetModelAliasRequest(name=f"{name}/aliases/prod", model_version=version.name)
    )
    create_version(stub, name, b"pending")
    expect_error(
        lambda: stub.DeleteModel(pb.DeleteModelRequest(name=name)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "MODEL_HAS_VERSIONS",
    )
    stub.DeleteModel(pb.DeleteModelRequest(name=name, force=True), timeout=10)
    for gone in (name, version.name, f"{name}/aliases/prod"):
        get = stub.GetModel if gone == name else stub.GetModelVersion
        request = (pb.GetModelRequest if gone == name else pb.GetModelVersionRequest)(name=gone)
        expect_error(
            lambda get=get, request=request: get(request),
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            resource_name=gone,
        )
    # Created again under the same ID it is a new model, numbered from 1.
    stub.CreateModel(pb.CreateModelRequest(model_id=name[7:]))
    assert create_version(stub, name, b"again").name == f"{name}/versions/1"
    empty = create_model(stub)
    stub.DeleteModel(pb.DeleteModelRequest(name=empty))


def test_model_reports_aliases_latest_ready_version_and_count(stub):
    name = create_model(stub)
    first = ready_version(stub, name, b"one")
    second = ready_version(stub, name, b"two")
    create_version(stub, name, b"three: pending")
    stub.SetModelAlias(
        pb.SetModelAliasRequest(name=f"{name}/aliases/prod", model_version=first.name)
    )
    model = stub.GetModel(pb.GetModelRequest(name=name)).model
    assert dict(model.aliases) == {"prod": first.name}
    assert model.latest_version == second.name
    assert model.version_count == 3
    assert first.state == mv.MODEL_VERSION_STATE_READY
