"""Model versions (REG-012 to REG-018): numbering never reused, what a create accepts,
immutability, reads through aliases, listing across models with filters and orders, updates
and deletes."""

from __future__ import annotations

import concurrent.futures
import uuid

import grpc
from google.protobuf import field_mask_pb2
from registry_calls import (
    artifact,
    create_model,
    create_version,
    descriptor,
    expect_error,
    onnx_model_bytes,
    ready_version,
)

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import (
    dataset_reference_pb2,
    digest_pb2,
    model_artifact_pb2,
    model_format_pb2,
    model_signature_pb2,
    tensor_pb2,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PENDING = mv.MODEL_VERSION_STATE_PENDING_REGISTRATION


def _create(stub, parent: str, version: mv.ModelVersion, **fields):
    return stub.CreateModelVersion(
        pb.CreateModelVersionRequest(parent=parent, model_version=version, **fields), timeout=10
    )


def test_numbers_grow_by_one_and_are_never_reused(stub):
    name = create_model(stub)
    first = create_version(stub, name, b"a")
    assert (first.name, first.state) == (f"{name}/versions/1", PENDING)
    stub.DeleteModelVersion(pb.DeleteModelVersionRequest(name=first.name))
    assert create_version(stub, name, b"b").name == f"{name}/versions/2"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        names = list(pool.map(lambda _: create_version(stub, name, b"c").name, range(8)))
    assert sorted(names) == sorted(f"{name}/versions/{n}" for n in range(3, 11))


def test_request_id_replays_without_consuming_a_number(stub):
    name = create_model(stub)
    request_id = str(uuid.uuid4())
    version = mv.ModelVersion(artifact=artifact(b"x"))
    first = _create(stub, name, version, request_id=request_id).model_version
    assert _create(stub, name, version, request_id=request_id).model_version == first
    expect_error(
        lambda: _create(
            stub, name, mv.ModelVersion(artifact=artifact(b"y")), request_id=request_id
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        "REQUEST_ID_CONFLICT",
    )
    assert create_version(stub, name, b"z").name == f"{name}/versions/2"


def test_create_rejects_what_reg_013_lists(stub):
    name = create_model(stub)
    good = artifact(b"data")
    bad_digest = model_artifact_pb2.ModelArtifact()
    bad_digest.CopyFrom(good)
    bad_digest.descriptor.digest.hex = "ABC"
    md5 = model_artifact_pb2.ModelArtifact()
    md5.CopyFrom(good)
    md5.descriptor.digest.algorithm = digest_pb2.DIGEST_ALGORITHM_UNSPECIFIED
    tensor = tensor_pb2.TensorSpec(name="x", data_type=tensor_pb2.DATA_TYPE_FP32)
    cases = [
        (mv.ModelVersion(), "model_version.artifact"),
        (
            mv.ModelVersion(artifact=model_artifact_pb2.ModelArtifact(format=1)),
            "model_version.artifact.descriptor",
        ),
        (
            mv.ModelVersion(artifact=artifact(b"d", model_format=0)),
            "model_version.artifact.format",
        ),
        (mv.ModelVersion(artifact=bad_digest), "model_version.artifact.descriptor.digest.hex"),
        (mv.ModelVersion(artifact=md5), "model_version.artifact.descriptor.digest.algorithm"),
        (
            mv.ModelVersion(artifact=artifact(b"d", media_type="application/x-tar")),
            "model_version.artifact.entry_path",
        ),
        (
            mv.ModelVersion(artifact=artifact(b"d", entry_path="model.onnx")),
            "model_version.artifact.entry_path",
        ),
        (
            mv.ModelVersion(
                artifact=good,
                signature=model_signature_pb2.ModelSignature(inputs=[tensor, tensor]),
            ),
            "model_version.signature.inputs[1].name",
        ),
        (
            mv.ModelVersion(
                artifact=good,
                signature=model_signature_pb2.ModelSignature(
                    outputs=[tensor_pb2.TensorSpec(name="y")]
                ),
            ),
            "model_version.signature.outputs[0].data_type",
        ),
        (
            mv.ModelVersion(
                artifact=good,
                lineage=mv.ModelLineage(datasets=[dataset_reference_pb2.DatasetReference()]),
            ),
            "model_version.lineage.datasets[0]",
        ),
        (mv.ModelVersion(artifact=good, labels={"k": "V"}), "model_version.labels.k"),
        (mv.ModelVersion(artifact=good, metadata={"": "v"}), "model_version.metadata"),
    ]
    for uri in ("s3://key:secret@bucket/model.onnx", "https://host/model.onnx?token=abc"):
        cases.append(
            (
                mv.ModelVersion(artifact=good, lineage=mv.ModelLineage(source_uri=uri)),
                "model_version.lineage.source_uri",
            )
        )
    size = model_artifact_pb2.ModelArtifact()
    size.CopyFrom(good)
    size.descriptor.size_bytes = 0
    cases.append((mv.ModelVersion(artifact=size), "model_version.artifact.descriptor.size_bytes"))
    for version, field in cases:
        expect_error(
            lambda version=version: _create(stub, name, version), INVALID, "INVALID_FIELD", field
        )
    for lineage, field in (
        (mv.ModelLineage(parent_model_version=f"{name}/aliases/prod"), "parent_model_version"),
        (mv.ModelLineage(training_job="jobs/x"), "training_job"),
        (
            mv.ModelLineage(
                datasets=[
                    dataset_reference_pb2.DatasetReference(dataset_version="datasets/d/tags/t")
                ]
            ),
            "datasets[0].dataset_version",
        ),
    ):
        expect_error(
            lambda lineage=lineage: _create(
                stub, name, mv.ModelVersion(artifact=good, lineage=lineage)
            ),
            INVALID,
            "INVALID_NAME",
            f"model_version.lineage.{field}",
        )
    expect_error(
        lambda: _create(stub, "models/absent", mv.ModelVersion(artifact=good)),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        resource_name="models/absent",
    )
    huge = model_artifact_pb2.ModelArtifact()
    huge.CopyFrom(good)
    huge.descriptor.size_bytes = 1 << 50
    expect_error(
        lambda: _create(stub, name, mv.ModelVersion(artifact=huge)),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "QUOTA_EXCEEDED",
    )
    assert create_version(stub, name, b"ok").name == f"{name}/versions/1"


def test_lineage_and_declared_fields_are_kept_as_given(stub):
    name = create_model(stub)
    lineage = mv.ModelLineage(
        training_job="trainingJobs/never-existed",
        parent_model_version="models/elsewhere/versions/9",
        source_uri="s3://bucket/model.onnx",
        datasets=[
            dataset_reference_pb2.DatasetReference(
                dataset_version="datasets/d/versions/v1",
                role=dataset_reference_pb2.DATASET_ROLE_TRAIN,
            )
        ],
    )
    version = ready_version(
        stub,
        name,
        b"weights",
        lineage=lineage,
        framework="sklearn",
        framework_version="1.5",
        format_version="opset=17",
        metadata={"git_commit": "3f2a9c1"},
    )
    assert version.lineage == lineage
    assert (version.framework, version.framework_version, version.format_version) == (
        "sklearn",
        "1.5",
        "opset=17",
    )
    assert dict(version.metadata) == {"git_commit": "3f2a9c1"}
    assert version.artifact.descriptor == descriptor(b"weights")


def _all(stub, parent: str, **fields) -> list[mv.ModelVersion]:
    versions, token = [], ""
    while True:
        page = stub.ListModelVersions(
            pb.ListModelVersionsRequest(parent=parent, page_token=token, **fields), timeout=10
        )
        versions += page.model_versions
        token = page.next_page_token
        if not token:
            return versions


def test_list_is_newest_first_and_searches_all_models(stub):
    one, two = create_model(stub), create_model(stub)
    job = f"trainingJobs/j-{uuid.uuid4().hex[:8]}"
    dataset = f"datasets/d{uuid.uuid4().hex[:8]}/versions/v1"
    names = [create_version(stub, one, bytes([i])).name for i in range(3)]
    assert [v.name for v in _all(stub, one, page_size=2)] == names[::-1]
    assert [v.name for v in _all(stub, one, order_by="create_time")] == names
    model = onnx_model_bytes(job)
    ready = ready_version(
        stub,
        two,
        model,
        artifact=artifact(model, model_format=model_format_pb2.MODEL_FORMAT_ONNX),
        labels={"stage": "eval"},
        framework="PyTorch",
        lineage=mv.ModelLineage(
            training_job=job,
            datasets=[
                dataset_reference_pb2.DatasetReference(uri="s3://x"),
                dataset_reference_pb2.DatasetReference(dataset_version=dataset),
            ],
        ),
    )
    create_version(
        stub,
        two,
        b"pickle",
        artifact=artifact(b"pickle", model_format=model_format_pb2.MODEL_FORMAT_PICKLE),
    )
    for query in (
        f'lineage.training_job = "{job}"',
        f'lineage.datasets.dataset_version = "{dataset}"',
        f'lineage.training_job = "{job}" AND state = READY AND artifact.format = MODEL_FORMAT_ONNX',
    ):
        assert [v.name for v in _all(stub, "models/-", filter=query)] == [ready.name], query
    assert [v.name for v in _all(stub, two, filter='labels.stage = "eval"')] == [ready.name]
    assert [v.name for v in _all(stub, two, filter='framework : "torch"')] == [ready.name]
    assert len(_all(stub, two, filter="state != READY")) == 1
    assert len(_all(stub, two, filter="artifact.format = PICKLE")) == 1
    for bad in (
        "state = UNSPECIFIED",
        "state = DONE",
        'state = "READY"',
        'lineage.source_uri = "x"',
    ):
        expect_error(
            lambda bad=bad: _all(stub, two, filter=bad), INVALID, "INVALID_FILTER", "filter"
        )
    expect_error(lambda: _all(stub, two, order_by="name"), INVALID, "INVALID_FIELD", "order_by")
    expect_error(
        lambda: _all(stub, "models/absent"),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    )
    expect_error(lambda: _all(stub, "models/X"), INVALID, "INVALID_NAME", "parent")


def test_update_changes_description_and_labels_only(stub):
    name = create_model(stub)
    version = create_version(stub, name, b"v", description="old")
    updated = stub.UpdateModelVersion(
        pb.UpdateModelVersionRequest(
            model_version=mv.ModelVersion(name=version.name, labels={"ok": "yes"}),
            update_mask=field_mask_pb2.FieldMask(paths=["labels"]),
        )
    ).model_version
    assert (updated.description, dict(updated.labels)) == ("old", {"ok": "yes"})
    assert updated.etag != version.etag
    for mask, field in (
        (["artifact"], "update_mask.paths[0]"),
        (["state"], "update_mask.paths[0]"),
    ):
        expect_error(
            lambda mask=mask: stub.UpdateModelVersion(
                pb.UpdateModelVersionRequest(
                    model_version=mv.ModelVersion(name=version.name),
                    update_mask=field_mask_pb2.FieldMask(paths=mask),
                )
            ),
            INVALID,
            "INVALID_FIELD",
            field,
        )
    expect_error(
        lambda: stub.UpdateModelVersion(
            pb.UpdateModelVersionRequest(
                model_version=mv.ModelVersion(name=f"{name}/aliases/latest")
            )
        ),
        INVALID,
        "INVALID_NAME",
        "model_version.name",
    )
    expect_error(
        lambda: stub.UpdateModelVersion(
            pb.UpdateModelVersionRequest(
                model_version=mv.ModelVersion(name=version.name, etag=version.etag)
            )
        ),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )


def test_delete_refuses_aliases_without_force_and_alias_names(stub):
    name = create_model(stub)
    version = ready_version(stub, name, b"aliased")
    alias = f"{name}/aliases/prod"
    stub.SetModelAlias(pb.SetModelAliasRequest(name=alias, model_version=version.name))
    expect_error(
        lambda: stub.DeleteModelVersion(pb.DeleteModelVersionRequest(name=alias)),
        INVALID,
        "INVALID_NAME",
        "name",
    )
    expect_error(
        lambda: stub.DeleteModelVersion(pb.DeleteModelVersionRequest(name=version.name)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_HAS_ALIASES",
    )
    expect_error(
        lambda: stub.DeleteModelVersion(
            pb.DeleteModelVersionRequest(name=version.name, force=True, etag="stale")
        ),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    stub.DeleteModelVersion(pb.DeleteModelVersionRequest(name=version.name, force=True))
    expect_error(
        lambda: stub.GetModelVersion(pb.GetModelVersionRequest(name=version.name)),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        resource_name=version.name,
    )
    assert not stub.GetModel(pb.GetModelRequest(name=name)).model.aliases
    assert create_version(stub, name, b"next").name == f"{name}/versions/2"


def test_version_names_are_decimal_numbers_without_leading_zeros(stub):
    name = create_model(stub)
    for bad in ("0", "01", "v1", "-1", "1.0"):
        expect_error(
            lambda bad=bad: stub.GetModelVersion(
                pb.GetModelVersionRequest(name=f"{name}/versions/{bad}")
            ),
            INVALID,
            "INVALID_NAME",
            "name",
        )
    huge = f"{name}/versions/{'9' * 30}"
    expect_error(
        lambda: stub.GetModelVersion(pb.GetModelVersionRequest(name=huge)),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        resource_name=huge,
    )
