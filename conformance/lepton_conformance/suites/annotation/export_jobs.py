"""annotation-core cases of annotation export jobs as jobs (feature
`data.annotation.export_jobs`): a stale expected_parent_version fails the job and commits
nothing (ANN-051, ANN-047); an unchanged project exports to the same content digest, and
request_id is honoured (ANN-052); CreateAnnotationExportJob's refusals create no job (ANN-049,
ANN-051); Get, List, Watch and Cancel (ANN-053)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as at
from lepton.data.v1 import dataset_service_pb2 as pb_data
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    ALREADY_EXISTS,
    FAILED_PRECONDITION,
    INVALID,
    NOT_FOUND,
    standard_project,
)
from lepton_conformance.suites.annotation.annotation_client import (
    COMPLETED,
    AnnotationClient,
    classification,
    label_specs,
    request_id,
    unique_id,
)
from lepton_conformance.suites.annotation.annotation_data import own_dataset, shared_data
from lepton_conformance.suites.annotation.annotation_jobs import (
    EXPORT,
    check_progress,
    failed_with,
)
from lepton_conformance.suites.annotation.export_setup import (
    committed,
    destination,
    export_job,
    run_export,
)
from lepton_conformance.suites.annotation.profiles import CORE
from lepton_conformance.suites.data.dataset_client import DatasetClient

CASES = CaseList()
EVERY = "annotationProjects/-"


def _small_project(client: AnnotationClient, ctx: CaseContext, tasks: int = 2) -> Any:
    """A standard project whose first `tasks` tasks are COMPLETED with an annotation."""
    project = standard_project(client, shared_data(ctx))
    for row in range(tasks):
        task = client.create_task(project.name, row)
        client.annotate(task.name, [classification("animal", "cat")])
        client.set_state(task.name, COMPLETED)
    return project


def _tags(datasets: DatasetClient, dataset: str) -> list[tuple[str, str]]:
    listed = datasets.call("ListTags", pb_data.ListTagsRequest(parent=dataset)).tags
    return sorted((t.name, t.version) for t in listed)


@CASES.case(CORE, "exports.stale-expected-parent-fails-and-commits-nothing", "ANN-051", "ANN-047")
def stale_parent(ctx: CaseContext) -> None:
    """An export whose destination head is no longer expected_parent_version ends FAILED with
    ABORTED [PARENT_VERSION_MISMATCH], no output_version, and the destination's head, versions
    and tags as they were; with the current head it commits on top of it."""
    EXPORT.require(ctx)
    with AnnotationClient(ctx) as client, destination(client) as (dataset, first):
        project = _small_project(client, ctx)
        datasets = DatasetClient(ctx)
        second = datasets.write(dataset, pa.table({"old": pa.array([2], pa.int64())}))
        before, tags = datasets.dataset(dataset), _tags(datasets, dataset)
        stale = export_job(dataset, expected_parent_version=first.name, tags=["moved", "exported"])
        final = EXPORT.wait(client, EXPORT.create(client, project.name, stale).name)
        failed_with(final, "ABORTED", "PARENT_VERSION_MISMATCH")
        expect.equal(final.output_version, "", "output_version of the failed job")
        after = datasets.dataset(dataset)
        expect.equal(
            (after.head_version, after.version_count),
            (before.head_version, before.version_count),
            "(head_version, version_count) of the destination after the failed export",
        )
        expect.equal(_tags(datasets, dataset), tags, "tags of the destination")
        current = export_job(dataset, expected_parent_version=second.name)
        version, _ = committed(client, run_export(client, project.name, current))
        expect.equal(version.parent_version, second.name, "parent_version of the export")


@CASES.case(CORE, "exports.unchanged-project-same-digest-and-request-ids", "ANN-052", "ANN-040")
def same_digest(ctx: CaseContext) -> None:
    """Two exports with the same fields of a project that did not change commit two versions
    with the same content digest; a create repeated with its request_id returns the first
    job and starts no other, and the request_id with another request is ALREADY_EXISTS
    [REQUEST_ID_CONFLICT]."""
    EXPORT.require(ctx)
    with AnnotationClient(ctx) as client, destination(client) as (dataset, _):
        project = _small_project(client, ctx)
        request = export_job(dataset, source_columns=["text", "n"], description="same")
        one, _ = committed(client, run_export(client, project.name, request))
        two, _ = committed(client, run_export(client, project.name, request))
        expect.holds(one.name != two.name, "two versions", f"{one.name} twice")
        expect.equal(two.content_digest, one.content_digest, "content_digest of the second export")
        key = request_id()
        created = EXPORT.create(client, project.name, request, request_id=key)
        again = expect.succeeds(
            lambda: EXPORT.create(client, project.name, request, request_id=key),
            "the create repeated with its request_id",
        )
        expect.equal(again.name, created.name, "the job the repeated create returns")
        EXPORT.wait(client, created.name)
        expect.equal(len(EXPORT.list(client, project.name)), 3, "export jobs of the project")
        other = export_job(dataset, source_columns=["n"])
        expect.rejects(
            lambda: EXPORT.create(client, project.name, other, request_id=key),
            ALREADY_EXISTS,
            "REQUEST_ID_CONFLICT",
        )


@CASES.case(CORE, "exports.create-refusals-create-no-job", "ANN-051", "ANN-049", "ANN-002")
def refusals(ctx: CaseContext) -> None:
    """An unknown source column is INVALID_ARGUMENT [COLUMN_NOT_FOUND], a source column named
    like an added column FAILED_PRECONDITION [COLUMN_NAME_CONFLICT], a malformed destination
    or tag id INVALID_NAME on its field, an unknown destination NOT_FOUND
    [RESOURCE_NOT_FOUND], TASK_STATE_UNSPECIFIED INVALID_FIELD; none creates a job or
    changes the destination."""
    EXPORT.require(ctx)
    table = pa.table(
        {
            "text": pa.array(["a", "b"], pa.string()),
            "label.animal": pa.array(["x", "y"], pa.string()),
            "annotation.task": pa.array(["t", "u"], pa.string()),
        }
    )
    with (
        AnnotationClient(ctx) as client,
        destination(client) as (dataset, _),
        own_dataset(ctx, table) as (_, clashing),
    ):
        datasets = DatasetClient(ctx)
        before = datasets.dataset(dataset)
        project = _small_project(client, ctx, 1)
        animal = [{"name": "animal", "kind": "LABEL_KIND_CLASSIFICATION", "classes": ["cat"]}]
        clash = client.create_project(clashing, label_specs(animal))
        missing = f"datasets/{unique_id('gone')}"
        unspecified = at.TASK_STATE_UNSPECIFIED
        field = "annotation_export_job"
        rows = [
            (project, export_job(dataset, source_columns=["text", "nope"]), INVALID,
             "COLUMN_NOT_FOUND", None),
            (clash, export_job(dataset, source_columns=["text", "label.animal"]),
             FAILED_PRECONDITION, "COLUMN_NAME_CONFLICT", None),
            (clash, export_job(dataset, source_columns=["annotation.task"]),
             FAILED_PRECONDITION, "COLUMN_NAME_CONFLICT", None),
            (clash, export_job(dataset), FAILED_PRECONDITION, "COLUMN_NAME_CONFLICT", None),
            (project, export_job("not-a-dataset"), INVALID, "INVALID_NAME",
             f"{field}.destination_dataset"),
            (project, export_job(f"{dataset}/versions/x"), INVALID, "INVALID_NAME",
             f"{field}.destination_dataset"),
            (project, export_job(dataset, tags=["ok", "Bad Tag"]), INVALID, "INVALID_NAME",
             f"{field}.tags[1]"),
            (project, export_job(missing), NOT_FOUND, "RESOURCE_NOT_FOUND", None),
            (project, export_job(dataset, task_states=[COMPLETED, unspecified]), INVALID,
             "INVALID_FIELD", None),
        ]  # fmt: skip
        for parent, request, code, reason, violation in rows:
            job_id = unique_id("ex")
            expect.rejects(
                lambda parent=parent, request=request, job_id=job_id: EXPORT.create(
                    client, parent.name, request, job_id
                ),
                code,
                reason,
                field=violation,
            )
            EXPORT.absent(client, f"{parent.name}/exportJobs/{job_id}")
        expect.rejects(
            lambda: EXPORT.create(client, project.name, export_job(dataset), "Bad_Id"),
            INVALID,
            "INVALID_NAME",
            field="annotation_export_job_id",
        )
        gone = f"annotationProjects/{unique_id('gone')}"
        expect.rejects(
            lambda: EXPORT.create(client, gone, export_job(dataset)),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            metadata={"resource_name": gone},
        )
        for parent in (project, clash):
            expect.equal(EXPORT.list(client, parent.name), [], f"export jobs of {parent.name}")
        after = datasets.dataset(dataset)
        expect.equal(
            (after.head_version, after.version_count),
            (before.head_version, before.version_count),
            "(head_version, version_count) of the destination",
        )


def _ns(job: Any) -> int:
    return job.status.create_time.ToNanoseconds()


@CASES.case(CORE, "exports.list-get-watch-and-cancel-finished", "ANN-053", "ANN-002")
def listing(ctx: CaseContext) -> None:
    """ListAnnotationExportJobs returns a project's jobs newest first, in pages, in the order
    order_by asks, and every project's under annotationProjects/-, filtered by status.state,
    destination_dataset, output_version, status.create_time and labels; progress counts the
    selected tasks; Get returns the listed job, Watch of a finished job one message, Cancel of
    it FAILED_PRECONDITION [JOB_ALREADY_FINISHED]."""
    EXPORT.require(ctx)
    with (
        AnnotationClient(ctx) as client,
        destination(client) as (one_dataset, _),
        destination(client) as (other_dataset, _),
    ):
        first, second = _small_project(client, ctx, 2), _small_project(client, ctx, 1)
        run_id = unique_id("run")

        def labelled(dataset: str, which: str) -> Any:
            return export_job(dataset, labels={"run": run_id, "which": which})

        a = run_export(client, first.name, labelled(one_dataset, "a"))
        b = run_export(client, first.name, labelled(other_dataset, "b"))
        c = run_export(client, second.name, labelled(one_dataset, "c"))
        for final, total in ((a, 2), (b, 2), (c, 1)):
            job_lifecycle.check_status(final, final.name)
            check_progress(final, total)

        def newest(*items: Any) -> list[str]:
            return [j.name for j in sorted(items, key=lambda j: (-_ns(j), j.name))]

        expect.equal(EXPORT.names(client, first.name), newest(a, b), "jobs newest first")
        expect.equal(EXPORT.names(client, first.name, page_size=1), newest(a, b), "pages of one")
        expect.equal(
            EXPORT.names(client, first.name, order_by="name"), sorted([a.name, b.name]), "by name"
        )
        expect.equal(
            EXPORT.names(client, first.name, order_by="status.create_time"),
            newest(a, b)[::-1],
            "jobs oldest first",
        )
        mine = f'labels.run = "{run_id}"'
        cut = b.status.create_time.ToJsonString()
        for expression, wanted in (
            (mine, newest(a, b, c)),
            (f"{mine} AND status.state = JOB_STATE_SUCCEEDED", newest(a, b, c)),
            (f"{mine} AND status.state != JOB_STATE_SUCCEEDED", []),
            (f'{mine} AND destination_dataset = "{one_dataset}"', newest(a, c)),
            (f'output_version = "{b.output_version}"', [b.name]),
            (f'{mine} AND labels.which != "a"', newest(b, c)),
            (
                f'{mine} AND status.create_time < "{cut}"',
                newest(*(j for j in (a, b, c) if _ns(j) < _ns(b))),
            ),
        ):
            expect.equal(
                EXPORT.names(client, EVERY, filter=expression),
                wanted,
                f"export jobs of every project with filter {expression!r}",
            )
        expect.equal(EXPORT.get(client, a.name), a, "GetAnnotationExportJob of the finished job")
        expect.equal(EXPORT.watch(client, a.name), [a], "Watch of the finished job")
        expect.rejects(
            lambda: EXPORT.cancel(client, a.name), FAILED_PRECONDITION, "JOB_ALREADY_FINISHED"
        )
        EXPORT.absent(client, f"{first.name}/exportJobs/no-such-job")
        for fields, reason, field in (
            ({"filter": 'inference_model = "x"'}, "INVALID_FILTER", "filter"),
            ({"order_by": "destination_dataset"}, "INVALID_FIELD", "order_by"),
            ({"page_size": -1}, "INVALID_FIELD", "page_size"),
        ):
            request = pb.ListAnnotationExportJobsRequest(parent=first.name, **fields)
            expect.rejects(
                lambda request=request: client.call("ListAnnotationExportJobs", request),
                INVALID,
                reason,
                field=field,
            )
