"""ImportAnnotations (spec/annotation.md, "Imports", ANN-069 to ANN-072): a Label Studio JSON
export or a COCO file read into a project, all or nothing. Items of the file find their row by
a task name the file carries or by a column's value; matched rows without a task get one.
Annotations are the importer's (creator) and keep who made them (external_author)."""

from __future__ import annotations

import posixpath

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton_server.aip.standard_fields import new_etag, now_ns, timestamp
from lepton_server.annotation.annotation_store import AnnotationStore
from lepton_server.annotation.annotations import Annotations, check_prediction_scores
from lepton_server.annotation.dataset_rows import DatasetRows, arrow_schema
from lepton_server.annotation.interchange_formats import ImportItem, read_coco, read_label_studio
from lepton_server.annotation.label_results import check_results, mismatch, row_text
from lepton_server.annotation.resource_checks import new_id
from lepton_server.annotation.tasks import Tasks
from lepton_server.runtime.errors import FieldViolation, InvalidArgument, invalid_field
from lepton_server.runtime.principals import current_principal

LABEL_STUDIO = pb.ANNOTATION_IMPORT_FORMAT_LABEL_STUDIO_JSON
COCO = pb.ANNOTATION_IMPORT_FORMAT_COCO_JSON
SHOWN_UNMATCHED = 100


class AnnotationImports:
    """Files of other tools read into the store's projects."""

    def __init__(
        self, store: AnnotationStore, *, tasks: Tasks, annotations: Annotations, rows: DatasetRows
    ) -> None:
        self.store = store
        self.tasks = tasks
        self.annotations = annotations
        self.rows = rows

    def run(self, request: pb.ImportAnnotationsRequest) -> pb.ImportAnnotationsResponse:
        project = self.tasks.projects.stored(request.parent, "parent")
        items = self._read(request, project)
        response = pb.ImportAnnotationsResponse()
        names, created = self._match(request, project, items, response)
        try:
            with self.store.atomic():
                for item in items:
                    task = names.get(item.path)
                    if task is not None:
                        self._store(project, task, item, response)
        except BaseException:
            # All or nothing: the tasks made for this import go too.
            for name in created:
                self.store.delete_task(name)
            raise
        response.created_task_count = len(created)
        return response

    def _read(
        self, request: pb.ImportAnnotationsRequest, project: ap.AnnotationProject
    ) -> list[ImportItem]:
        if not request.content:
            raise invalid_field("content", "the file is empty")
        if request.format == LABEL_STUDIO:
            key = request.match_key or request.match_column
            return read_label_studio(
                request.content, project.label_specs, key, request.inference_model
            )
        if request.format != COCO:
            raise invalid_field("format", "LABEL_STUDIO_JSON or COCO_JSON")
        if not request.match_column:
            raise invalid_field("match_column", "a COCO import matches images by a column")
        spec = next((s for s in project.label_specs if s.name == request.label), None)
        if spec is None or spec.kind not in (ap.LABEL_KIND_BOUNDING_BOX, ap.LABEL_KIND_POLYGON):
            raise mismatch("label", "name a BOUNDING_BOX or POLYGON label of the project")
        return read_coco(request.content, spec, request.as_predictions, request.inference_model)

    def _match(
        self,
        request: pb.ImportAnnotationsRequest,
        project: ap.AnnotationProject,
        items: list[ImportItem],
        response: pb.ImportAnnotationsResponse,
    ) -> tuple[dict[str, str], list[str]]:
        """Item path -> task name, and the tasks created for matched rows."""
        existing = {t.name: t for t in self.store.tasks(project.name)}
        by_row = {
            t.row_index: t.name
            for t in existing.values()
            if t.dataset_version == project.dataset_version
        }
        rows: dict[str, int] = {}
        if request.match_column:
            version = self.rows.version(project.dataset_version, "dataset_version")
            if arrow_schema(version).get_field_index(request.match_column) < 0:
                raise InvalidArgument(
                    reason="COLUMN_NOT_FOUND",
                    message=f"the version has no column {request.match_column!r}",
                    metadata={"column": request.match_column},
                    violations=[FieldViolation("match_column", "no such column")],
                )
            values = self.rows.column(project.dataset_version, request.match_column)
            for index, value in enumerate(values):
                if value is not None:
                    rows.setdefault(str(value), index)
                    rows.setdefault(posixpath.basename(str(value)), index)
        found: dict[str, int | str] = {}
        for item in items:
            if item.task and item.task in existing:
                found[item.path] = item.task
            elif item.key is not None and (
                item.key in rows or posixpath.basename(item.key) in rows
            ):
                found[item.path] = rows.get(item.key, rows.get(posixpath.basename(item.key)))
            else:
                response.unmatched_count += 1
                if len(response.unmatched) < SHOWN_UNMATCHED:
                    response.unmatched.append(item.task or item.key or item.path)
        missing = sorted({r for r in found.values() if isinstance(r, int) and r not in by_row})
        created: list[str] = []
        if missing:
            batch = pb.BatchCreateAnnotationTasksRequest(
                parent=project.name, row_index_list=pb.RowIndexList(row_indices=missing)
            )
            for progress in self.tasks.batch_create(batch):
                for task in progress.created_tasks:
                    created.append(task.name)
                    by_row[task.row_index] = task.name
        names = {
            path: (target if isinstance(target, str) else by_row[target])
            for path, target in found.items()
        }
        return names, created

    def _store(
        self,
        project: ap.AnnotationProject,
        task: str,
        item: ImportItem,
        response: pb.ImportAnnotationsResponse,
    ) -> None:
        row = self.store.task_row(task)

        def text_of(column: str) -> str | None:
            return row_text(row, column)

        for j, given in enumerate(item.annotations):
            path = f"{item.path}.annotations[{j}].result"
            check_results(given.results, project.label_specs, path, text_of)
            now = now_ns()
            annotation = an.Annotation()
            annotation.CopyFrom(given)
            annotation.name = f"{task}/annotations/{new_id('a')}"
            annotation.creator = current_principal()
            annotation.create_time.CopyFrom(timestamp(now))
            annotation.update_time.CopyFrom(timestamp(now))
            annotation.etag = new_etag()
            self.annotations.record(task, annotation)
            response.annotation_count += 1
        for j, given in enumerate(item.predictions):
            path = f"{item.path}.predictions[{j}]"
            check_prediction_scores(given, path)
            check_results(given.results, project.label_specs, f"{path}.result", text_of)
            prediction = an.Prediction()
            prediction.CopyFrom(given)
            prediction.name = f"{task}/predictions/{new_id('p')}"
            prediction.creator = current_principal()
            prediction.create_time.CopyFrom(timestamp(now_ns()))
            self.store.put_prediction(task, prediction)
            response.prediction_count += 1
