"""registry-core cases of model versions: numbering, listing, updates and deletion
(spec/registry.md, "Versions")."""

from __future__ import annotations

from concurrent import futures

import grpc
from google.protobuf import field_mask_pb2

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2
from lepton.type.v1 import (
    dataset_reference_pb2,
    model_artifact_pb2,
    model_signature_pb2,
    tensor_pb2,
)
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry import registry_archives
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import (
    PENDING,
    READY,
    RegistryClient,
    random_bytes,
    unique_id,
    upload_messages,
)

CASES = CaseList()


@CASES.case(CORE, "versions.numbers-are-never-reused", "REG-012", "REG-018")
def numbering(ctx: CaseContext) -> None:
    """Versions are numbered 1, 2, …, concurrent creates get distinct numbers, and a deleted
    version's number is never assigned again."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        first = client.create_version(name, random_bytes(8))
        expect.equal(first.name, f"{name}/versions/1", "the first version")
        expect.equal(first.state, PENDING, "state of a new version")
        with futures.ThreadPoolExecutor(max_workers=8) as pool:
            created = list(
                pool.map(lambda _: client.create_version(name, random_bytes(8)), range(8))
            )
        numbers = sorted(int(v.name.rsplit("/", 1)[1]) for v in created)
        expect.equal(numbers, list(range(2, 10)), "numbers of 8 concurrent creates")
        client.call("DeleteModelVersion", pb.DeleteModelVersionRequest(name=f"{name}/versions/9"))
        after = client.create_version(name, random_bytes(8))
        expect.equal(after.name, f"{name}/versions/10", "the version after deleting 9")
        expect.fails_with(
            lambda: client.version(f"{name}/versions/9"),
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(CORE, "versions.list-filters-and-orders", "REG-016")
def listing(ctx: CaseContext) -> None:
    """ListModelVersions lists newest first by default, filters on state and labels, and
    `models/-` searches every model."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        run = unique_id("run")
        ready = client.register(name, random_bytes(8), labels={"stage": "eval", "run": run})
        pending = client.create_version(name, random_bytes(8), labels={"run": run})

        def listed(parent: str, flt: str = "", order: str = "") -> list[str]:
            request = pb.ListModelVersionsRequest(
                parent=parent, filter=flt, order_by=order, page_size=100
            )
            return [v.name for v in client.call("ListModelVersions", request).model_versions]

        expect.equal(listed(name), [pending.name, ready.name], "default order (newest first)")
        expect.equal(listed(name, order="create_time"), [ready.name, pending.name], "create_time")
        expect.equal(listed(name, "state = READY"), [ready.name], "state = READY")
        expect.equal(listed(name, 'labels.stage = "eval"'), [ready.name], "labels.stage")
        expect.equal(
            listed("models/-", f'labels.run = "{run}" AND state = PENDING_REGISTRATION'),
            [pending.name],
            "this run's pending versions under models/-",
        )


@CASES.case(CORE, "versions.update-changes-only-description-labels", "REG-017")
def update(ctx: CaseContext) -> None:
    """UpdateModelVersion changes description and labels as masked, with a new etag, and
    nothing else of the version."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        version = client.register(name, random_bytes(8), description="v1")
        change = model_version_pb2.ModelVersion(
            name=version.name, description="v1, evaluated", labels={"ok": "yes"}, etag=version.etag
        )
        mask = field_mask_pb2.FieldMask(paths=["description", "labels"])
        request = pb.UpdateModelVersionRequest(model_version=change, update_mask=mask)
        updated = client.call("UpdateModelVersion", request).model_version
        expect.equal(
            (updated.description, dict(updated.labels)), ("v1, evaluated", {"ok": "yes"}), "fields"
        )
        expect.holds(updated.etag != version.etag, "a new etag", updated.etag)
        expect.equal(
            (updated.artifact, updated.state, updated.create_time),
            (version.artifact, READY, version.create_time),
            "(artifact, state, create_time)",
        )
        expect.fails_with(
            lambda: client.call("UpdateModelVersion", request),
            grpc.StatusCode.ABORTED,
            "ETAG_MISMATCH",
        )


@CASES.case(CORE, "versions.delete-with-force-takes-its-aliases", "REG-018")
def delete_force(ctx: CaseContext) -> None:
    """DeleteModelVersion with force deletes the version and the aliases pointing to it."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        version = client.register(name, random_bytes(8))
        client.set_alias(f"{name}/aliases/prod", version.name)
        request = pb.DeleteModelVersionRequest(name=version.name, force=True)
        client.call("DeleteModelVersion", request)
        expect.equal(dict(client.model(name).aliases), {}, "aliases after the delete")
        expect.fails_with(
            lambda: client.version(f"{name}/aliases/prod"),
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(CORE, "versions.metrics-are-filtered-as-numbers", "REG-047")
def metrics(ctx: CaseContext) -> None:
    """metrics are stored as given, replaced by UpdateModelVersion's mask `metrics`, and
    `metrics.<name>` filters compare them as numbers, a version without the metric matching
    none; a NaN metric is INVALID_ARGUMENT [INVALID_FIELD]."""
    client = RegistryClient(ctx)
    with client.scratch() as name:
        good = client.register(name, random_bytes(8), metrics={"accuracy": 0.93})
        weak = client.register(name, random_bytes(8), metrics={"accuracy": 0.81})
        bare = client.register(name, random_bytes(8))

        def listed(flt: str) -> list[str]:
            request = pb.ListModelVersionsRequest(parent=name, filter=flt, order_by="create_time")
            return [v.name for v in client.call("ListModelVersions", request).model_versions]

        expect.equal(listed("metrics.accuracy > 0.9"), [good.name], "metrics.accuracy > 0.9")
        expect.equal(
            listed("metrics.accuracy != 0.5"), [good.name, weak.name], "metrics.accuracy != 0.5"
        )
        change = model_version_pb2.ModelVersion(name=bare.name, metrics={"accuracy": 0.99})
        mask = field_mask_pb2.FieldMask(paths=["metrics"])
        client.call(
            "UpdateModelVersion",
            pb.UpdateModelVersionRequest(model_version=change, update_mask=mask),
        )
        expect.equal(listed("metrics.accuracy > 0.9"), [good.name, bare.name], "after the update")
        expect.fails_with(
            lambda: client.create_version(name, random_bytes(8), metrics={"auc": float("nan")}),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
        )


def _lineage() -> model_version_pb2.ModelLineage:
    """Lineage naming resources that do not exist: stored as given, never checked."""
    missing = unique_id("conf-missing")
    return model_version_pb2.ModelLineage(
        datasets=[
            dataset_reference_pb2.DatasetReference(
                dataset_version=f"datasets/{missing}/versions/v3",
                role=dataset_reference_pb2.DATASET_ROLE_TRAIN,
            ),
            dataset_reference_pb2.DatasetReference(
                uri="s3://bucket/eval/part-0.parquet",
                role=dataset_reference_pb2.DATASET_ROLE_TEST,
            ),
        ],
        training_job=f"trainingJobs/{missing}",
        source_uri="https://models.example.com/fraud/model.bin",
        parent_model_version=f"models/{missing}/versions/7",
    )


# UpdateModelVersion masks naming an immutable field, each with a changed value.
_IMMUTABLE_CHANGES = {
    "framework": {"framework": "changed"},
    "framework_version": {"framework_version": "9.9"},
    "format_version": {"format_version": "changed"},
    "metadata": {"metadata": {"changed": "yes"}},
    "lineage": {"lineage": model_version_pb2.ModelLineage(training_job="trainingJobs/other")},
    "signature": {"signature": model_signature_pb2.ModelSignature()},
    "artifact.entry_path": {
        "artifact": model_artifact_pb2.ModelArtifact(entry_path="model/config.json")
    },
    "files": {"files": [model_version_pb2.ArtifactFile(path="x", size_bytes=1)]},
}


@CASES.case(CORE, "versions.lineage-and-immutable-fields-are-kept", "REG-014")
def immutable(ctx: CaseContext) -> None:
    """Lineage naming resources that do not exist is stored exactly as given; an
    UpdateModelVersion whose mask names an immutable field is INVALID_ARGUMENT
    [INVALID_FIELD], and the version's artifact, format_version, framework(_version),
    signature, lineage, metadata and files stay as they were."""
    client = RegistryClient(ctx)
    data, _ = registry_archives.valid_archive()
    signature = model_signature_pb2.ModelSignature(
        inputs=[tensor_pb2.TensorSpec(name="x", data_type=tensor_pb2.DATA_TYPE_FP32, shape=[-1])]
    )
    declared = registry_archives.archive_version(
        data,
        lineage=_lineage(),
        framework="sklearn",
        framework_version="1.5.0",
        format_version="1",
        metadata={"origin": "conformance"},
        signature=signature,
    )
    with client.scratch() as name:
        request = pb.CreateModelVersionRequest(parent=name, model_version=declared)
        created = client.call("CreateModelVersion", request).model_version
        expect.equal(created.lineage, declared.lineage, "lineage as created")
        messages = upload_messages(created.name, data, 4 * 1024)
        expect.equal(client.upload(messages).model_version.state, READY, "state after upload")
        ready = client.version(created.name)

        def kept(version) -> tuple:
            return (
                version.artifact,
                version.format_version,
                version.framework,
                version.framework_version,
                version.signature,
                version.lineage,
                dict(version.metadata),
                list(version.files),
            )

        wanted = (declared.artifact, "1", "sklearn", "1.5.0", signature, declared.lineage)
        expect.equal(kept(ready)[:6], wanted, "the immutable fields as declared")
        for path, change in _IMMUTABLE_CHANGES.items():
            update = pb.UpdateModelVersionRequest(
                model_version=model_version_pb2.ModelVersion(name=ready.name, **change),
                update_mask=field_mask_pb2.FieldMask(paths=[path]),
            )
            expect.fails_with(
                lambda update=update: client.call("UpdateModelVersion", update),
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_FIELD",
            )
            after = client.version(ready.name)
            expect.equal(kept(after), kept(ready), f"the immutable fields after mask {path}")
            expect.equal(after.etag, ready.etag, f"etag after the refused mask {path}")
