"""`Annotator`: how `DataManager.annotate_data` labels a dataset version, and
`AnnotationProjectHandle`, the project it opens.

By hand: a project over the version with a label schema, one task per row, handed out to
annotators under leases.

    project = data.annotate_data("reviews", Annotator(
        schema=[Label.classification("sentiment", ["pos", "neg"], source_column="text")],
        required_annotation_count=2))
    while (task := project.next_task()) is not None:
        project.annotate(task, {"sentiment": "pos"})        # task.row is a pyarrow.Table
    print(project.agreement()["sentiment"].fleiss_kappa)
    version = project.export("datasets/reviews-labelled")

By a model of the inference layer: the same project, pre-labelled by a prediction job,
optionally accepted as annotations and exported in one call.

    version = data.annotate_data("reviews", Annotator(
        model="models/sentiment@prod", label="sentiment", inputs={"text": "text"},
        decoder="probabilities", schema=[...], accept=True, min_score=0.9,
        export_to="datasets/reviews-labelled"))
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import grpc

from lepton.data.v1 import annotation_agreement_pb2 as agreement
from lepton.data.v1 import annotation_pb2 as values
from lepton.data.v1 import annotation_project_pb2 as projects
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import dataset_pb2
from lepton.data.v1 import prediction_job_pb2 as jobs
from lepton_ai.annotation.annotation_jobs import ANNOTATION_SERVICE
from lepton_ai.annotation.client import AnnotationClient
from lepton_ai.annotation.label_results import Results, results_from
from lepton_ai.annotation.names import Ref
from lepton_ai.annotation.prediction_jobs import PREDICTION_JOBS_FEATURE, DecoderLike
from lepton_ai.annotation.request_fields import DurationLike, EnumLike
from lepton_ai.annotation.tasks import Rows, Task
from lepton_ai.data.catalog import DatasetCatalog
from lepton_ai.data.names import DatasetRef, VersionRef, dataset_name
from lepton_ai.errors import UnimplementedError


class AnnotationProjectHandle:
    """One annotation project and the calls on it. `project` is the AnnotationProject as last
    read (`refresh()` reads it again); `client` the AnnotationClient it calls through, which
    for a handle from `DataManager.annotate_data` shares the DataManager's channel (and is
    closed with it)."""

    def __init__(self, client: AnnotationClient, project: projects.AnnotationProject) -> None:
        self.client = client
        self.project = project

    @property
    def name(self) -> str:
        return self.project.name

    @property
    def schema(self) -> list[projects.LabelSpec]:
        return list(self.project.label_specs)

    def __repr__(self) -> str:
        return f"AnnotationProjectHandle({self.name!r}, {self.project.dataset_version!r})"

    def refresh(self) -> projects.AnnotationProject:
        """Read the project again (task counts, schema, etag)."""
        self.project = self.client.get_project(self.name)
        return self.project

    # ---------------------------------------------------------------------------- tasks

    def tasks(
        self, *, filter: str = "", order_by: str = "", with_rows: bool = False
    ) -> Iterator[Task]:
        """The project's tasks matching `filter`, by row index (rows with `with_rows`)."""
        return self.client.tasks(self, filter=filter, order_by=order_by, with_rows=with_rows)

    def task(self, task: int | str | Task) -> Task:
        """A task with its row: by name, or by row index of the project's version."""
        if isinstance(task, int):
            task = f"{self.name}/tasks/row-{task}"
        return self.client.get_task(task)

    def add_tasks(
        self, rows: Rows = None, *, dataset_version: VersionRef | None = None
    ) -> list[Task]:
        """Create the tasks still missing for `rows` of the project's version, or of another
        version of its dataset (the project grows); the tasks created."""
        return self.client.batch_create_tasks(self, rows, dataset_version=dataset_version)

    def next_task(self, *, lease_duration: DurationLike | None = None) -> Task | None:
        """Lease the next task that needs the caller (see AnnotationClient.acquire_next_task);
        None when no task does."""
        return self.client.acquire_next_task(self, lease_duration=lease_duration)

    def release(self, task: Ref) -> Task:
        """Give a leased task back before its lease ends."""
        return self.client.release_task_lease(task)

    def complete(self, task: Ref) -> Task:
        """Mark a task COMPLETED (it needs an annotation), so exports include it."""
        return self.client.update_task(task, state="completed")

    # -------------------------------------------------------------- annotations, predictions

    def _results(self, results: Results) -> list[values.LabelResult]:
        if isinstance(results, Mapping) and not {spec.name for spec in self.schema} >= set(results):
            self.refresh()  # the schema may have grown since the project was read
        return results_from(self.schema, results)

    def annotate(self, task: Ref, results: Results = (), **options: Any) -> values.Annotation:
        """Record the caller's annotation of `task`: LabelResults or {label: plain value}
        (e.g. {"sentiment": "pos", "objects": [("car", 0.1, 0.2, 0.3, 0.4)]}). Options as
        AnnotationClient.create_annotation (ground_truth, skipped, lead_duration, ...)."""
        return self.client.create_annotation(task, self._results(results), **options)

    def annotations(self, *, filter: str = "") -> Iterator[values.Annotation]:
        """Every annotation of the project, oldest first."""
        return self.client.annotations(self, filter=filter)

    def add_prediction(
        self,
        task: Ref,
        results: Results,
        *,
        model: str,
        version: str | None = None,
        score: float | None = None,
    ) -> values.Prediction:
        """Record a prediction of `task` made outside the server (see
        AnnotationClient.create_prediction)."""
        return self.client.create_prediction(
            task, self._results(results), model=model, version=version, score=score
        )

    def predictions(self, *, filter: str = "", order_by: str = "") -> Iterator[values.Prediction]:
        """Every prediction of the project."""
        return self.client.predictions(self, filter=filter, order_by=order_by)

    def accept_predictions(
        self, *, filter: str = "", min_score: float = 0.0, complete_tasks: bool = False
    ) -> pb.AcceptPredictionsResponse:
        """Turn the best prediction of each task into an annotation of the caller (see
        AnnotationClient.accept_predictions)."""
        return self.client.accept_predictions(
            self, filter=filter, min_score=min_score, complete_tasks=complete_tasks
        )

    def review(self, annotation: Ref, verdict: EnumLike, *, comment: str = "") -> values.Review:
        """Review an annotation: "accepted" or "rejected"."""
        return self.client.create_review(annotation, verdict, comment=comment)

    def agreement(
        self, labels: Sequence[str] = (), *, task_filter: str = "", iou_threshold: float = 0.0
    ) -> dict[str, agreement.LabelAgreement]:
        """How the annotators agree, per label (see AnnotationClient.compute_agreement)."""
        return self.client.compute_agreement(
            self, labels, task_filter=task_filter, iou_threshold=iou_threshold
        )

    # ------------------------------------------------------------------------ schema, jobs

    def extend_schema(
        self,
        labels: Sequence[projects.LabelSpec] = (),
        *,
        classes: Mapping[str, Sequence[str]] | None = None,
    ) -> projects.AnnotationProject:
        """Append labels, or classes to existing labels, to the schema."""
        self.project = self.client.extend_schema(self, labels, classes=classes)
        return self.project

    def predict(
        self,
        model: str,
        *,
        label: str,
        inputs: Mapping[str, str],
        decoder: DecoderLike,
        **options: Any,
    ) -> jobs.PredictionJob:
        """Run a prediction job over the project's tasks with a progress bar (see
        AnnotationClient.predict)."""
        return self.client.predict(
            self, model=model, label=label, inputs=inputs, decoder=decoder, **options
        )

    def export(self, destination: DatasetRef, **options: Any) -> dataset_pb2.DatasetVersion:
        """Commit the project's annotations, joined to their rows, as a new version of
        `destination` and return it (options as AnnotationClient.create_export_job)."""
        return self.client.export(self, destination, **options)

    def delete(self, *, force: bool = False) -> None:
        """Delete the project (with its tasks and everything in them when `force`)."""
        self.client.delete_project(self, force=force, etag="")


class Annotator:
    """What `DataManager.annotate_data(data, annotator)` does with a dataset version.

    A human project: `schema` (`Label.*`), `required_annotation_count` annotators per task,
    `instructions`, the `rows` to make tasks of (a range or indexes; None: every row), and
    `project_id` (default: the dataset id and a random suffix). With `project` (a name or
    message) an existing project is used instead and grows by the version's rows.
    `annotate_data` returns its AnnotationProjectHandle.

    Auto-annotation, with `model` ("models/m@prod", "models/m/versions/3" or an inference
    model name, `model_version` to pin one): a prediction job predicts `label` (default: the
    schema's only label) from `inputs` ({input tensor: column}) through `decoder`, for the
    tasks `task_filter` selects; with `accept`, the predictions scoring at least `min_score`
    become annotations of the caller (COMPLETED tasks unless `complete_tasks` is False); with
    `export_to`, the annotations are exported (`export_options` as
    AnnotationClient.create_export_job) and `annotate_data` returns the committed
    DatasetVersion, else the handle. A server without prediction jobs raises
    UnimplementedError FEATURE_NOT_SUPPORTED before anything is created.
    """

    def __init__(
        self,
        schema: Sequence[projects.LabelSpec] = (),
        *,
        project_id: str | None = None,
        project: Ref | None = None,
        required_annotation_count: int = 1,
        instructions: str = "",
        display_name: str = "",
        rows: Rows = None,
        model: str | None = None,
        model_version: str | None = None,
        label: str | None = None,
        inputs: Mapping[str, str] | None = None,
        decoder: DecoderLike | None = None,
        task_filter: str = "",
        batch_size: int = 0,
        accept: bool = False,
        min_score: float = 0.0,
        complete_tasks: bool = True,
        export_to: DatasetRef | None = None,
        export_options: Mapping[str, Any] | None = None,
    ) -> None:
        if not schema and project is None:
            raise ValueError("an Annotator needs a schema (Label.*) or an existing project")
        if model is None and (accept or export_to is not None or inputs or decoder):
            raise ValueError(
                "accept, export_to, inputs and decoder need model=; export a human project "
                "later with its handle's export()"
            )
        if model is not None:
            if label is None and len(schema) == 1:
                label = schema[0].name
            if label is None or not inputs or decoder is None:
                raise ValueError("auto-annotation needs label=, inputs= and decoder=")
        self.schema = list(schema)
        self.project_id = project_id
        self.project = project
        self.required_annotation_count = required_annotation_count
        self.instructions = instructions
        self.display_name = display_name
        self.rows = rows
        self.model = model
        self.model_version = model_version
        self.label = label
        self.inputs = dict(inputs or {})
        self.decoder = decoder
        self.task_filter = task_filter
        self.batch_size = batch_size
        self.accept = accept
        self.min_score = min_score
        self.complete_tasks = complete_tasks
        self.export_to = export_to
        self.export_options = dict(export_options or {})

    def run(
        self, catalog: DatasetCatalog, data: VersionRef
    ) -> AnnotationProjectHandle | dataset_pb2.DatasetVersion:
        """Label the version `data` through the server `catalog` (a DataManager) is connected
        to, on the same channel (address, TLS and token)."""
        client = AnnotationClient(
            catalog.channel, progress=catalog.progress, timeout=catalog.timeout
        )
        if self.model is not None:
            _require_prediction_jobs(client)
        handle = self._open(client, catalog.get_version(data))
        if self.model is None:
            return handle
        assert self.label is not None and self.decoder is not None
        handle.predict(
            self.model,
            label=self.label,
            inputs=self.inputs,
            decoder=self.decoder,
            version=self.model_version,
            task_filter=self.task_filter,
            batch_size=self.batch_size,
        )
        if self.accept:
            handle.accept_predictions(min_score=self.min_score, complete_tasks=self.complete_tasks)
        if self.export_to is not None:
            return handle.export(self.export_to, **self.export_options)
        handle.refresh()
        return handle

    def _open(
        self, client: AnnotationClient, version: dataset_pb2.DatasetVersion
    ) -> AnnotationProjectHandle:
        """The project (created, or the existing one) with tasks for the version's rows."""
        if self.project is not None:
            handle = AnnotationProjectHandle(client, client.get_project(self.project))
            own = version.name == handle.project.dataset_version
            handle.add_tasks(self.rows, dataset_version=None if own else version.name)
            handle.refresh()
            return handle
        dataset_id = dataset_name(version.name).removeprefix("datasets/")
        created = client.create_project(
            self.project_id or f"{dataset_id[:55]}-{secrets.token_hex(3)}",
            version.name,
            self.schema,
            display_name=self.display_name,
            instructions=self.instructions,
            required_annotation_count=self.required_annotation_count,
        )
        handle = AnnotationProjectHandle(client, created)
        handle.add_tasks(self.rows)
        handle.refresh()
        return handle


def _require_prediction_jobs(client: AnnotationClient) -> None:
    """UnimplementedError FEATURE_NOT_SUPPORTED unless the server lists prediction jobs."""
    features = client.features(ANNOTATION_SERVICE)
    if features is not None and PREDICTION_JOBS_FEATURE in features:
        return
    missing = (
        f"the server does not host {ANNOTATION_SERVICE}"
        if features is None
        else f"{ANNOTATION_SERVICE} on the server does not list {PREDICTION_JOBS_FEATURE!r}"
    )
    raise UnimplementedError(
        grpc.StatusCode.UNIMPLEMENTED,
        "FEATURE_NOT_SUPPORTED",
        f"{missing}: auto-annotation needs prediction jobs",
        {"feature": PREDICTION_JOBS_FEATURE},
    )
