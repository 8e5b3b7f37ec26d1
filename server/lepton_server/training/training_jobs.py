"""Training jobs as resources (spec/training.md): create with its checks and resolved
inputs, Get/List/Watch through the shared JobCollection, and the RPCs that change a job —
cancel, pause, resume, delete — plus the downloads of output and checkpoints and the
registration of a finished job's model. The work of each job is a `JobRun`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from typing import Any

from lepton.training.v1 import checkpoint_pb2
from lepton.training.v1 import training_job_pb2 as tj
from lepton.training.v1 import training_service_pb2 as pb
from lepton.type.v1 import job_pb2
from lepton_server.aip import request_ids, resource_names
from lepton_server.aip.jobs.collection import JobCollection
from lepton_server.aip.jobs.runner import TERMINAL
from lepton_server.runtime.errors import FailedPrecondition, ResourceExhausted, invalid_field
from lepton_server.runtime.principals import current_principal
from lepton_server.runtime.sqlite_database import SqliteDatabase
from lepton_server.training import job_specs, training_data
from lepton_server.training.capacity import Capacity
from lepton_server.training.job_runs import JobRun, RunContext
from lepton_server.training.model_registration import version_of

KIND = "trainingJobs"
S = job_pb2
# What CreateTrainingJob reads of the client's job; everything else is output only.
OUTPUTS = [
    field.name
    for field in tj.TrainingJob.DESCRIPTOR.fields
    if field.name not in ("display_name", "labels", "spec")
]
CREATE = "CreateTrainingJob"
REGISTER = "RegisterTrainingJobOutput"


def job_id_of(name: str, field: str = "name") -> str:
    return resource_names.parse(name, (KIND,), field)[0]


class TrainingJobs:
    """The jobs of one server."""

    def __init__(
        self,
        collection: JobCollection,
        context: RunContext,
        store: SqliteDatabase,
        *,
        capacity: Capacity,
        features: Collection[str],
        secrets: Mapping[str, str],
        max_jobs_per_creator: int = 0,
    ) -> None:
        self.collection = collection
        self.runner = collection.runner
        self.context = context
        self.store = store
        self.capacity = capacity
        self.features = frozenset(features)
        self.secrets = secrets
        self.max_jobs_per_creator = max_jobs_per_creator
        self.runs: dict[str, JobRun] = {}

    # --- create -----------------------------------------------------------------------------

    async def create(self, request: pb.CreateTrainingJobRequest) -> tj.TrainingJob:
        """TRN-010 to TRN-017: the job checked, its inputs resolved, created QUEUED (or the
        would-be job with an empty name for `validate_only`)."""
        request_ids.check_request_id(request.request_id)
        if request.request_id and not request.validate_only:
            earlier = request_ids.replayed(self.store, CREATE, "", request)
            if earlier is not None:
                return self.runner.get(earlier)
        if request.training_job_id:
            resource_names.check_id(request.training_job_id, "training_job_id", "job id")
        given = request.training_job
        checked = self.check(given)
        job = tj.TrainingJob(display_name=given.display_name, labels=given.labels, spec=given.spec)
        await self._resolve(job, checked)
        if request.validate_only:
            # The name is checked as a real create would, and not taken.
            if request.training_job_id:
                self.runner.new_name(KIND, request.training_job_id, "training_job_id", "t")
            return job
        job.name = self.runner.new_name(KIND, request.training_job_id, "training_job_id", "t")
        job.creator = current_principal()
        self._check_quota(job.creator)
        job.queue_position = -1
        run = JobRun(self.context, job.name, checked)
        self.runs[job.name] = run
        created = self.runner.create(KIND, KIND, job, run, queues_itself=True)
        if request.request_id:
            request_ids.remember(self.store, CREATE, "", request, created.name)
        return created

    def check(self, job: tj.TrainingJob) -> job_specs.CheckedSpec:
        """The local checks of a job's spec (job_specs)."""
        return job_specs.check_spec(
            job,
            capacity=self.capacity,
            features=self.features,
            secrets=self.secrets,
            file_roots=self.context.file_roots,
        )

    def _check_quota(self, creator: str) -> None:
        """TRN-033: RESOURCE_EXHAUSTED, QUOTA_EXCEEDED past the creator's unfinished jobs."""
        limit = self.max_jobs_per_creator
        if not limit:
            return
        active = sum(
            1
            for job in self.runner.list(KIND, None)
            if job.creator == creator and job.status.state not in TERMINAL
        )
        if active >= limit:
            raise ResourceExhausted(
                reason="QUOTA_EXCEEDED",
                message=f"{creator or 'this principal'} has {active} unfinished training jobs; "
                f"the quota is {limit}",
                metadata={
                    "limit": "unfinished_jobs_per_creator",
                    "quota": str(limit),
                    "requested": "1",
                    "available": str(max(0, limit - active)),
                },
            )

    async def _resolve(self, job: tj.TrainingJob, checked: job_specs.CheckedSpec) -> None:
        """TRN-014, TRN-017, TRN-056, TRN-057: what the job names, made concrete."""
        spec = job.spec
        resolved = job.resolved_inputs
        job_specs.check_data_uris(spec.data)
        datasets = await asyncio.to_thread(
            training_data.resolve_inputs, self.context.data(), spec.data
        )
        resolved.datasets.extend(datasets)
        for key, value in checked.hyperparameters.items():
            resolved.hyperparameters[key].CopyFrom(value)
        resolved.resources.CopyFrom(checked.resources)
        if spec.resume_from_checkpoint:
            resolved.resume_from_checkpoint = self._resumable(
                spec.resume_from_checkpoint, checked.trainer
            )
        registration = self.context.registration()
        if spec.base_model_version:
            assert registration is not None
            resolved.base_model_version = await asyncio.to_thread(
                registration.base_model_version, spec.base_model_version
            )
        if spec.output.HasField("registration"):
            assert registration is not None
            await asyncio.to_thread(
                registration.check_model,
                spec.output.registration,
                "training_job.spec.output.registration.model",
            )

    def _resumable(self, name: str, trainer: str) -> str:
        field = "training_job.spec.resume_from_checkpoint"
        resource_names.parse(name, (KIND, "checkpoints"), field)
        checkpoint = self.context.checkpoints.get(name)
        if checkpoint.trainer != trainer:
            raise FailedPrecondition(
                reason="CHECKPOINT_INCOMPATIBLE",
                message=f"{name} was written by {checkpoint.trainer}, not {trainer}",
                metadata={"resource_name": name},
            )
        return name

    # --- reading ----------------------------------------------------------------------------

    def get(self, name: str) -> tj.TrainingJob:
        return self.collection.get(name)

    def list(self, request: pb.ListTrainingJobsRequest) -> tuple[list[tj.TrainingJob], str]:
        return self.collection.list(request)

    def watch(self, name: str) -> AsyncIterator[tj.TrainingJob]:
        return self.collection.watch(name)

    # --- control ----------------------------------------------------------------------------

    async def cancel(self, name: str) -> tj.TrainingJob:
        """TRN-023 to TRN-025: QUEUED and PAUSED jobs end CANCELLED at once; a RUNNING job
        becomes CANCELLING while its workers stop."""
        job = self.get(name)
        state = job.status.state
        if state in (S.JOB_STATE_QUEUED, S.JOB_STATE_PAUSED):
            self.runner.update(name, _clear_pause)
            await self.runner.set_state(name, S.JOB_STATE_CANCELLED, "cancelled")
            self._wake(name)
            return self.runner.get(name)
        cancelled = await self.collection.cancel(name)
        if state == S.JOB_STATE_RUNNING:
            self.runner.update(name, _clear_pause)
            self._stop(name, "cancel")
        return cancelled if state != S.JOB_STATE_RUNNING else self.runner.get(name)

    async def pause(self, name: str) -> tj.TrainingJob:
        """TRN-026: QUEUED → PAUSED at once; RUNNING stays RUNNING until the trainer has
        checkpointed and stopped."""
        self._needs("training.pause", "PauseTrainingJob")
        job = self.get(name)
        state = job.status.state
        if state == S.JOB_STATE_QUEUED:
            await self.runner.set_state(name, S.JOB_STATE_PAUSED, "paused")
            self._wake(name)
        elif state == S.JOB_STATE_RUNNING:
            self.runner.update(name, lambda job: setattr(job, "pause_requested", True))
            self._stop(name, "pause")
        elif state != S.JOB_STATE_PAUSED:
            raise FailedPrecondition(
                reason="JOB_NOT_PAUSABLE",
                message=f"{name} is {S.JobState.Name(state)}",
                metadata={"resource_name": name},
            )
        return self.runner.get(name)

    async def resume(self, name: str) -> tj.TrainingJob:
        """TRN-027: PAUSED → QUEUED; the next attempt continues from the latest checkpoint."""
        self._needs("training.pause", "ResumeTrainingJob")
        job = self.get(name)
        state = job.status.state
        if state == S.JOB_STATE_PAUSED:
            await self.runner.set_state(name, S.JOB_STATE_QUEUED, "resumed")
            self._wake(name)
        elif state not in (S.JOB_STATE_QUEUED, S.JOB_STATE_RUNNING):
            raise FailedPrecondition(
                reason="JOB_NOT_RESUMABLE",
                message=f"{name} is {S.JobState.Name(state)}",
                metadata={"resource_name": name},
            )
        return self.runner.get(name)

    def delete(self, name: str) -> None:
        """TRN-034: a terminal job goes with its logs, metrics, checkpoints and output."""
        job = self.get(name)
        if job.status.state not in TERMINAL:
            raise FailedPrecondition(
                reason="JOB_NOT_TERMINAL",
                message=f"{name} is {S.JobState.Name(job.status.state)}",
                metadata={"resource_name": name},
            )
        self.runner.delete(name)
        self.runs.pop(name, None)
        self.context.records.delete(name)
        self.context.checkpoints.delete_job(name)
        for artifact in (job.output.artifact, job.output.source_artifact):
            key = artifact.descriptor.digest.hex
            if key and not self.context.checkpoints.uses(key) and not self.uses_blob(key):
                self.context.blobs.delete(key)

    def uses_blob(self, key: str) -> bool:
        """Whether a job's output (or its native source) is the blob `key`."""
        return any(
            key
            in (
                job.output.artifact.descriptor.digest.hex,
                job.output.source_artifact.descriptor.digest.hex,
            )
            for job in self.runner.list(KIND, None)
        )

    def _needs(self, feature: str, what: str) -> None:
        if feature not in self.features:
            raise job_specs.unsupported(feature, what)

    def _wake(self, name: str) -> None:
        run = self.runs.get(name)
        if run is not None:
            run.wake.set()

    def _stop(self, name: str, reason: str) -> None:
        """Ask the attempt to stop without making the caller wait for the grace period."""
        run = self.runs.get(name)
        if run is not None:
            task = asyncio.ensure_future(run.stop(reason))
            _background.add(task)
            task.add_done_callback(_background.discard)

    # --- output -----------------------------------------------------------------------------

    def download_output(
        self, request: pb.DownloadTrainingJobOutputRequest
    ) -> AsyncIterator[pb.DownloadTrainingJobOutputResponse]:
        """TRN-050, TRN-051: the output's descriptor, then its bytes from an offset."""
        job = self.get(request.name)
        if job.status.state != S.JOB_STATE_SUCCEEDED:
            raise FailedPrecondition(
                reason="JOB_NOT_SUCCEEDED",
                message=f"{request.name} is {S.JobState.Name(job.status.state)}",
                metadata={"resource_name": request.name},
            )
        descriptor = job.output.artifact.descriptor
        chunks = self.context.blobs.download(
            descriptor.digest.hex,
            descriptor,
            request.offset,
            request.length_bytes,
            request.chunk_size_bytes,
        )
        return _responses(pb.DownloadTrainingJobOutputResponse, descriptor, chunks)

    async def register_output(self, request: pb.RegisterTrainingJobOutputRequest) -> str:
        """TRN-058, TRN-059: a finished job's output, or a checkpoint's model, registered."""
        self._needs("training.late_registration", REGISTER)
        if len(request.request_id) > 64:
            raise invalid_field("request_id", "at most 64 characters")
        job = self.get(request.name)
        if not request.HasField("registration"):
            raise invalid_field("registration", "the registration is required")
        job_specs.check_registration(request.registration, "registration")
        if request.request_id:
            earlier = request_ids.replayed(self.store, REGISTER, request.name, request)
            if earlier is not None:
                return earlier
        registration = self.context.registration()
        assert registration is not None
        if request.checkpoint:
            content, output, metadata = self._checkpoint_model(job, request.checkpoint)
        else:
            if job.status.state != S.JOB_STATE_SUCCEEDED:
                raise FailedPrecondition(
                    reason="JOB_NOT_SUCCEEDED",
                    message=f"{request.name} is {S.JobState.Name(job.status.state)}",
                    metadata={"resource_name": request.name},
                )
            output = job.output
            content = output.artifact.descriptor.digest.hex
            metadata = {}
        job.spec.output.registration.CopyFrom(request.registration)
        version = version_of(job, output, self.context.records.latest_values(job.name))
        version.metadata.update(metadata)
        key = f"{job.name}#register#{request.request_id or len(job.registered_model_versions)}"

        def register() -> str:
            with self.context.blobs.plaintext(content) as path:
                return registration.register(request.registration, version, path, request_key=key)

        name = await asyncio.to_thread(register)
        self.runner.update(job.name, lambda job: job.registered_model_versions.append(name))
        if request.request_id:
            request_ids.remember(self.store, REGISTER, request.name, request, name)
        return name

    def _checkpoint_model(
        self, job: tj.TrainingJob, name: str
    ) -> tuple[str, tj.TrainingJobOutput, dict[str, str]]:
        """The blob key of a checkpoint's model, the output it stands for and its metadata."""
        resource_names.parse(name, (KIND, "checkpoints"), "checkpoint")
        if not name.startswith(f"{job.name}/checkpoints/"):
            raise invalid_field("checkpoint", f"{name} is not a checkpoint of {job.name}")
        checkpoint = self.context.checkpoints.get(name)
        if not checkpoint.HasField("model"):
            raise FailedPrecondition(
                reason="CHECKPOINT_HAS_NO_MODEL",
                message=f"{name} holds no model",
                metadata={"resource_name": name},
            )
        output = tj.TrainingJobOutput(
            artifact=checkpoint.model,
            signature=checkpoint.signature,
            framework=job.output.framework,
            framework_version=job.output.framework_version,
        )
        return self.context.checkpoints.model_key(name), output, {"lepton.checkpoint": name}

    # --- checkpoints ------------------------------------------------------------------------

    def list_checkpoints(
        self, request: pb.ListCheckpointsRequest
    ) -> tuple[list[checkpoint_pb2.Checkpoint], str]:
        self.get(request.parent)
        return self.context.checkpoints.list(request.parent, request)

    def get_checkpoint(self, name: str) -> checkpoint_pb2.Checkpoint:
        return self.context.checkpoints.get(name)

    def download_checkpoint(
        self, request: pb.DownloadCheckpointRequest
    ) -> AsyncIterator[pb.DownloadCheckpointResponse]:
        return self.context.checkpoints.download(request.name, request)

    # --- records ----------------------------------------------------------------------------

    def stream_logs(
        self, request: pb.StreamTrainingJobLogsRequest
    ) -> AsyncIterator[pb.StreamTrainingJobLogsResponse]:
        self.get(request.name)
        return self.context.records.stream_logs(request.name, request)

    def stream_metrics(
        self, request: pb.StreamTrainingJobMetricsRequest
    ) -> AsyncIterator[pb.StreamTrainingJobMetricsResponse]:
        self.get(request.name)
        return self.context.records.stream_metrics(request.name, request)

    def pinned(self) -> set[str]:
        """Checkpoints that non-terminal jobs resume from (kept by retention, TRN-048)."""
        return {
            job.resolved_inputs.resume_from_checkpoint
            for job in self.runner.list(KIND, None)
            if job.status.state not in TERMINAL and job.resolved_inputs.resume_from_checkpoint
        }


_background: set[asyncio.Task[None]] = set()


def _clear_pause(job: tj.TrainingJob) -> None:
    job.pause_requested = False  # a cancel overrides a pending pause


async def _responses(
    response: Callable[..., Any], descriptor: Any, chunks: AsyncIterator[Any]
) -> AsyncIterator[Any]:
    yield response(artifact=descriptor)
    async for chunk in chunks:
        yield response(chunk=chunk)
