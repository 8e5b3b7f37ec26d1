"""`AnnotationClient`: a server's annotation service (lepton.data.v1.AnnotationService) as
Python calls: projects with their label schema, tasks over the rows of dataset versions,
leases, human annotations, model predictions, reviews, agreement, prediction jobs and
annotation export jobs (spec/annotation.md).

    with AnnotationClient.connect("localhost:50051", token="...") as annotation:
        project = annotation.create_project(
            "reviews", "datasets/reviews/tags/raw",
            [Label.classification("sentiment", ["pos", "neg"], source_column="text")])
        annotation.batch_create_tasks(project, range(0, 100))
        task = annotation.acquire_next_task(project)            # a Task, its row a pyarrow.Table
        annotation.create_annotation(task, {"sentiment": "pos"})
        version = annotation.export(project, "datasets/reviews-labelled")

Reads and writes return the messages of lepton.data.v1 (AnnotationProject, Annotation,
Prediction, Review, LabelAgreement, the jobs), except tasks, which come as `Task` (the message
with its row decoded). Results are LabelResults (`box`, `classification`, ...) or a mapping
{label: plain value} read by the project's schema (`results_from`). Failed calls raise
`LeptonAIError` subclasses; a job that fails raises `JobFailedError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timezone

import grpc
from google.protobuf import field_mask_pb2

from lepton.data.v1 import annotation_agreement_pb2 as agreement
from lepton.data.v1 import annotation_pb2 as values
from lepton.data.v1 import annotation_project_pb2 as projects
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as tasks
from lepton_ai.annotation import request_fields as fields
from lepton_ai.annotation.annotation_jobs import PAGE_SIZE, AnnotationJobs
from lepton_ai.annotation.label_results import Results, results_from
from lepton_ai.annotation.names import Ref, name_of, project_name, task_collection
from lepton_ai.annotation.prediction_jobs import inference_model
from lepton_ai.annotation.request_fields import DurationLike, EnumLike
from lepton_ai.annotation.tasks import Rows, Task, with_rows
from lepton_ai.data.names import VersionRef
from lepton_ai.errors import from_rpc_error
from lepton_ai.retries import STREAM_RETRIES, is_transport_failure, pause_before_retry

AnnotationProject = projects.AnnotationProject


class AnnotationClient(AnnotationJobs):
    """Projects, tasks, annotations, predictions, reviews, agreement and jobs of the
    annotation service over one gRPC channel (see the module docstring; ServiceClient for
    `connect`, `progress` and `timeout`)."""

    # ----------------------------------------------------------------------------- projects

    def create_project(
        self,
        project_id: str,
        dataset_version: VersionRef,
        schema: Sequence[projects.LabelSpec],
        *,
        display_name: str = "",
        description: str = "",
        instructions: str = "",
        labels: Mapping[str, str] | None = None,
        required_annotation_count: int = 0,
        request_id: str | None = None,
    ) -> AnnotationProject:
        """Create `annotationProjects/{project_id}` over a dataset version (a version or tag
        name, a DatasetVersion, or a dataset, whose head is taken) with the label schema
        `schema` (`Label.*`); `required_annotation_count` annotators per task (0: 1)."""
        project = AnnotationProject(
            display_name=display_name,
            description=description,
            dataset_version=self._catalog.resolve(dataset_version),
            label_specs=list(schema),
            instructions=instructions,
            labels=dict(labels or {}),
            required_annotation_count=required_annotation_count,
        )
        request = pb.CreateAnnotationProjectRequest(
            annotation_project_id=project_id.removeprefix("annotationProjects/"),
            annotation_project=project,
            request_id=fields.request_id(request_id),
        )
        return self.call(self._annotation.CreateAnnotationProject, request).annotation_project

    def get_project(self, project: Ref) -> AnnotationProject:
        """A project (id, name or message) with its current task counts."""
        request = pb.GetAnnotationProjectRequest(name=project_name(project))
        return self.call(self._annotation.GetAnnotationProject, request).annotation_project

    def projects(self, *, filter: str = "") -> Iterator[AnnotationProject]:
        """Every project matching `filter` (e.g. `dataset_version = "datasets/d/versions/v"`),
        lazily, in name order."""
        request = pb.ListAnnotationProjectsRequest(page_size=PAGE_SIZE, filter=filter)
        return self.paginate(
            self._annotation.ListAnnotationProjects, request, "annotation_projects"
        )

    def update_project(
        self,
        project: Ref,
        *,
        display_name: str | None = None,
        description: str | None = None,
        instructions: str | None = None,
        labels: Mapping[str, str] | None = None,
        required_annotation_count: int | None = None,
        etag: str = "",
    ) -> AnnotationProject:
        """Change the given fields of a project (None: unchanged); a non-empty `etag` makes
        the change conditional (AbortedError ETAG_MISMATCH)."""
        message = AnnotationProject(name=project_name(project), etag=etag)
        mask = fields.masked(
            message,
            {
                "display_name": display_name,
                "description": description,
                "instructions": instructions,
                "labels": labels,
                "required_annotation_count": required_annotation_count,
            },
        )
        request = pb.UpdateAnnotationProjectRequest(annotation_project=message, update_mask=mask)
        return self.call(self._annotation.UpdateAnnotationProject, request).annotation_project

    def extend_schema(
        self,
        project: Ref,
        labels: Iterable[projects.LabelSpec] = (),
        *,
        classes: Mapping[str, Iterable[str]] | None = None,
    ) -> AnnotationProject:
        """Append `labels` to a project's schema and `classes` ({label: new classes}) to
        existing labels, the only changes a schema allows. Conditional on the schema read
        first: a concurrent change raises AbortedError ETAG_MISMATCH."""
        current = self.get_project(project)
        specs = {spec.name: spec for spec in current.label_specs}
        for label, added in (classes or {}).items():
            if label not in specs:
                raise ValueError(f"{current.name} has no label {label!r}")
            specs[label].classes.extend(c for c in added if c not in specs[label].classes)
        message = AnnotationProject(name=current.name, etag=current.etag)
        message.label_specs.extend([*current.label_specs, *labels])
        request = pb.UpdateAnnotationProjectRequest(
            annotation_project=message, update_mask=field_mask_pb2.FieldMask(paths=["label_specs"])
        )
        return self.call(self._annotation.UpdateAnnotationProject, request).annotation_project

    def delete_project(self, project: Ref, *, force: bool = False, etag: str = "") -> None:
        """Delete a project; one with tasks needs `force` (else FailedPreconditionError
        PROJECT_NOT_EMPTY)."""
        request = pb.DeleteAnnotationProjectRequest(
            name=project_name(project), etag=etag, force=force
        )
        self.call(self._annotation.DeleteAnnotationProject, request)

    # -------------------------------------------------------------------------------- tasks

    def create_task(
        self,
        project: Ref,
        row_index: int,
        *,
        dataset_version: VersionRef | None = None,
        stage: EnumLike | None = None,
        assignee: str = "",
        labels: Mapping[str, str] | None = None,
        image_geometry: tasks.ImageGeometry | None = None,
        request_id: str | None = None,
    ) -> Task:
        """Create the task of one row of the project's version, or of `dataset_version`
        (another version of its dataset, which grows the project)."""
        task = tasks.AnnotationTask(row_index=row_index, assignee=assignee, labels=labels or {})
        if dataset_version is not None:
            task.dataset_version = self._catalog.resolve(dataset_version)
        if stage is not None:
            task.stage = fields.enum_value(tasks.TaskStage, "TASK_STAGE_", stage)
        if image_geometry is not None:
            task.image_geometry.CopyFrom(image_geometry)
        request = pb.CreateAnnotationTaskRequest(
            parent=project_name(project),
            annotation_task=task,
            request_id=fields.request_id(request_id),
        )
        return Task.of(self.call(self._annotation.CreateAnnotationTask, request).annotation_task)

    def batch_create_tasks(
        self,
        project: Ref,
        rows: Rows = None,
        *,
        dataset_version: VersionRef | None = None,
        assignee: str = "",
        labels: Mapping[str, str] | None = None,
    ) -> list[Task]:
        """Create the tasks of `rows` (a range, row indexes, or None for every row) of the
        project's version or of `dataset_version`, skipping rows that have one; the tasks
        created. A progress bar counts rows; a broken stream is resumed by repeating it."""
        request = pb.BatchCreateAnnotationTasksRequest(
            parent=project_name(project), assignee=assignee, labels=labels or {}
        )
        if dataset_version is not None:
            request.dataset_version = self._catalog.resolve(dataset_version)
        total = with_rows(request, rows)
        created: list[Task] = []
        failures = 0
        with self.progress_bar(f"Creating tasks of {request.parent}", total, "rows") as bar:
            while True:
                try:
                    for response in self._annotation.BatchCreateAnnotationTasks(request):
                        created.extend(Task.of(task) for task in response.created_tasks)
                        bar.update(response.processed_row_count, response.total_row_count)
                    return created
                except grpc.RpcError as error:
                    failure = from_rpc_error(error)
                    if not is_transport_failure(failure) or failures >= STREAM_RETRIES:
                        raise failure from None
                failures += 1
                pause_before_retry(failures)

    def get_task(self, task: Ref, *, with_row: bool = True) -> Task:
        """A task by name, with its row as a pyarrow.Table unless `with_row` is False."""
        view = tasks.ANNOTATION_TASK_VIEW_FULL if with_row else tasks.ANNOTATION_TASK_VIEW_BASIC
        request = pb.GetAnnotationTaskRequest(name=name_of(task), view=view)
        return Task.of(self.call(self._annotation.GetAnnotationTask, request).annotation_task)

    def tasks(
        self, project: Ref, *, filter: str = "", order_by: str = "", with_rows: bool = False
    ) -> Iterator[Task]:
        """A project's tasks matching `filter` (e.g. `state = NEW AND assignee = ""`), lazily,
        by row index unless `order_by` says otherwise; rows decoded with `with_rows`."""
        request = pb.ListAnnotationTasksRequest(
            parent=project_name(project),
            page_size=PAGE_SIZE,
            filter=filter,
            order_by=order_by,
            view=tasks.ANNOTATION_TASK_VIEW_FULL if with_rows else tasks.ANNOTATION_TASK_VIEW_BASIC,
        )
        pages = self.paginate(self._annotation.ListAnnotationTasks, request, "annotation_tasks")
        return (Task.of(task) for task in pages)

    def update_task(
        self,
        task: Ref,
        *,
        stage: EnumLike | None = None,
        state: EnumLike | None = None,
        assignee: str | None = None,
        labels: Mapping[str, str] | None = None,
        image_geometry: tasks.ImageGeometry | None = None,
        etag: str = "",
    ) -> Task:
        """Change the given fields of a task (None: unchanged). `stage` and `state` are enum
        names with or without their prefix ("completed") or numbers; a state change outside
        the lifecycle raises FailedPreconditionError INVALID_TASK_TRANSITION."""
        message = tasks.AnnotationTask(name=name_of(task), etag=etag)
        mask = fields.masked(
            message,
            {
                "stage": None
                if stage is None
                else fields.enum_value(tasks.TaskStage, "TASK_STAGE_", stage),
                "state": None
                if state is None
                else fields.enum_value(tasks.TaskState, "TASK_STATE_", state),
                "assignee": assignee,
                "labels": labels,
                "image_geometry": image_geometry,
            },
        )
        request = pb.UpdateAnnotationTaskRequest(annotation_task=message, update_mask=mask)
        return Task.of(self.call(self._annotation.UpdateAnnotationTask, request).annotation_task)

    def delete_task(self, task: Ref, *, etag: str = "") -> None:
        """Delete a task with its annotations and predictions."""
        request = pb.DeleteAnnotationTaskRequest(name=name_of(task), etag=etag)
        self.call(self._annotation.DeleteAnnotationTask, request)

    def acquire_next_task(
        self, project: Ref, *, lease_duration: DurationLike | None = None
    ) -> Task | None:
        """Lease the next task that needs the caller (least confident first), with its row
        and `lease_expire_time`; None when no task does. The caller's current lease in the
        project is returned again, extended. `lease_duration`: a timedelta or seconds
        (default 10 minutes)."""
        request = pb.AcquireNextTaskRequest(parent=project_name(project))
        if lease_duration is not None:
            request.lease_duration.CopyFrom(fields.duration(lease_duration))
        response = self.call(self._annotation.AcquireNextTask, request)
        if not response.HasField("annotation_task"):
            return None
        expires = response.lease_expire_time.ToDatetime(tzinfo=timezone.utc)
        return Task.of(response.annotation_task, expires)

    def release_task_lease(self, task: Ref) -> Task:
        """End the caller's lease on a task (FailedPreconditionError LEASE_NOT_HELD without
        one)."""
        request = pb.ReleaseTaskLeaseRequest(name=name_of(task))
        return Task.of(self.call(self._annotation.ReleaseTaskLease, request).annotation_task)

    # -------------------------------------------------------------------------- annotations

    def schema(self, project: Ref) -> list[projects.LabelSpec]:
        """A project's label schema (of the project of a task or annotation name too)."""
        return list(self.get_project(project_name(project)).label_specs)

    def _results(self, parent: Ref, results: Results) -> list[values.LabelResult]:
        if isinstance(results, Mapping):
            return results_from(self.schema(parent), results)
        return results_from((), results)

    def create_annotation(
        self,
        task: Ref,
        results: Results = (),
        *,
        ground_truth: bool = False,
        skipped: bool = False,
        lead_duration: DurationLike | None = None,
        source_prediction: Ref = "",
        request_id: str | None = None,
    ) -> values.Annotation:
        """Record the caller's annotation of a task: LabelResults, or {label: plain value}
        (see `results_from`); none states that nothing carries a label. Its `creator` is the
        principal of the caller's credential."""
        annotation = values.Annotation(
            results=self._results(task, results),
            ground_truth=ground_truth,
            skipped=skipped,
            source_prediction=name_of(source_prediction),
        )
        if lead_duration is not None:
            annotation.lead_duration.CopyFrom(fields.duration(lead_duration))
        request = pb.CreateAnnotationRequest(
            parent=name_of(task), annotation=annotation, request_id=fields.request_id(request_id)
        )
        return self.call(self._annotation.CreateAnnotation, request).annotation

    def get_annotation(self, name: str) -> values.Annotation:
        request = pb.GetAnnotationRequest(name=name)
        return self.call(self._annotation.GetAnnotation, request).annotation

    def annotations(self, parent: Ref, *, filter: str = "") -> Iterator[values.Annotation]:
        """The annotations of a task, or of every task of a project, oldest first, matching
        `filter` (e.g. `creator = "ann"`, `source_prediction != ""`)."""
        request = pb.ListAnnotationsRequest(
            parent=task_collection(parent), page_size=PAGE_SIZE, filter=filter
        )
        return self.paginate(self._annotation.ListAnnotations, request, "annotations")

    def update_annotation(
        self,
        annotation: Ref,
        *,
        results: Results | None = None,
        ground_truth: bool | None = None,
        skipped: bool | None = None,
        lead_duration: DurationLike | None = None,
        etag: str = "",
    ) -> values.Annotation:
        """Change the given fields of an annotation (None: unchanged; `results` replaces
        the whole list)."""
        name = name_of(annotation)
        message = values.Annotation(name=name, etag=etag)
        mask = fields.masked(
            message,
            {
                "results": None if results is None else self._results(name, results),
                "ground_truth": ground_truth,
                "skipped": skipped,
                "lead_duration": None if lead_duration is None else fields.duration(lead_duration),
            },
        )
        request = pb.UpdateAnnotationRequest(annotation=message, update_mask=mask)
        return self.call(self._annotation.UpdateAnnotation, request).annotation

    def delete_annotation(self, annotation: Ref, *, etag: str = "") -> None:
        request = pb.DeleteAnnotationRequest(name=name_of(annotation), etag=etag)
        self.call(self._annotation.DeleteAnnotation, request)

    # -------------------------------------------------------------------------- predictions

    def create_prediction(
        self,
        task: Ref,
        results: Results,
        *,
        model: str,
        version: str | None = None,
        score: float | None = None,
        request_id: str | None = None,
    ) -> values.Prediction:
        """Record a prediction of a task made outside the server by `model` at `version`
        (both as the inference service names them; "models/m@3" gives both). `score`
        defaults to the highest result score."""
        built = self._results(task, results)
        name, model_version = inference_model(model, version)
        prediction = values.Prediction(
            results=built,
            inference_model=name,
            inference_model_version=model_version,
            score=score if score is not None else max((r.score for r in built), default=0.0),
        )
        request = pb.CreatePredictionRequest(
            parent=name_of(task), prediction=prediction, request_id=fields.request_id(request_id)
        )
        return self.call(self._annotation.CreatePrediction, request).prediction

    def get_prediction(self, name: str) -> values.Prediction:
        request = pb.GetPredictionRequest(name=name)
        return self.call(self._annotation.GetPrediction, request).prediction

    def predictions(
        self, parent: Ref, *, filter: str = "", order_by: str = ""
    ) -> Iterator[values.Prediction]:
        """The predictions of a task, or of every task of a project, matching `filter`."""
        request = pb.ListPredictionsRequest(
            parent=task_collection(parent), page_size=PAGE_SIZE, filter=filter, order_by=order_by
        )
        return self.paginate(self._annotation.ListPredictions, request, "predictions")

    def delete_prediction(self, prediction: Ref) -> None:
        request = pb.DeletePredictionRequest(name=name_of(prediction))
        self.call(self._annotation.DeletePrediction, request)

    def accept_predictions(
        self,
        parent: Ref,
        *,
        filter: str = "",
        min_score: float = 0.0,
        complete_tasks: bool = False,
    ) -> pb.AcceptPredictionsResponse:
        """Turn the best prediction (matching `filter`, scoring at least `min_score`) of each
        task of a project, or of one task, into an annotation of the caller that names it in
        `source_prediction`; with `complete_tasks` those tasks become COMPLETED. The response
        counts the annotations created and the tasks accepted before."""
        name = name_of(parent)
        request = pb.AcceptPredictionsRequest(
            parent=name if "/tasks/" in name else project_name(name),
            filter=filter,
            min_score=min_score,
            complete_tasks=complete_tasks,
        )
        return self.call(self._annotation.AcceptPredictions, request)

    # ---------------------------------------------------------------- reviews and agreement

    def create_review(
        self, annotation: Ref, verdict: EnumLike, *, comment: str = ""
    ) -> values.Review:
        """Review an annotation: `verdict` "accepted" or "rejected" (or the enum). A REJECTED
        annotation of a COMPLETED task sends the task back (REJECTED)."""
        review = values.Review(
            verdict=fields.enum_value(values.ReviewVerdict, "REVIEW_VERDICT_", verdict),
            comment=comment,
        )
        request = pb.CreateReviewRequest(parent=name_of(annotation), review=review)
        return self.call(self._annotation.CreateReview, request).review

    def reviews(self, annotation: Ref) -> list[values.Review]:
        """The reviews of an annotation, oldest first."""
        request = pb.ListReviewsRequest(parent=name_of(annotation), page_size=PAGE_SIZE)
        return list(self.paginate(self._annotation.ListReviews, request, "reviews"))

    def compute_agreement(
        self,
        project: Ref,
        labels: Sequence[str] = (),
        *,
        task_filter: str = "",
        iou_threshold: float = 0.0,
    ) -> dict[str, agreement.LabelAgreement]:
        """How annotators agree, per label ({label: LabelAgreement}, in schema order; every
        label when `labels` is empty): Cohen's kappa per pair and against ground truth,
        Fleiss' kappa, Krippendorff's alpha, and IoU-matched F1 for boxes (`iou_threshold`,
        0: 0.5). A measure that is undefined is unset (`HasField` is False)."""
        request = pb.ComputeAgreementRequest(
            parent=project_name(project),
            labels=list(labels),
            task_filter=task_filter,
            iou_threshold=iou_threshold,
        )
        response = self.call(self._annotation.ComputeAgreement, request)
        return {entry.label: entry for entry in response.labels}
