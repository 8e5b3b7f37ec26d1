"""data-core cases of datasets: create, update, etags, head and delete (spec/data.md §3, §7)."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.data.arrow_samples import rows
from lepton_conformance.suites.data.dataset_checks import (
    ABORTED,
    INVALID,
    NOT_FOUND,
    labelled_datasets,
    nanos_of,
    rows_of,
    run_filter,
)
from lepton_conformance.suites.data.dataset_client import (
    APPEND,
    OVERWRITE,
    DatasetClient,
    unique_id,
)
from lepton_conformance.suites.data.profiles import CORE

CASES = CaseList()


# --- datasets -------------------------------------------------------------------------------


@CASES.case(CORE, "datasets.create-returns-the-dataset", "DAT-012", "DAT-009")
def create_returns_dataset(ctx: CaseContext) -> None:
    """CreateDataset returns the requested metadata, no versions, create_time = update_time,
    an etag, and ignores output-only fields the client set."""
    client = DatasetClient(ctx)
    dataset_id = unique_id()
    given = resources.Dataset(
        name="datasets/someone-else",
        display_name="Flowers ✿ " + "x" * 246,
        description="d" * 16384,
        labels={"team": "risk", "empty": ""},
        create_time=Timestamp(seconds=1),
        update_time=Timestamp(seconds=2),
        etag="client-etag",
        head_version="datasets/someone-else/versions/v9",
        version_count=7,
    )
    try:
        created = expect.succeeds(
            lambda: (
                client.call(
                    "CreateDataset", pb.CreateDatasetRequest(dataset_id=dataset_id, dataset=given)
                ).dataset
            ),
            "CreateDataset with a 256-character display_name and 16384-character description",
        )
        expect.equal(created.name, f"datasets/{dataset_id}", "name")
        expect.equal(
            (created.display_name, created.description, dict(created.labels)),
            (given.display_name, given.description, dict(given.labels)),
            "(display_name, description, labels)",
        )
        expect.equal(
            (created.version_count, created.head_version), (0, ""), "(version_count, head)"
        )
        expect.holds(
            nanos_of(created.create_time) > 2_000_000_000
            and created.create_time == created.update_time,
            "a server-set create_time equal to update_time",
            f"{created.create_time} / {created.update_time}",
        )
        expect.holds(
            created.etag not in ("", "client-etag"), "a server-set etag", repr(created.etag)
        )
        expect.equal(client.dataset(created.name), created, "GetDataset of the new dataset")
    finally:
        client.delete(f"datasets/{dataset_id}")


@CASES.case(CORE, "datasets.create-rejects-long-texts", "DAT-012", "DAT-002")
def create_rejects_long_texts(ctx: CaseContext) -> None:
    """A display_name over 256 or a description over 16384 characters is INVALID_FIELD and
    creates nothing."""
    client = DatasetClient(ctx)
    for field, dataset in (
        ("dataset.display_name", resources.Dataset(display_name="x" * 257)),
        ("dataset.description", resources.Dataset(description="x" * 16385)),
    ):
        dataset_id = unique_id()
        try:
            request = pb.CreateDatasetRequest(dataset_id=dataset_id, dataset=dataset)
            expect.rejects(
                lambda request=request: client.call("CreateDataset", request),
                INVALID,
                "INVALID_FIELD",
                field=field,
            )
            expect.rejects(
                lambda dataset_id=dataset_id: client.call(
                    "GetDataset", pb.GetDatasetRequest(name=f"datasets/{dataset_id}")
                ),
                NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )
        finally:
            client.delete(f"datasets/{dataset_id}")


@CASES.case(CORE, "datasets.create-existing-id-already-exists", "DAT-009", "DAT-002", "GEN-052")
def create_existing(ctx: CaseContext) -> None:
    """CreateDataset with an id in use is ALREADY_EXISTS [RESOURCE_ALREADY_EXISTS] and leaves
    the existing dataset as it was."""
    client = DatasetClient(ctx)
    with client.scratch(display_name="first") as name:
        before = client.dataset(name)
        request = pb.CreateDatasetRequest(
            dataset_id=name.removeprefix("datasets/"),
            dataset=resources.Dataset(display_name="second"),
        )
        expect.rejects(
            lambda: client.call("CreateDataset", request),
            grpc.StatusCode.ALREADY_EXISTS,
            "RESOURCE_ALREADY_EXISTS",
        )
        expect.equal(client.dataset(name), before, "the existing dataset")


@CASES.case(CORE, "datasets.create-request-id-replay", "DAT-008", "DAT-002", "GEN-053")
def create_request_id(ctx: CaseContext) -> None:
    """A repeated CreateDataset with the same request_id returns the same dataset; the same
    request_id with a different request is ALREADY_EXISTS [REQUEST_ID_CONFLICT]."""
    client = DatasetClient(ctx)
    dataset_id, other_id, request_id = unique_id(), unique_id(), str(uuid.uuid4())
    request = pb.CreateDatasetRequest(
        dataset_id=dataset_id, dataset=resources.Dataset(display_name="A"), request_id=request_id
    )
    try:
        first = expect.succeeds(lambda: client.call("CreateDataset", request).dataset)
        again = expect.succeeds(
            lambda: client.call("CreateDataset", request).dataset, "the replayed CreateDataset"
        )
        expect.equal(again, first, "the dataset the replay returns")
        for changed in (
            pb.CreateDatasetRequest(
                dataset_id=dataset_id,
                dataset=resources.Dataset(display_name="B"),
                request_id=request_id,
            ),
            pb.CreateDatasetRequest(dataset_id=other_id, request_id=request_id),
        ):
            expect.rejects(
                lambda changed=changed: client.call("CreateDataset", changed),
                grpc.StatusCode.ALREADY_EXISTS,
                "REQUEST_ID_CONFLICT",
            )
        expect.equal(client.dataset(first.name), first, "the dataset after the conflicts")
        expect.rejects(
            lambda: client.call("GetDataset", pb.GetDatasetRequest(name=f"datasets/{other_id}")),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
    finally:
        client.delete(f"datasets/{dataset_id}")
        client.delete(f"datasets/{other_id}")


@CASES.case(CORE, "datasets.labels-at-the-limits-are-accepted", "DAT-011", "GEN-056")
def labels_at_limits(ctx: CaseContext) -> None:
    """64 labels, 63-character keys and values and empty values are accepted and kept."""
    client = DatasetClient(ctx)
    labels = {f"k{i}": "" for i in range(62)}
    labels["k" + "a" * 62] = "v" * 63
    labels["team_x-1"] = "a_b-9"
    with client.scratch(labels=labels) as name:
        expect.equal(dict(client.dataset(name).labels), labels, "labels")


@CASES.case(CORE, "datasets.update-applies-the-mask", "DAT-015", "GEN-054")
def update_mask(ctx: CaseContext) -> None:
    """UpdateDataset changes exactly the masked fields (empty mask: the non-empty ones; `*`:
    all three), with a new etag and update_time, and nothing else."""
    client = DatasetClient(ctx)
    with client.scratch(display_name="A", description="D", labels={"team": "a"}) as name:
        created = client.dataset(name)

        def update(paths: list[str], **fields: Any) -> resources.Dataset:
            request = pb.UpdateDatasetRequest(
                dataset=resources.Dataset(name=name, **fields), update_mask=FieldMask(paths=paths)
            )
            return expect.succeeds(
                lambda: client.call("UpdateDataset", request).dataset, f"UpdateDataset {paths}"
            )

        steps = [
            (
                ["display_name"],
                {"display_name": "B", "description": "X", "labels": {"x": "y"}},
                ("B", "D", {"team": "a"}),
            ),
            ([], {"description": "E"}, ("B", "E", {"team": "a"})),
            (["labels"], {"labels": {"b": "2"}, "display_name": "Z"}, ("B", "E", {"b": "2"})),
            (["*"], {}, ("", "", {})),
        ]
        previous = created
        for paths, fields, wanted in steps:
            updated = update(paths, **fields)
            got = (updated.display_name, updated.description, dict(updated.labels))
            expect.equal(got, wanted, f"(display_name, description, labels) after mask {paths}")
            expect.holds(
                bool(updated.etag) and updated.etag != previous.etag,
                "a new etag",
                f"{updated.etag!r} after {previous.etag!r}",
            )
            expect.holds(
                nanos_of(updated.update_time) > nanos_of(previous.update_time),
                "a later update_time",
                f"{updated.update_time} after {previous.update_time}",
            )
            expect.equal(
                (updated.name, updated.create_time, updated.version_count, updated.head_version),
                (created.name, created.create_time, created.version_count, created.head_version),
                "(name, create_time, version_count, head_version)",
            )
            expect.equal(client.dataset(name), updated, "GetDataset after the update")
            previous = updated


@CASES.case(CORE, "datasets.update-mask-rejects-other-fields", "DAT-015", "DAT-002", "GEN-054")
def update_mask_other(ctx: CaseContext) -> None:
    """A mask naming any field but display_name, description and labels is INVALID_FIELD on
    update_mask and changes nothing."""
    client = DatasetClient(ctx)
    with client.scratch(display_name="A") as name:
        before = client.dataset(name)
        for path in ("name", "etag", "create_time", "version_count", "head_version", "no_such"):
            request = pb.UpdateDatasetRequest(
                dataset=resources.Dataset(name=name, display_name="B"),
                update_mask=FieldMask(paths=["display_name", path]),
            )
            expect.rejects(
                lambda request=request: client.call("UpdateDataset", request),
                INVALID,
                "INVALID_FIELD",
                field="update_mask",
            )
        expect.equal(client.dataset(name), before, "the dataset after the rejected updates")


@CASES.case(CORE, "datasets.etag-makes-changes-conditional", "DAT-016", "DAT-002", "GEN-055")
def dataset_etag(ctx: CaseContext) -> None:
    """UpdateDataset and DeleteDataset with a stale etag are ABORTED [ETAG_MISMATCH] and
    change nothing; with the current etag they succeed."""
    client = DatasetClient(ctx)
    with client.scratch(display_name="A") as name:
        first = client.dataset(name)
        request = pb.UpdateDatasetRequest(
            dataset=resources.Dataset(name=name, display_name="B", etag=first.etag),
            update_mask=FieldMask(paths=["display_name"]),
        )
        second = expect.succeeds(lambda: client.call("UpdateDataset", request).dataset)
        stale = pb.UpdateDatasetRequest(
            dataset=resources.Dataset(name=name, display_name="C", etag=first.etag),
            update_mask=FieldMask(paths=["display_name"]),
        )
        expect.rejects(lambda: client.call("UpdateDataset", stale), ABORTED, "ETAG_MISMATCH")
        expect.rejects(
            lambda: client.call(
                "DeleteDataset", pb.DeleteDatasetRequest(name=name, etag=first.etag)
            ),
            ABORTED,
            "ETAG_MISMATCH",
        )
        expect.equal(client.dataset(name), second, "the dataset after the stale calls")
        expect.succeeds(
            lambda: client.call(
                "DeleteDataset", pb.DeleteDatasetRequest(name=name, etag=second.etag)
            ),
            "DeleteDataset with the current etag",
        )
        expect.rejects(
            lambda: client.call("GetDataset", pb.GetDatasetRequest(name=name)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )


@CASES.case(CORE, "datasets.commits-and-tags-keep-the-etag", "DAT-017")
def commits_keep_etag(ctx: CaseContext) -> None:
    """Committing versions and setting, moving and deleting tags leave the dataset's etag and
    update_time as they were."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        before = client.dataset(name)
        first = client.write(name, rows(2), tags=["alpha"])
        client.write(name, rows(2, 2), APPEND)
        tag = f"{name}/tags/beta"
        client.call("SetTag", pb.SetTagRequest(name=tag, version=first.name))
        client.call("SetTag", pb.SetTagRequest(name=f"{name}/tags/alpha", version=first.name))
        client.call("DeleteTag", pb.DeleteTagRequest(name=tag))
        after = client.dataset(name)
        expect.equal(
            (after.etag, after.update_time),
            (before.etag, before.update_time),
            "(etag, update_time)",
        )


@CASES.case(CORE, "datasets.head-and-version-count", "DAT-013", "DAT-014")
def head_and_count(ctx: CaseContext) -> None:
    """GetDataset (and ListDatasets) report the newest version as head and the number of
    versions after every commit."""
    client = DatasetClient(ctx)
    with labelled_datasets(client, 1) as (run, (name,)):
        for count, (table, mode) in enumerate(
            ((rows(1), OVERWRITE), (rows(1, 1), APPEND), (rows(3), OVERWRITE)), start=1
        ):
            version = client.write(name, table, mode)
            dataset = client.dataset(name)
            expect.equal(
                (dataset.head_version, dataset.version_count),
                (version.name, count),
                f"(head_version, version_count) after commit {count}",
            )
            listed = client.call("ListDatasets", pb.ListDatasetsRequest(filter=run_filter(run)))
            expect.equal(list(listed.datasets), [dataset], "ListDatasets of the dataset")


@CASES.case(CORE, "datasets.delete-needs-force-when-not-empty", "DAT-018", "DAT-002")
def delete_needs_force(ctx: CaseContext) -> None:
    """DeleteDataset without force deletes an empty dataset but fails FAILED_PRECONDITION
    [DATASET_NOT_EMPTY] on one with versions, deleting nothing."""
    client = DatasetClient(ctx)
    with client.scratch() as empty:
        expect.succeeds(
            lambda: client.call("DeleteDataset", pb.DeleteDatasetRequest(name=empty)),
            "DeleteDataset of an empty dataset without force",
        )
        expect.rejects(
            lambda: client.call("GetDataset", pb.GetDatasetRequest(name=empty)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
    with client.scratch() as name:
        version = client.write(name, rows(3), tags=["prod"])
        before = client.dataset(name)
        expect.rejects(
            lambda: client.call("DeleteDataset", pb.DeleteDatasetRequest(name=name)),
            grpc.StatusCode.FAILED_PRECONDITION,
            "DATASET_NOT_EMPTY",
        )
        expect.equal(client.dataset(name), before, "the dataset after the refused delete")
        expect.equal(client.version(f"{name}/tags/prod").name, version.name, "the tag's version")
        expect.equal(rows_of(client.read_table(version.name)), rows_of(rows(3)), "rows")


@CASES.case(CORE, "datasets.delete-removes-everything", "DAT-020", "DAT-002")
def delete_removes_everything(ctx: CaseContext) -> None:
    """After DeleteDataset the dataset, its versions and tags are NOT_FOUND; the id can be
    created again and starts with no version and no tag."""
    client = DatasetClient(ctx)
    with client.scratch() as name:
        version = client.write(name, rows(3), tags=["prod"])
        expect.succeeds(
            lambda: client.call("DeleteDataset", pb.DeleteDatasetRequest(name=name, force=True)),
            "DeleteDataset with force",
        )
        gone = [
            ("GetDataset", pb.GetDatasetRequest(name=name)),
            ("GetVersion", pb.GetVersionRequest(name=version.name)),
            ("GetVersion", pb.GetVersionRequest(name=f"{name}/tags/prod")),
            ("ReadVersion", pb.ReadVersionRequest(name=version.name)),
            ("ListVersions", pb.ListVersionsRequest(parent=name)),
            ("ListTags", pb.ListTagsRequest(parent=name)),
        ]
        for rpc, request in gone:
            expect.rejects(
                lambda rpc=rpc, request=request: client.call(rpc, request),
                NOT_FOUND,
                "RESOURCE_NOT_FOUND",
            )
        again = client.create(name.removeprefix("datasets/"))
        expect.equal((again.version_count, again.head_version), (0, ""), "the new dataset's head")
        expect.equal(client.versions(name), [], "versions of the new dataset")
        tags = client.call("ListTags", pb.ListTagsRequest(parent=name)).tags
        expect.equal(list(tags), [], "tags of the new dataset")
        expect.rejects(
            lambda: client.call("GetVersion", pb.GetVersionRequest(name=f"{name}/tags/prod")),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
        )
