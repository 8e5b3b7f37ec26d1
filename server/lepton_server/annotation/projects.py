"""Annotation projects (spec/annotation.md §3.2, ANN-003 to ANN-012, ANN-056): created over a
resolved dataset version with a checked label schema, listed by name, updated by field mask
and etag (the schema only by extension), deleted with everything in them."""

from __future__ import annotations

from collections.abc import Callable

from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as at
from lepton_server.aip import request_ids
from lepton_server.aip.filtering.fields import EQUALITY, FieldType, FilterField
from lepton_server.aip.labels import check_labels
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.aip.resource_names import check_id, parse
from lepton_server.aip.standard_fields import (
    MAX_DESCRIPTION,
    MAX_DISPLAY_NAME,
    check_etag,
    check_text,
    new_etag,
    not_found,
    now_ns,
    timestamp,
)
from lepton_server.annotation.annotation_store import AnnotationStore
from lepton_server.annotation.dataset_rows import DatasetRows, arrow_schema
from lepton_server.annotation.label_schemas import check_extension, check_label_specs
from lepton_server.annotation.resource_checks import message_fields
from lepton_server.runtime.errors import AlreadyExists, FailedPrecondition, invalid_field

MAX_INSTRUCTIONS = 65536
MAX_REQUIRED_ANNOTATIONS = 100
MUTABLE_FIELDS = (
    "display_name",
    "description",
    "instructions",
    "labels",
    "label_specs",
    "required_annotation_count",
)
PROJECTS = Listing(
    (
        FilterField("dataset_version", FieldType.RESOURCE_NAME, frozenset({"="})),
        FilterField("labels", FieldType.LABEL, EQUALITY),
        FilterField(
            "create_time", FieldType.TIMESTAMP, frozenset({"=", "!=", "<", "<=", ">", ">="})
        ),
    ),
    ("name",),
    "name",
    "name",
)


def project_name(name: str, field: str = "name") -> str:
    parse(name, ("annotationProjects",), field)
    return name


def required_count(project: ap.AnnotationProject) -> int:
    return project.required_annotation_count or 1


class Projects:
    """Projects in the store, with the dataset versions they label."""

    def __init__(self, store: AnnotationStore, rows: DatasetRows, tokens: PageTokens) -> None:
        self.store = store
        self.rows = rows
        self.tokens = tokens
        # Whether a job of the project is not terminal, and what to drop with a project: set
        # by services.py when the server runs prediction jobs.
        self.in_use: Callable[[str], bool] = lambda name: False
        self.on_delete: Callable[[str], None] = lambda name: None

    def stored(self, name: str, field: str = "name") -> ap.AnnotationProject:
        """The stored project (no task counts); NOT_FOUND when absent."""
        project = self.store.project(project_name(name, field))
        if project is None:
            raise not_found(name)
        return project

    def with_counts(self, project: ap.AnnotationProject) -> ap.AnnotationProject:
        counts = self.store.state_counts(project.name)
        shown = ap.AnnotationProject()
        shown.CopyFrom(project)
        shown.required_annotation_count = required_count(project)
        shown.task_counts.CopyFrom(
            ap.TaskCounts(
                total_count=sum(counts.values()),
                new_count=counts.get(at.TASK_STATE_NEW, 0),
                in_progress_count=counts.get(at.TASK_STATE_IN_PROGRESS, 0),
                completed_count=counts.get(at.TASK_STATE_COMPLETED, 0),
                rejected_count=counts.get(at.TASK_STATE_REJECTED, 0),
            )
        )
        return shown

    def get(self, name: str) -> ap.AnnotationProject:
        return self.with_counts(self.stored(name))

    def create(self, request: pb.CreateAnnotationProjectRequest) -> ap.AnnotationProject:
        request_ids.check_request_id(request.request_id)
        replay = request_ids.replayed(self.store, "CreateAnnotationProject", "", request)
        if replay is not None:
            return self.get(replay)
        project_id = check_id(request.annotation_project_id, "annotation_project_id", "project id")
        given = request.annotation_project
        _check_fields(given, "annotation_project")
        if not given.dataset_version:
            raise invalid_field("annotation_project.dataset_version", "a project needs a version")
        version = self.rows.version(given.dataset_version, "annotation_project.dataset_version")
        check_label_specs(
            given.label_specs, arrow_schema(version), "annotation_project.label_specs"
        )
        name = f"annotationProjects/{project_id}"
        now = now_ns()
        project = ap.AnnotationProject(
            name=name,
            display_name=given.display_name,
            description=given.description,
            dataset_version=version.name,
            label_specs=given.label_specs,
            instructions=given.instructions,
            labels=given.labels,
            create_time=timestamp(now),
            update_time=timestamp(now),
            etag=new_etag(),
            required_annotation_count=given.required_annotation_count,
        )
        with self.store.atomic():
            if self.store.project(name) is not None:
                raise AlreadyExists(
                    reason="RESOURCE_ALREADY_EXISTS",
                    message=f"{name} already exists",
                    metadata={"resource_name": name},
                )
            self.store.put_project(project)
            request_ids.remember(self.store, "CreateAnnotationProject", "", request, name)
        return self.get(name)

    def list(self, request: pb.ListAnnotationProjectsRequest) -> tuple[list, str]:
        page, token = PROJECTS.page(
            self.tokens, request, self.store.projects, message_fields, "annotationProjects"
        )
        return [self.with_counts(project) for project in page], token

    def update(self, request: pb.UpdateAnnotationProjectRequest) -> ap.AnnotationProject:
        given = request.annotation_project
        name = project_name(given.name, "annotation_project.name")
        paths = _paths(request.update_mask.paths, given)
        _check_fields(given, "annotation_project", paths)
        with self.store.atomic():
            project = self.stored(name, "annotation_project.name")
            check_etag(given.etag, project.etag)
            if "label_specs" in paths:
                check_extension(project.label_specs, given.label_specs)
                version = self.rows.version(project.dataset_version, "dataset_version")
                check_label_specs(
                    given.label_specs, arrow_schema(version), "annotation_project.label_specs"
                )
            before = project.SerializeToString(deterministic=True)
            for path in paths:
                if path in ("labels", "label_specs"):
                    project.ClearField(path)
                    getattr(project, path).MergeFrom(getattr(given, path))
                else:
                    setattr(project, path, getattr(given, path))
            if project.SerializeToString(deterministic=True) != before:
                project.update_time.CopyFrom(timestamp(now_ns()))
                project.etag = new_etag()
                self.store.put_project(project)
        return self.get(name)

    def delete(self, request: pb.DeleteAnnotationProjectRequest) -> None:
        with self.store.atomic():
            project = self.stored(request.name)
            check_etag(request.etag, project.etag)
            if not request.force and self.store.state_counts(project.name):
                raise FailedPrecondition(
                    reason="PROJECT_NOT_EMPTY",
                    message=f"{project.name} has tasks; delete it with force",
                    metadata={"resource_name": project.name},
                )
            if self.in_use(project.name):
                raise FailedPrecondition(
                    reason="PROJECT_IN_USE",
                    message=f"a job of {project.name} is still running",
                    metadata={"resource_name": project.name},
                )
            self.store.delete_project(project.name)
            self.store.forget_requests(project.name)
            self.on_delete(project.name)


def _paths(mask: list[str], given: ap.AnnotationProject) -> list[str]:
    if list(mask) == ["*"]:
        return list(MUTABLE_FIELDS)
    if not mask:
        return [p for p in MUTABLE_FIELDS if _is_set(given, p)]
    for path in mask:
        if path not in MUTABLE_FIELDS:
            raise invalid_field(
                "update_mask", f"{path!r} is not one of {', '.join(MUTABLE_FIELDS)}"
            )
    return list(mask)


def _is_set(given: ap.AnnotationProject, path: str) -> bool:
    value = getattr(given, path)
    return bool(len(value)) if path in ("labels", "label_specs") else bool(value)


def _check_fields(given: ap.AnnotationProject, prefix: str, paths: list[str] | None = None) -> None:
    def checked(path: str) -> bool:
        return paths is None or path in paths

    if checked("display_name"):
        check_text(given.display_name, f"{prefix}.display_name", MAX_DISPLAY_NAME)
    if checked("description"):
        check_text(given.description, f"{prefix}.description", MAX_DESCRIPTION)
    if checked("instructions"):
        check_text(given.instructions, f"{prefix}.instructions", MAX_INSTRUCTIONS)
    if checked("labels"):
        check_labels(given.labels, f"{prefix}.labels")
    if checked("required_annotation_count") and not (
        0 <= given.required_annotation_count <= MAX_REQUIRED_ANNOTATIONS
    ):
        raise invalid_field(f"{prefix}.required_annotation_count", "must be from 0 to 100")
