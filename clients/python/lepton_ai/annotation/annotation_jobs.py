"""`AnnotationJobs`: the base of `AnnotationClient` holding the annotation service's stubs and
its two kinds of long-running job: prediction jobs (a model of the inference layer pre-labels
tasks; feature "data.annotation.prediction_jobs") and annotation export jobs (the labels,
joined to their rows, committed as a new dataset version). Both are followed through their
Watch method with the SDK's progress bar, like the data layer's imports and pipeline runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import grpc

from lepton.data.v1 import annotation_export_job_pb2 as exports
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_service_pb2_grpc as pb_grpc
from lepton.data.v1 import annotation_task_pb2 as tasks
from lepton.data.v1 import dataset_pb2
from lepton.data.v1 import prediction_job_pb2 as jobs
from lepton_ai.annotation import request_fields as fields
from lepton_ai.annotation.names import Ref, name_of, project_name
from lepton_ai.annotation.prediction_jobs import DecoderLike, decoder_for, prediction_job
from lepton_ai.annotation.request_fields import EnumLike
from lepton_ai.client import JobMethods, ServiceClient
from lepton_ai.data.catalog import DatasetCatalog
from lepton_ai.data.names import DatasetRef, VersionRef, dataset_name
from lepton_ai.errors import NotFoundError

ANNOTATION_SERVICE = "lepton.data.v1.AnnotationService"
PAGE_SIZE = 1000


class AnnotationJobs(ServiceClient):
    """Prediction jobs and annotation export jobs (see the module docstring)."""

    def _create_stubs(self, channel: grpc.Channel) -> None:
        super()._create_stubs(channel)
        self._annotation = stub = pb_grpc.AnnotationServiceStub(channel)
        # Versions and tags are resolved, and exported versions read, on the same channel.
        self._catalog = DatasetCatalog(channel, progress=False, timeout=self.timeout)
        self._prediction_jobs = JobMethods(
            stub.CreatePredictionJob,
            stub.WatchPredictionJob,
            pb.WatchPredictionJobRequest,
            "prediction_job",
        )
        self._export_jobs = JobMethods(
            stub.CreateAnnotationExportJob,
            stub.WatchAnnotationExportJob,
            pb.WatchAnnotationExportJobRequest,
            "annotation_export_job",
        )

    def get_version(self, version: VersionRef) -> dataset_pb2.DatasetVersion:
        """A dataset version's metadata (e.g. the one an export job committed)."""
        return self._catalog.get_version(version)

    # ---------------------------------------------------------------------- prediction jobs

    def predict(
        self,
        project: Ref,
        *,
        model: str,
        label: str,
        inputs: Mapping[str, str],
        decoder: DecoderLike,
        version: str | None = None,
        task_filter: str = "",
        batch_size: int = 0,
        labels: Mapping[str, str] | None = None,
        job_id: str = "",
        request_id: str | None = None,
        wait: bool = True,
    ) -> jobs.PredictionJob:
        """Run a prediction job: `model` ("models/m@prod", "models/m/versions/3" or an
        inference model name; `version` pins one) predicts `label` for the tasks `task_filter`
        selects, its input tensors fed from row columns (`inputs`: {tensor: column}) and its
        outputs read by `decoder` (a `Decoder.*` message, or for classification, multi-label
        and text labels the output tensor's name). Followed to its end with a progress bar
        unless `wait` is False. A server without prediction jobs raises UnimplementedError
        FEATURE_NOT_SUPPORTED; a failed job JobFailedError."""
        parent = project_name(project)
        if isinstance(decoder, str):
            read = pb.GetAnnotationProjectRequest(name=parent)
            project_read = self.call(self._annotation.GetAnnotationProject, read)
            specs = {spec.name: spec for spec in project_read.annotation_project.label_specs}
            if label not in specs:
                raise ValueError(f"{parent} has no label {label!r}")
            decoder = decoder_for(specs[label], decoder)
        job = prediction_job(
            model,
            label,
            inputs,
            decoder,
            version=version,
            task_filter=task_filter,
            batch_size=batch_size,
            labels=labels,
        )
        request = pb.CreatePredictionJobRequest(
            parent=parent,
            prediction_job_id=job_id,
            prediction_job=job,
            request_id=fields.request_id(request_id),
        )
        created = self.call(self._prediction_jobs.create, request).prediction_job
        return self.wait_for_prediction_job(created) if wait else created

    def wait_for_prediction_job(self, job: str | jobs.PredictionJob) -> jobs.PredictionJob:
        """Follow a prediction job to its end; it SUCCEEDED, or JobFailedError."""
        if isinstance(job, str):
            job = self.get_prediction_job(job)
        description = f"Predicting {job.label} with {job.inference_model}"
        return self.watch_job(job, self._prediction_jobs, description=description, unit="tasks")

    def get_prediction_job(self, name: str) -> jobs.PredictionJob:
        request = pb.GetPredictionJobRequest(name=name)
        return self.call(self._annotation.GetPredictionJob, request).prediction_job

    def prediction_jobs(
        self, project: Ref = "-", *, filter: str = "", order_by: str = ""
    ) -> Iterator[jobs.PredictionJob]:
        """A project's prediction jobs (every project's by default), newest first."""
        request = pb.ListPredictionJobsRequest(
            parent=project_name(project), page_size=PAGE_SIZE, filter=filter, order_by=order_by
        )
        return self.paginate(self._annotation.ListPredictionJobs, request, "prediction_jobs")

    def cancel_prediction_job(self, job: Ref) -> jobs.PredictionJob:
        """Ask a prediction job to stop; the predictions it stored stay."""
        request = pb.CancelPredictionJobRequest(name=name_of(job))
        return self.call(self._annotation.CancelPredictionJob, request).prediction_job

    # -------------------------------------------------------------------------- export jobs

    def create_export_job(
        self,
        project: Ref,
        destination: DatasetRef,
        *,
        task_states: Iterable[EnumLike] = (),
        selection: EnumLike | None = None,
        source_columns: Sequence[str] = (),
        expected_parent_version: str | None = None,
        description: str = "",
        tags: Iterable[str] = (),
        labels: Mapping[str, str] | None = None,
        job_id: str = "",
        request_id: str | None = None,
        create: bool = True,
        wait: bool = True,
    ) -> exports.AnnotationExportJob:
        """Start an export job committing a project's annotations, joined to their rows, as
        a new version of `destination` (created when missing with `create`): the tasks in
        `task_states` (default COMPLETED), one row per task ("prefer_ground_truth", the
        default, or "latest") or per annotation ("all") by `selection`. Followed to its end
        unless `wait` is False."""
        destination = dataset_name(destination)
        job = exports.AnnotationExportJob(
            destination_dataset=destination,
            task_states=[fields.enum_value(tasks.TaskState, "TASK_STATE_", s) for s in task_states],
            source_columns=list(source_columns),
            description=description,
            tags=list(tags),
            labels=dict(labels or {}),
        )
        if selection is not None:
            job.selection = fields.enum_value(
                exports.AnnotationSelection, "ANNOTATION_SELECTION_", selection
            )
        if expected_parent_version is not None:
            job.expected_parent_version = expected_parent_version
        request = pb.CreateAnnotationExportJobRequest(
            parent=project_name(project),
            annotation_export_job_id=job_id,
            annotation_export_job=job,
            request_id=fields.request_id(request_id),
        )
        try:
            created = self.call(self._export_jobs.create, request).annotation_export_job
        except NotFoundError as error:
            # Created only when it is missing, so a server without exports changes nothing.
            if not create or error.metadata.get("resource_name") != destination:
                raise
            self._catalog.create_dataset(destination, exist_ok=True)
            created = self.call(self._export_jobs.create, request).annotation_export_job
        return self.wait_for_export_job(created) if wait else created

    def export(
        self, project: Ref, destination: DatasetRef, **options: Any
    ) -> dataset_pb2.DatasetVersion:
        """Run an export job (options as `create_export_job`) and return the version it
        committed."""
        finished = self.create_export_job(project, destination, wait=True, **options)
        return self.get_version(finished.output_version)

    def wait_for_export_job(
        self, job: str | exports.AnnotationExportJob
    ) -> exports.AnnotationExportJob:
        """Follow an export job to its end; it SUCCEEDED, or JobFailedError."""
        if isinstance(job, str):
            job = self.get_export_job(job)
        description = f"Exporting {project_name(job.name)}"
        return self.watch_job(job, self._export_jobs, description=description, unit="tasks")

    def get_export_job(self, name: str) -> exports.AnnotationExportJob:
        request = pb.GetAnnotationExportJobRequest(name=name)
        return self.call(self._annotation.GetAnnotationExportJob, request).annotation_export_job

    def export_jobs(
        self, project: Ref = "-", *, filter: str = "", order_by: str = ""
    ) -> Iterator[exports.AnnotationExportJob]:
        """A project's export jobs (every project's by default), newest first."""
        request = pb.ListAnnotationExportJobsRequest(
            parent=project_name(project), page_size=PAGE_SIZE, filter=filter, order_by=order_by
        )
        return self.paginate(
            self._annotation.ListAnnotationExportJobs, request, "annotation_export_jobs"
        )

    def cancel_export_job(self, job: Ref) -> exports.AnnotationExportJob:
        request = pb.CancelAnnotationExportJobRequest(name=name_of(job))
        return self.call(self._annotation.CancelAnnotationExportJob, request).annotation_export_job
