"""Annotation tasks (spec/annotation.md §3.3, ANN-013 to ANN-028, ANN-054, ANN-055, ANN-057):
one per row of a version, with a copy of the row and the image geometry, created one at a time
or in batches (streamed, resumable), listed with the task filters, moved along the lifecycle."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as at
from lepton.data.v1 import dataset_pb2
from lepton_server.aip import request_ids
from lepton_server.aip.filtering.compile import compile_filter
from lepton_server.aip.filtering.fields import COMPARISONS, EQUALITY, FieldType, FilterField
from lepton_server.aip.labels import check_labels
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.aip.resource_names import parse
from lepton_server.aip.standard_fields import (
    check_etag,
    check_text,
    new_etag,
    not_found,
    now_ns,
    timestamp,
)
from lepton_server.annotation.annotation_store import AnnotationStore, TaskFacts
from lepton_server.annotation.dataset_rows import DatasetRows, arrow_schema, dataset_of, row_stream
from lepton_server.annotation.image_geometry import check_geometry, image_columns, read_geometry
from lepton_server.annotation.projects import Projects
from lepton_server.annotation.resource_checks import message_fields
from lepton_server.annotation.task_states import NEW, check_transition
from lepton_server.runtime.errors import AlreadyExists, OutOfRange, invalid_field

MAX_ASSIGNEE = 256
MAX_LISTED_ROWS = 100000
BATCH_ROWS = 1000
MUTABLE_FIELDS = ("stage", "state", "assignee", "labels", "image_geometry")
TASK_FILTER = (
    FilterField.for_enum("state", at.TaskState.keys()),
    FilterField.for_enum("stage", at.TaskStage.keys()),
    FilterField("assignee", FieldType.STRING, EQUALITY),
    FilterField("row_index", FieldType.INTEGER, COMPARISONS),
    FilterField("annotation_count", FieldType.INTEGER, COMPARISONS),
    FilterField("annotator_count", FieldType.INTEGER, COMPARISONS),
    FilterField("prediction_count", FieldType.INTEGER, COMPARISONS),
    FilterField("dataset_version", FieldType.RESOURCE_NAME, EQUALITY),
    FilterField("labels", FieldType.LABEL, EQUALITY),
)
# Row indexes repeat across versions, so the name breaks the remaining ties.
TASKS = Listing(TASK_FILTER, ("row_index", "create_time", "update_time"), "row_index", "name", 100)


def task_name(name: str, field: str = "name") -> str:
    parse(name, ("annotationProjects", "tasks"), field)
    return name


def project_of(task: str) -> str:
    return task.split("/tasks/", 1)[0]


def render(task: at.AnnotationTask, facts: TaskFacts, row: bytes = b"") -> at.AnnotationTask:
    """The task as responses carry it: its counts, score and leases current (ANN-057)."""
    shown = at.AnnotationTask()
    shown.CopyFrom(task)
    shown.annotation_count = facts.annotation_count
    shown.annotator_count = facts.annotator_count
    shown.prediction_count = facts.prediction_count
    if facts.prediction_score is not None:
        shown.prediction_score = facts.prediction_score
    for holder, expire in facts.leases:
        shown.leases.add(holder=holder, expire_time=timestamp(expire))
    shown.row = row
    return shown


class Tasks:
    """Tasks in the store, with the rows they copy from the data layer."""

    def __init__(
        self, store: AnnotationStore, projects: Projects, rows: DatasetRows, tokens: PageTokens
    ) -> None:
        self.store = store
        self.projects = projects
        self.rows = rows
        self.tokens = tokens

    def stored(self, name: str, field: str = "name") -> at.AnnotationTask:
        task = self.store.task(task_name(name, field))
        if task is None:
            raise not_found(name)
        return task

    def get(self, name: str, view: int = at.ANNOTATION_TASK_VIEW_FULL) -> at.AnnotationTask:
        task = self.stored(name)
        row = self.store.task_row(name) if view != at.ANNOTATION_TASK_VIEW_BASIC else b""
        return render(task, self.store.facts_of(name, now_ns()), row)

    def basic(self, name: str) -> at.AnnotationTask:
        return self.get(name, at.ANNOTATION_TASK_VIEW_BASIC)

    # --- creation ----------------------------------------------------------------------------

    def _version(
        self, project: ap.AnnotationProject, reference: str, field: str
    ) -> dataset_pb2.DatasetVersion:
        """The version a task's row comes from: the project's, or another of its dataset."""
        version = self.rows.version(reference or project.dataset_version, field)
        if dataset_of(version.name) != dataset_of(project.dataset_version):
            raise invalid_field(field, f"{version.name} is not a version of the project's dataset")
        return version

    def _new_task(
        self,
        project: ap.AnnotationProject,
        *,
        version: str,
        row_index: int,
        template: at.AnnotationTask,
        row: pa.Table,
        images: list[str],
    ) -> tuple[at.AnnotationTask, bytes]:
        prefix = "row" if version == project.dataset_version else f"{version.rsplit('/', 1)[1]}-row"
        now = now_ns()
        task = at.AnnotationTask(
            name=f"{project.name}/tasks/{prefix}-{row_index}",
            row_index=row_index,
            stage=template.stage or at.TASK_STAGE_ANNOTATION,
            state=NEW,
            assignee=template.assignee,
            labels=template.labels,
            create_time=timestamp(now),
            update_time=timestamp(now),
            etag=new_etag(),
            dataset_version=version,
        )
        if template.HasField("image_geometry"):
            task.image_geometry.CopyFrom(template.image_geometry)
        else:
            for column in images:
                geometry = read_geometry(row.column(column)[0].as_py())
                if geometry is not None:
                    task.image_geometry.CopyFrom(geometry)
                    break
        return task, row_stream(row)

    def create(self, request: pb.CreateAnnotationTaskRequest) -> at.AnnotationTask:
        parent = request.parent
        request_ids.check_request_id(request.request_id)
        project = self.projects.stored(parent, "parent")
        replay = request_ids.replayed(self.store, "CreateAnnotationTask", parent, request)
        if replay is not None:
            return self.basic(replay)
        given = request.annotation_task
        _check_template(given, "annotation_task")
        if given.row_index < 0:
            raise invalid_field("annotation_task.row_index", "must be at least 0")
        version = self._version(project, given.dataset_version, "annotation_task.dataset_version")
        if given.row_index >= version.row_count:
            raise _out_of_range(given.row_index, version)
        row = self.rows.rows(version.name, given.row_index, 1)
        images = image_columns(list(project.label_specs), arrow_schema(version))
        task, copy = self._new_task(
            project,
            version=version.name,
            row_index=given.row_index,
            template=given,
            row=row,
            images=images,
        )
        with self.store.atomic():
            self.projects.stored(parent, "parent")
            if self.store.task(task.name) is not None:
                raise AlreadyExists(
                    reason="RESOURCE_ALREADY_EXISTS",
                    message=f"{task.name} already exists",
                    metadata={"resource_name": task.name},
                )
            self.store.insert_task(parent, task, copy)
            request_ids.remember(self.store, "CreateAnnotationTask", parent, request, task.name)
        return self.basic(task.name)

    def batch_create(
        self, request: pb.BatchCreateAnnotationTasksRequest
    ) -> Iterator[pb.BatchCreateAnnotationTasksResponse]:
        """The progress messages of ANN-015 to ANN-019; everything is checked before the first
        task is created."""
        project = self.projects.stored(request.parent, "parent")
        check_text(request.assignee, "assignee", MAX_ASSIGNEE)
        check_labels(request.labels, "labels")
        version = self._version(project, request.dataset_version, "dataset_version")
        selected = _selected_rows(request, version)
        template = at.AnnotationTask(assignee=request.assignee, labels=request.labels)
        images = image_columns(list(project.label_specs), arrow_schema(version))
        response = pb.BatchCreateAnnotationTasksResponse(total_row_count=len(selected))
        for start in range(0, len(selected), BATCH_ROWS):
            chunk = selected[start : start + BATCH_ROWS]
            missing = [
                i for i in chunk if not self.store.task_exists(project.name, version.name, i)
            ]
            created = []
            for run in _runs(missing):
                table = self.rows.rows(version.name, run[0], len(run))
                for offset, row_index in enumerate(run):
                    task, copy = self._new_task(
                        project,
                        version=version.name,
                        row_index=row_index,
                        template=template,
                        row=table.slice(offset, 1),
                        images=images,
                    )
                    created.append((task, copy))
            with self.store.atomic():
                self.projects.stored(request.parent, "parent")
                for task, copy in created:
                    if not self.store.task_exists(project.name, version.name, task.row_index):
                        self.store.insert_task(project.name, task, copy)
                        response.created_tasks.append(render(task, TaskFacts()))
                        response.created_count += 1
            response.processed_row_count += len(chunk)
            response.existing_count = response.processed_row_count - response.created_count
            yield response
            response = pb.BatchCreateAnnotationTasksResponse(
                total_row_count=response.total_row_count,
                processed_row_count=response.processed_row_count,
                created_count=response.created_count,
                existing_count=response.existing_count,
            )
        if not selected:
            yield response

    # --- reading -----------------------------------------------------------------------------

    def list(self, request: pb.ListAnnotationTasksRequest) -> tuple[list[at.AnnotationTask], str]:
        project = self.projects.stored(request.parent, "parent")
        full = request.view == at.ANNOTATION_TASK_VIEW_FULL

        def items() -> list[at.AnnotationTask]:
            facts = self.store.task_facts(project.name, now_ns())
            return [
                render(t, facts.get(t.name, TaskFacts())) for t in self.store.tasks(project.name)
            ]

        page, token = TASKS.page(
            self.tokens, request, items, message_fields, f"{project.name}/tasks"
        )
        if full:
            for task in page:
                task.row = self.store.task_row(task.name)
        return page, token

    def matching(self, project: str, task_filter: str, field: str) -> list[at.AnnotationTask]:
        """Every task of `project` that `task_filter` selects, in row order."""
        matches = compile_filter(task_filter, TASK_FILTER, field)
        if not task_filter.strip():
            return self.store.tasks(project)
        facts = self.store.task_facts(project, now_ns())
        rendered = [render(t, facts.get(t.name, TaskFacts())) for t in self.store.tasks(project)]
        return [t for t in rendered if matches.matches(message_fields(t))]

    # --- changes -----------------------------------------------------------------------------

    def update(self, request: pb.UpdateAnnotationTaskRequest) -> at.AnnotationTask:
        given = request.annotation_task
        name = task_name(given.name, "annotation_task.name")
        paths = _paths(list(request.update_mask.paths), given)
        if "assignee" in paths:
            check_text(given.assignee, "annotation_task.assignee", MAX_ASSIGNEE)
        if "labels" in paths:
            check_labels(given.labels, "annotation_task.labels")
        if "image_geometry" in paths and given.HasField("image_geometry"):
            check_geometry(given.image_geometry, "annotation_task.image_geometry")
        if "state" in paths and given.state == at.TASK_STATE_UNSPECIFIED:
            raise invalid_field("annotation_task.state", "a task state is required")
        if "stage" in paths and given.stage == at.TASK_STAGE_UNSPECIFIED:
            raise invalid_field("annotation_task.stage", "a task stage is required")
        with self.store.atomic():
            task = self.stored(name, "annotation_task.name")
            check_etag(given.etag, task.etag)
            count = self.store.facts_of(name, now_ns()).annotation_count
            before = task.SerializeToString(deterministic=True)
            if "stage" in paths and given.stage != task.stage:
                task.stage, task.state = given.stage, NEW
            if "state" in paths:
                check_transition(task.state, given.state, count)
                task.state = given.state
            if "assignee" in paths:
                task.assignee = given.assignee
            if "labels" in paths:
                task.labels.clear()
                task.labels.update(given.labels)
            if "image_geometry" in paths:
                task.ClearField("image_geometry")
                if given.HasField("image_geometry"):
                    task.image_geometry.CopyFrom(given.image_geometry)
            if task.SerializeToString(deterministic=True) != before:
                touch(task)
                self.store.put_task(task)
        return self.basic(name)

    def delete(self, request: pb.DeleteAnnotationTaskRequest) -> None:
        with self.store.atomic():
            task = self.stored(request.name)
            check_etag(request.etag, task.etag)
            self.store.delete_task(task.name)
            self.store.forget_requests(task.name)


def touch(task: at.AnnotationTask) -> None:
    task.update_time.CopyFrom(timestamp(now_ns()))
    task.etag = new_etag()


def _check_template(given: at.AnnotationTask, prefix: str) -> None:
    check_text(given.assignee, f"{prefix}.assignee", MAX_ASSIGNEE)
    check_labels(given.labels, f"{prefix}.labels")
    if given.state not in (at.TASK_STATE_UNSPECIFIED, NEW):
        raise invalid_field(f"{prefix}.state", "a task starts NEW")
    if given.stage not in at.TaskStage.values():
        raise invalid_field(f"{prefix}.stage", "unknown stage")
    if given.HasField("image_geometry"):
        check_geometry(given.image_geometry, f"{prefix}.image_geometry")


def _paths(mask: list[str], given: at.AnnotationTask) -> list[str]:
    if mask == ["*"]:
        return list(MUTABLE_FIELDS)
    if not mask:
        present = {
            "stage": given.stage != at.TASK_STAGE_UNSPECIFIED,
            "state": given.state != at.TASK_STATE_UNSPECIFIED,
            "assignee": bool(given.assignee),
            "labels": bool(given.labels),
            "image_geometry": given.HasField("image_geometry"),
        }
        return [path for path in MUTABLE_FIELDS if present[path]]
    for path in mask:
        if path not in MUTABLE_FIELDS:
            raise invalid_field(
                "update_mask", f"{path!r} is not one of {', '.join(MUTABLE_FIELDS)}"
            )
    return mask


def _out_of_range(row_index: int, version: dataset_pb2.DatasetVersion) -> OutOfRange:
    return OutOfRange(
        reason="OFFSET_OUT_OF_RANGE",
        message=f"row {row_index} is past the end of {version.name} ({version.row_count} rows)",
        metadata={"row_count": str(version.row_count)},
    )


def _selected_rows(
    request: pb.BatchCreateAnnotationTasksRequest, version: dataset_pb2.DatasetVersion
) -> list[int]:
    which = request.WhichOneof("rows")
    if which == "row_index_list":
        indices = list(request.row_index_list.row_indices)
        if not 1 <= len(indices) <= MAX_LISTED_ROWS:
            raise invalid_field("row_index_list.row_indices", "list 1 to 100000 rows")
        for i, index in enumerate(indices):
            if index < 0:
                raise invalid_field(f"row_index_list.row_indices[{i}]", "must be at least 0")
        for index in indices:
            if index >= version.row_count:
                raise _out_of_range(index, version)
        return sorted(set(indices))
    offset, limit = (request.row_range.offset, request.row_range.limit) if which else (0, 0)
    if offset < 0:
        raise invalid_field("row_range.offset", "must be at least 0")
    if limit < 0:
        raise invalid_field("row_range.limit", "must be at least 0")
    if offset > version.row_count:
        raise _out_of_range(offset, version)
    end = version.row_count if limit == 0 else min(version.row_count, offset + limit)
    return list(range(offset, end))


def _runs(indices: list[int]) -> list[list[int]]:
    """Ascending indexes grouped into runs of consecutive values, one read each."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][-1] + 1 == index:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs
