"""registry-core cases of model versions: numbering, listing, updates and deletion
(spec/registry.md, "Versions")."""

from __future__ import annotations

from concurrent import futures

import grpc
from google.protobuf import field_mask_pb2

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import (
    PENDING,
    READY,
    RegistryClient,
    random_bytes,
    unique_id,
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
