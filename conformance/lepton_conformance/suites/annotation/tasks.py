"""annotation-core cases of single tasks: creation and its refusals (ANN-013), request_id
retries (ANN-040), the row copy and the views (ANN-014, ANN-020), counts (ANN-027), deletion
(ANN-028) and tasks over other versions of the project's dataset (ANN-054)."""

from __future__ import annotations

import pyarrow as pa

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as task_pb
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import (
    ABORTED,
    ALREADY_EXISTS,
    INVALID,
    NOT_FOUND,
    OUT_OF_RANGE,
    STALE_ETAG,
    gone,
    not_found,
    one,
    standard_project,
    task_summary,
)
from lepton_conformance.suites.annotation.annotation_client import (
    ANNOTATION_STAGE,
    BASIC,
    FULL,
    NEW,
    VALIDATION_STAGE,
    AnnotationClient,
    classification,
    request_id,
)
from lepton_conformance.suites.annotation.annotation_data import (
    ALL_TEXTS,
    TEXTS,
    AnnotationData,
    shared_data,
)
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
Task = task_pb.AnnotationTask


def _create(client: AnnotationClient, parent: str, task: Task, key: str = "") -> Task:
    request = pb.CreateAnnotationTaskRequest(parent=parent, annotation_task=task, request_id=key)
    return client.call("CreateAnnotationTask", request).annotation_task


def row_of(task: Task) -> pa.Table:
    """A task's row: an Arrow IPC stream of one row (ANN-014), or Failed."""
    try:
        return pa.ipc.open_stream(task.row).read_all()
    except (pa.ArrowException, ValueError, OSError) as exc:
        raise Failed(f"the row of {task.name} to be an Arrow IPC stream", str(exc)) from None


def check_row(client: AnnotationClient, task: Task, version: str, index: int) -> None:
    """The task's row equals what ReadVersion returns for the row (ANN-014)."""
    data = shared_data(client.ctx)
    wanted = data.datasets.read_table(version, offset=index, limit=1)
    got = row_of(task)
    expect.equal(got.schema, wanted.schema, f"the schema of the row of {task.name}")
    expect.equal(got.num_rows, 1, f"rows in the row of {task.name}")
    expect.equal(got.to_pylist(), wanted.to_pylist(), f"the row of {task.name}")


@CASES.case(CORE, "tasks.create-names-the-task-after-its-row", "ANN-013", "ANN-020")
def create_task(ctx: CaseContext) -> None:
    """CreateAnnotationTask creates `row-{i}` in state NEW, stage ANNOTATION or the one
    requested, with assignee, labels and zero counts, in the BASIC view."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data)
        task = client.create_task(
            project.name, 3, assignee="ann@example.com", labels={"batch": "b1"}, state=NEW
        )
        expect.equal(task.name, f"{project.name}/tasks/row-3", "the task's name")
        expect.equal(
            (task.row_index, task.stage, task.state, task.assignee, dict(task.labels)),
            (3, ANNOTATION_STAGE, NEW, "ann@example.com", {"batch": "b1"}),
            "(row_index, stage, state, assignee, labels)",
        )
        expect.equal(
            (task.annotation_count, task.prediction_count, task.annotator_count),
            (0, 0, 0),
            "(annotation_count, prediction_count, annotator_count)",
        )
        expect.equal(task.dataset_version, data.first, "dataset_version (the project's)")
        expect.equal(task.row, b"", "the row of the BASIC view CreateAnnotationTask returns")
        expect.holds(bool(task.etag), "an etag", "none")
        staged = client.create_task(project.name, 0, stage=VALIDATION_STAGE)
        expect.equal(
            (staged.name, staged.stage, staged.state),
            (f"{project.name}/tasks/row-0", VALIDATION_STAGE, NEW),
            "(name, stage, state) of a task created in VALIDATION",
        )


@CASES.case(CORE, "tasks.create-refuses-bad-rows-and-states", "ANN-013", "ANN-002")
def create_refusals(ctx: CaseContext) -> None:
    """A negative row_index is INVALID_FIELD, one past the version OFFSET_OUT_OF_RANGE, a
    state other than NEW INVALID_FIELD and a row that has a task RESOURCE_ALREADY_EXISTS;
    none creates a task."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data)
        parent = project.name
        cases = [
            (Task(row_index=-1), INVALID, "INVALID_FIELD", "annotation_task.row_index"),
            (Task(row_index=len(TEXTS)), OUT_OF_RANGE, "OFFSET_OUT_OF_RANGE", None),
            (Task(row_index=1, state=task_pb.TASK_STATE_COMPLETED), INVALID, "INVALID_FIELD",
             "annotation_task.state"),
            (Task(row_index=1, state=task_pb.TASK_STATE_IN_PROGRESS), INVALID, "INVALID_FIELD",
             "annotation_task.state"),
        ]  # fmt: skip
        for task, code, reason, field in cases:
            expect.rejects(
                lambda task=task: _create(client, parent, task), code, reason, field=field
            )
        expect.equal(client.tasks(parent), [], "the tasks after the refusals")
        first = client.create_task(parent, 2)
        expect.rejects(
            lambda: _create(client, parent, Task(row_index=2, assignee="other")),
            ALREADY_EXISTS,
            "RESOURCE_ALREADY_EXISTS",
        )
        expect.equal(client.task(first.name, BASIC), first, "the task after a repeated create")
        not_found(
            lambda: _create(client, f"{parent}-missing", Task(row_index=0)), f"{parent}-missing"
        )


@CASES.case(CORE, "tasks.request-id-retry-returns-the-first-task", "ANN-040", "ANN-013")
def task_request_id(ctx: CaseContext) -> None:
    """A retry of CreateAnnotationTask with the same request_id returns the first task
    instead of ALREADY_EXISTS; the same request_id with another request is
    REQUEST_ID_CONFLICT."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data)
        key = request_id()
        task = Task(row_index=4, assignee="a@example.com")
        first = _create(client, project.name, task, key)
        again = expect.succeeds(lambda: _create(client, project.name, task, key), "the retry")
        expect.equal(again, first, "the task the retry returns")
        other = Task(row_index=5, assignee="a@example.com")
        expect.rejects(
            lambda: _create(client, project.name, other, key), ALREADY_EXISTS, "REQUEST_ID_CONFLICT"
        )
        expect.equal([t.name for t in client.tasks(project.name)], [first.name], "the tasks")


@CASES.case(CORE, "tasks.full-view-holds-the-row-read-version-returns", "ANN-014", "ANN-020")
def task_rows(ctx: CaseContext) -> None:
    """GetAnnotationTask returns the FULL view whose row equals ReadVersion's row at the
    task's index (every column, the binary image included); BASIC leaves it empty;
    ListAnnotationTasks is BASIC unless FULL is asked for."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data)
        tasks = client.create_tasks(project.name, len(TEXTS))
        for task in tasks:
            full = client.task(task.name)
            check_row(client, full, data.first, task.row_index)
            expect.equal(client.task(task.name, FULL).row, full.row, "the row of view FULL")
            expect.equal(client.task(task.name, BASIC).row, b"", "the row of view BASIC")
        listed = client.tasks(project.name)
        expect.equal([t.row for t in listed], [b""] * len(tasks), "rows of a default listing")
        full_list = client.tasks(project.name, view=FULL)
        for task in full_list:
            check_row(client, task, data.first, task.row_index)


@CASES.case(CORE, "tasks.counts-follow-annotations-and-predictions", "ANN-027", "ANN-057")
def task_counts(ctx: CaseContext) -> None:
    """annotation_count (skipped annotations included), prediction_count and
    prediction_score (the highest score, unset without predictions) are current in Get and
    List."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data)
        task = client.create_task(project.name, 0)
        expect.holds(
            not task.HasField("prediction_score"), "no prediction_score", str(task.prediction_score)
        )
        first = client.annotate(task.name, [classification("animal", "cat")])
        client.annotate(task.name, skipped=True)
        low = client.predict(task.name, [classification("animal", "dog")], score=0.25)
        client.predict(task.name, [classification("animal", "bird")], score=0.75)
        got = client.task(task.name)
        expect.equal(
            (got.annotation_count, got.prediction_count, got.prediction_score),
            (2, 2, 0.75),
            "(annotation_count, prediction_count, prediction_score)",
        )
        client.ok("DeleteAnnotation", pb.DeleteAnnotationRequest(name=first.name))
        client.ok("DeletePrediction", pb.DeletePredictionRequest(name=low.name))
        listed = one(client.tasks(project.name), "tasks")
        expect.equal(
            (listed.annotation_count, listed.prediction_count, listed.prediction_score),
            (1, 1, 0.75),
            "counts in ListAnnotationTasks after deletes",
        )


@CASES.case(CORE, "tasks.delete-takes-annotations-and-predictions", "ANN-028")
def delete_task(ctx: CaseContext) -> None:
    """DeleteAnnotationTask with a stale etag is ABORTED; otherwise the task, its annotations
    and predictions are NOT_FOUND and the row can get a new task."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data)
        task = client.create_task(project.name, 1)
        annotation = client.annotate(task.name, [classification("animal", "cat")])
        prediction = client.predict(task.name, [classification("animal", "dog")])
        expect.rejects(
            lambda: client.call(
                "DeleteAnnotationTask",
                pb.DeleteAnnotationTaskRequest(name=task.name, etag=STALE_ETAG),
            ),
            ABORTED,
            "ETAG_MISMATCH",
        )
        current = client.task(task.name)
        client.ok(
            "DeleteAnnotationTask",
            pb.DeleteAnnotationTaskRequest(name=task.name, etag=current.etag),
        )
        for name in (task.name, annotation.name, prediction.name):
            gone(client, name)
        again = client.create_task(project.name, 1)
        expect.equal(
            (again.name, again.annotation_count, again.prediction_count),
            (task.name, 0, 0),
            "the row's new task",
        )
        expect.equal(client.annotations(again.name), [], "annotations of the new task")


@CASES.case(CORE, "tasks.other-versions-grow-the-project", "ANN-054", "ANN-014", "ANN-013")
def growth(ctx: CaseContext) -> None:
    """A task over a later version (by name or tag) is `{version}-row-{i}`, reports that
    version, copies its row and is bounded by its row_count; the project's own version gives
    `row-{i}`; existing tasks keep their names, rows and counts."""
    data = shared_data(ctx)
    with AnnotationClient(ctx) as client:
        project = standard_project(client, data)
        old = client.create_task(project.name, 2)
        client.annotate(old.name, [classification("animal", "cat")])
        before = client.task(old.name)
        appended = len(ALL_TEXTS) - 1
        grown = client.create_task(project.name, appended, dataset_version=data.second)
        expect.equal(
            (grown.name, grown.dataset_version, grown.row_index),
            (f"{project.name}/tasks/{data.second_id}-row-{appended}", data.second, appended),
            "(name, dataset_version, row_index) of a task of the second version",
        )
        check_row(client, client.task(grown.name), data.second, appended)
        by_tag = client.create_task(project.name, 0, dataset_version=data.second_tag)
        expect.equal(
            (by_tag.name, by_tag.dataset_version),
            (f"{project.name}/tasks/{data.second_id}-row-0", data.second),
            "(name, dataset_version) of a task named by tag",
        )
        own = client.create_task(project.name, 3, dataset_version=data.first_tag)
        expect.equal(
            (own.name, own.dataset_version),
            (f"{project.name}/tasks/row-3", data.first),
            "(name, dataset_version) of a task of the project's own version named by tag",
        )
        after = client.task(old.name)
        expect.equal(task_summary(after), task_summary(before), "the earlier task")
        expect.equal(after.row, before.row, "the earlier task's row")
        expect.equal(client.project(project.name).task_counts.total_count, 4, "total_count")
        _growth_refusals(client, project.name, data)


def _growth_refusals(client: AnnotationClient, parent: str, data: AnnotationData) -> None:
    second, first, other, dataset = data.second, data.first, data.other, data.dataset
    refusals = [
        (Task(row_index=len(ALL_TEXTS), dataset_version=second), OUT_OF_RANGE,
         "OFFSET_OUT_OF_RANGE", None),
        (Task(row_index=len(TEXTS), dataset_version=first), OUT_OF_RANGE,
         "OFFSET_OUT_OF_RANGE", None),
        (Task(row_index=0, dataset_version=other), INVALID, "INVALID_FIELD",
         "annotation_task.dataset_version"),
        (Task(row_index=0, dataset_version=f"{dataset}/versions/conf-missing"), NOT_FOUND,
         "RESOURCE_NOT_FOUND", None),
    ]  # fmt: skip
    for task, code, reason, field in refusals:
        expect.rejects(lambda task=task: _create(client, parent, task), code, reason, field=field)
    expect.equal(len(client.tasks(parent)), 4, "tasks after the refused creations")
