"""Annotations and predictions (spec/annotation.md §3.4, ANN-026 to ANN-040): two separate
collections under a task, each result checked against the label schema, each attributed to the
principal of the creating call (GEN-014). Annotations move their task along the lifecycle and
end their creator's lease on it; predictions are immutable."""

from __future__ import annotations

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as at
from lepton_server.aip import request_ids
from lepton_server.aip.filtering.fields import COMPARISONS, EQUALITY, FieldType, FilterField
from lepton_server.aip.listing import Listing
from lepton_server.aip.pagination import PageTokens
from lepton_server.aip.resource_names import parse
from lepton_server.aip.standard_fields import check_etag, new_etag, not_found, now_ns, timestamp
from lepton_server.annotation.annotation_store import AnnotationStore
from lepton_server.annotation.label_results import check_results, row_text, unit_interval
from lepton_server.annotation.projects import Projects
from lepton_server.annotation.resource_checks import message_fields, new_id
from lepton_server.annotation.task_states import IN_PROGRESS, NEW, REJECTED
from lepton_server.annotation.tasks import Tasks, project_of, touch
from lepton_server.runtime.errors import invalid_field
from lepton_server.runtime.principals import current_principal

MAX_MODEL_NAME = 256
ANNOTATION_FIELDS = ("results", "lead_duration", "ground_truth", "skipped")
TIMES = ("create_time", "update_time")
ANNOTATIONS = Listing(
    (
        FilterField("creator", FieldType.STRING, EQUALITY),
        FilterField("source_prediction", FieldType.RESOURCE_NAME, EQUALITY),
        FilterField.for_enum("review_verdict", an.ReviewVerdict.keys()),
        FilterField("ground_truth", FieldType.BOOLEAN, EQUALITY),
        FilterField("skipped", FieldType.BOOLEAN, EQUALITY),
        *(FilterField(t, FieldType.TIMESTAMP, COMPARISONS) for t in TIMES),
    ),
    ("create_time",),
    "create_time",
    "name",
    100,
)
PREDICTION_FILTER = (
    FilterField("inference_model", FieldType.STRING, EQUALITY),
    FilterField("inference_model_version", FieldType.STRING, EQUALITY),
    FilterField("prediction_job", FieldType.RESOURCE_NAME, frozenset({"="})),
    FilterField("score", FieldType.FLOAT, COMPARISONS),
    FilterField("create_time", FieldType.TIMESTAMP, COMPARISONS),
)
PREDICTIONS = Listing(PREDICTION_FILTER, ("create_time", "score"), "create_time", "name", 100)


def child_name(name: str, collection: str, field: str = "name") -> str:
    parse(name, ("annotationProjects", "tasks", collection), field)
    return name


def task_of(name: str) -> str:
    return name.rsplit("/", 2)[0]


def list_parent(parent: str) -> tuple[str, str]:
    """(task, project) of a List parent: one task, or every task of a project (`tasks/-`)."""
    if parent.endswith("/tasks/-"):
        project = parent.removesuffix("/tasks/-")
        parse(project, ("annotationProjects",), "parent")
        return "", project
    parse(parent, ("annotationProjects", "tasks"), "parent")
    return parent, project_of(parent)


class Annotations:
    """Annotations and predictions of the store's tasks."""

    def __init__(
        self, store: AnnotationStore, projects: Projects, tasks: Tasks, tokens: PageTokens
    ) -> None:
        self.store = store
        self.projects = projects
        self.tasks = tasks
        self.tokens = tokens

    def _check_results(self, results, task: at.AnnotationTask, path: str) -> None:
        project = self.projects.stored(project_of(task.name))
        row = self.store.task_row(task.name)
        check_results(results, project.label_specs, path, lambda column: row_text(row, column))

    # --- annotations -------------------------------------------------------------------------

    def get(self, name: str, field: str = "name") -> an.Annotation:
        annotation = self.store.annotation(child_name(name, "annotations", field))
        if annotation is None:
            raise not_found(name)
        return annotation

    def create(self, request: pb.CreateAnnotationRequest) -> an.Annotation:
        request_ids.check_request_id(request.request_id)
        task = self.tasks.stored(request.parent, "parent")
        replay = request_ids.replayed(self.store, "CreateAnnotation", task.name, request)
        if replay is not None:
            return self.get(replay)
        annotation = an.Annotation()
        annotation.CopyFrom(request.annotation)
        _check_annotation(annotation, "annotation")
        self._check_results(annotation.results, task, "annotation.results")
        if annotation.source_prediction:
            self._check_source(annotation.source_prediction, task.name)
        now = now_ns()
        for output in (
            "name",
            "creator",
            "create_time",
            "update_time",
            "etag",
            "review_verdict",
            "external_author",  # set only by ImportAnnotations (§3.11)
        ):
            annotation.ClearField(output)
        annotation.name = f"{task.name}/annotations/{new_id('a')}"
        annotation.creator = current_principal()
        annotation.create_time.CopyFrom(timestamp(now))
        annotation.update_time.CopyFrom(timestamp(now))
        annotation.etag = new_etag()
        with self.store.atomic():
            self.record(task.name, annotation)
            request_ids.remember(
                self.store, "CreateAnnotation", task.name, request, annotation.name
            )
        return annotation

    def record(self, task_name: str, annotation: an.Annotation) -> None:
        """Store a new annotation with its effects, inside the caller's transaction: the task
        moves from NEW or REJECTED to IN_PROGRESS (ANN-026) and the creator's lease on it ends
        (ANN-061)."""
        task = self.tasks.stored(task_name, "parent")
        self.store.put_annotation(task.name, annotation)
        if task.state in (NEW, REJECTED):
            task.state = IN_PROGRESS
            touch(task)
            self.store.put_task(task)
        self.store.end_lease(task.name, annotation.creator)

    def _check_source(self, source: str, task: str) -> None:
        path = "annotation.source_prediction"
        child_name(source, "predictions", path)
        if task_of(source) != task:
            raise invalid_field(path, "the prediction belongs to another task")
        if self.store.prediction(source) is None:
            raise not_found(source)

    def list(self, request: pb.ListAnnotationsRequest) -> tuple[list[an.Annotation], str]:
        task, project = list_parent(request.parent)
        if task:
            self.tasks.stored(task, "parent")
        else:
            self.projects.stored(project, "parent")

        def items() -> list[an.Annotation]:
            return self.store.annotations(task=task, project=project)

        return ANNOTATIONS.page(self.tokens, request, items, message_fields, request.parent)

    def update(self, request: pb.UpdateAnnotationRequest) -> an.Annotation:
        given = request.annotation
        name = child_name(given.name, "annotations", "annotation.name")
        paths = list(request.update_mask.paths)
        if paths == ["*"]:
            paths = list(ANNOTATION_FIELDS)
        elif not paths:
            present = {
                "results": bool(given.results),
                "lead_duration": given.HasField("lead_duration"),
                "ground_truth": given.ground_truth,
                "skipped": given.skipped,
            }
            paths = [path for path in ANNOTATION_FIELDS if present[path]]
        for path in paths:
            if path not in ANNOTATION_FIELDS:
                raise invalid_field(
                    "update_mask", f"{path!r} is not one of {', '.join(ANNOTATION_FIELDS)}"
                )
        with self.store.atomic():
            annotation = self.get(name)
            check_etag(given.etag, annotation.etag)
            before = annotation.SerializeToString(deterministic=True)
            for path in paths:
                if path == "results":
                    del annotation.results[:]
                    annotation.results.extend(given.results)
                elif path == "lead_duration":
                    annotation.lead_duration.CopyFrom(given.lead_duration)
                else:
                    setattr(annotation, path, getattr(given, path))
            _check_annotation(annotation, "annotation")
            task = self.tasks.stored(task_of(name))
            self._check_results(annotation.results, task, "annotation.results")
            if annotation.SerializeToString(deterministic=True) != before:
                annotation.update_time.CopyFrom(timestamp(now_ns()))
                annotation.etag = new_etag()
                self.store.put_annotation(task.name, annotation)
        return annotation

    def delete(self, request: pb.DeleteAnnotationRequest) -> None:
        with self.store.atomic():
            annotation = self.get(request.name)
            check_etag(request.etag, annotation.etag)
            self.store.delete_annotation(annotation.name)

    # --- predictions -------------------------------------------------------------------------

    def get_prediction(self, name: str) -> an.Prediction:
        prediction = self.store.prediction(child_name(name, "predictions"))
        if prediction is None:
            raise not_found(name)
        return prediction

    def create_prediction(self, request: pb.CreatePredictionRequest) -> an.Prediction:
        request_ids.check_request_id(request.request_id)
        task = self.tasks.stored(request.parent, "parent")
        replay = request_ids.replayed(self.store, "CreatePrediction", task.name, request)
        if replay is not None:
            return self.get_prediction(replay)
        given = request.prediction
        for field in ("inference_model", "inference_model_version"):
            value = getattr(given, field)
            if not 1 <= len(value) <= MAX_MODEL_NAME:
                raise invalid_field(f"prediction.{field}", "1 to 256 characters")
        check_prediction_scores(given, "prediction")
        prediction = an.Prediction(
            results=given.results,
            inference_model=given.inference_model,
            inference_model_version=given.inference_model_version,
            score=given.score,
        )
        self._check_results(prediction.results, task, "prediction.results")
        prediction.name = f"{task.name}/predictions/{new_id('p')}"
        prediction.creator = current_principal()
        prediction.create_time.CopyFrom(timestamp(now_ns()))
        with self.store.atomic():
            self.tasks.stored(task.name, "parent")
            self.store.put_prediction(task.name, prediction)
            request_ids.remember(
                self.store, "CreatePrediction", task.name, request, prediction.name
            )
        return prediction

    def list_predictions(self, request: pb.ListPredictionsRequest) -> tuple[list, str]:
        task, project = list_parent(request.parent)
        if task:
            self.tasks.stored(task, "parent")
        else:
            self.projects.stored(project, "parent")

        def items() -> list[an.Prediction]:
            return self.store.predictions(task=task, project=project)

        return PREDICTIONS.page(self.tokens, request, items, message_fields, request.parent)

    def delete_prediction(self, name: str) -> None:
        with self.store.atomic():
            self.store.delete_prediction(self.get_prediction(name).name)


def check_prediction_scores(prediction: an.Prediction, prefix: str) -> None:
    """INVALID_FIELD for a prediction or result score outside [0, 1] (ANN-036)."""
    if not unit_interval(prediction.score):
        raise invalid_field(f"{prefix}.score", "a score is in [0, 1]")
    for i, result in enumerate(prediction.results):
        if not unit_interval(result.score):
            raise invalid_field(f"{prefix}.results[{i}].score", "a score is in [0, 1]")


def _check_annotation(annotation: an.Annotation, prefix: str) -> None:
    """The field rules of ANN-029."""
    if annotation.lead_duration.ToNanoseconds() < 0:
        raise invalid_field(f"{prefix}.lead_duration", "must not be negative")
    if annotation.skipped and annotation.ground_truth:
        raise invalid_field(f"{prefix}.ground_truth", "a skipped annotation is not ground truth")
    if annotation.skipped and annotation.results:
        raise invalid_field(f"{prefix}.results", "a skipped annotation has no results")
    for i, result in enumerate(annotation.results):
        if result.score != 0:
            raise invalid_field(f"{prefix}.results[{i}].score", "annotations carry no scores")
