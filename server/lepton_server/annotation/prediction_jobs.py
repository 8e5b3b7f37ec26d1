"""Prediction jobs (spec/annotation.md §3.5, ANN-041 to ANN-046): a model of the inference
layer predicts a label for a project's tasks, in batches, on the shared JobRunner. The
request is checked against the model's metadata before the job exists; the job stacks the
bound columns of each batch's row copies into tensors, calls ModelInfer, decodes the outputs
and stores one Prediction per task. Tasks that already hold a prediction of the same model and
resolved version are skipped, so running the job again resumes it."""

from __future__ import annotations

import asyncio
import collections
import math
import time
from dataclasses import dataclass

import grpc
import numpy as np
import pyarrow as pa

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_task_pb2 as at
from lepton.data.v1 import prediction_job_pb2 as pj
from lepton.inference.v1 import inference_service_pb2 as ipb
from lepton_ai.errors import from_rpc_error
from lepton_server.aip.filtering.compile import compile_filter
from lepton_server.aip.jobs.collection import JobCollection
from lepton_server.aip.jobs.runner import Cancelled, JobHandle
from lepton_server.aip.request_ids import StoredRequestIds, check_request_id
from lepton_server.aip.standard_fields import now_ns, timestamp
from lepton_server.annotation.annotation_store import AnnotationStore
from lepton_server.annotation.dataset_rows import DatasetRows, arrow_schema
from lepton_server.annotation.inference_calls import InferenceModels, InferResult, served_name
from lepton_server.annotation.prediction_decoders import (
    DECODER_KIND,
    decode,
    decoder_outputs,
    output_mismatch,
)
from lepton_server.annotation.projects import Projects
from lepton_server.annotation.tasks import TASK_FILTER, Tasks
from lepton_server.runtime.errors import FieldViolation, InvalidArgument, LeptonError, invalid_field
from lepton_server.runtime.layer_calls import as_lepton_error
from lepton_server.runtime.principals import current_principal

KIND = "predictionJobs"
# Inference calls in flight while earlier batches are decoded and stored.
WINDOW = 4
REPORT_SECONDS = 1.0
DEFAULT_BATCH, MAX_BATCH = 32, 1024
OUTPUTS = (
    "status",
    "resolved_inference_model_version",
    "created_prediction_count",
    "skipped_task_count",
)
NUMERIC = frozenset("biuf")


def _signature_mismatch(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(
        reason="MODEL_SIGNATURE_MISMATCH",
        message=f"{field}: {description}",
        violations=[FieldViolation(field, description)],
    )


def _fits(column: pa.DataType, datatype: str) -> bool:
    """Whether a column's values convert to a tensor datatype (TensorBinding.column)."""
    while (
        pa.types.is_list(column)
        or pa.types.is_fixed_size_list(column)
        or pa.types.is_large_list(column)
    ):
        column = column.value_type
    textual = any(
        check(column)
        for check in (
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_binary,
            pa.types.is_large_binary,
        )
    )
    if datatype == "BYTES":
        return textual
    return not textual and (
        pa.types.is_integer(column) or pa.types.is_floating(column) or pa.types.is_boolean(column)
    )


@dataclass(frozen=True)
class Plan:
    """What a running job needs besides its resource."""

    project: ap.AnnotationProject
    spec: ap.LabelSpec
    model: str
    version: str
    inputs: tuple[tuple[str, str, str, tuple[int, ...]], ...]  # tensor, datatype, column, shape
    outputs: tuple[str, ...]
    batch_size: int
    creator: str


class PredictionJobs:
    """Prediction jobs of the store's projects."""

    def __init__(
        self,
        store: AnnotationStore,
        *,
        projects: Projects,
        tasks: Tasks,
        rows: DatasetRows,
        models: InferenceModels,
        collection: JobCollection,
    ) -> None:
        self.store = store
        self.projects = projects
        self.tasks = tasks
        self.rows = rows
        self.models = models
        self.collection = collection
        self.request_ids = StoredRequestIds(store)

    def _plan(self, request: pb.CreatePredictionJobRequest) -> Plan:
        """Every check of ANN-041, before a job exists."""
        check_request_id(request.request_id)
        project = self.projects.stored(request.parent, "parent")
        job = request.prediction_job
        kind = job.WhichOneof("decoder")
        if kind is None:
            raise invalid_field("prediction_job.decoder", "set one decoder")
        specs = {spec.name: spec for spec in project.label_specs}
        spec = specs.get(job.label)
        if spec is None or DECODER_KIND[kind] != spec.kind:
            raise InvalidArgument(
                reason="LABEL_SCHEMA_MISMATCH",
                message=f"the label {job.label!r} is no {kind} label of the project",
                violations=[FieldViolation("prediction_job.label", "no label of that kind")],
            )
        if kind == "multi_label" and not 0.0 <= job.multi_label.threshold <= 1.0:
            raise invalid_field("prediction_job.multi_label.threshold", "a threshold is in [0, 1]")
        if kind == "bounding_box" and not (
            math.isfinite(job.bounding_box.min_score) and 0.0 <= job.bounding_box.min_score <= 1.0
        ):
            raise invalid_field("prediction_job.bounding_box.min_score", "a score is in [0, 1]")
        if not 0 <= job.batch_size <= MAX_BATCH:
            raise invalid_field("prediction_job.batch_size", f"from 0 to {MAX_BATCH}")
        compile_filter(job.task_filter, TASK_FILTER, "prediction_job.task_filter")
        if not job.inference_model:
            raise invalid_field("prediction_job.inference_model", "a job needs a model")
        model, version = served_name(job.inference_model, job.inference_model_version)
        metadata = self.models.metadata(model, version)
        schema = arrow_schema(self.rows.version(project.dataset_version, "dataset_version"))
        inputs = self._bindings(job, metadata, schema)
        declared = {t.name for t in metadata.outputs}
        for field, name in decoder_outputs(job):
            if name not in declared:
                raise _signature_mismatch(field, f"the model declares no output {name!r}")
        return Plan(
            project=project,
            spec=spec,
            model=model,
            version=version,
            inputs=inputs,
            outputs=tuple(name for _, name in decoder_outputs(job)),
            batch_size=job.batch_size or DEFAULT_BATCH,
            creator=current_principal(),
        )

    def _bindings(
        self, job: pj.PredictionJob, metadata: ipb.ModelMetadataResponse, schema: pa.Schema
    ) -> tuple[tuple[str, str, str, tuple[int, ...]], ...]:
        declared = {t.name: t for t in metadata.inputs}
        bound: dict[str, tuple[str, str, str, tuple[int, ...]]] = {}
        for i, binding in enumerate(job.inputs):
            field = f"prediction_job.inputs[{i}]"
            tensor = declared.get(binding.tensor)
            if tensor is None or binding.tensor in bound:
                raise _signature_mismatch(f"{field}.tensor", "not a model input, or bound twice")
            index = schema.get_field_index(binding.column)
            if index < 0:
                raise InvalidArgument(
                    reason="COLUMN_NOT_FOUND",
                    message=f"the version has no column {binding.column!r}",
                    metadata={"column": binding.column},
                    violations=[FieldViolation(f"{field}.column", "no such column")],
                )
            if not _fits(schema.field(index).type, tensor.datatype):
                raise _signature_mismatch(
                    f"{field}.column",
                    f"{schema.field(index).type} does not convert to {tensor.datatype}",
                )
            bound[binding.tensor] = (
                binding.tensor,
                tensor.datatype,
                binding.column,
                tuple(tensor.shape),
            )
        missing = sorted(set(declared) - set(bound))
        if missing:
            raise _signature_mismatch("prediction_job.inputs", f"inputs {missing} are not bound")
        return tuple(bound.values())

    async def create(self, request: pb.CreatePredictionJobRequest) -> pj.PredictionJob:
        plan = await asyncio.to_thread(self._plan, request)
        job = self.collection.create(
            self.request_ids,
            "CreatePredictionJob",
            request,
            request.prediction_job,
            id_field="prediction_job_id",
            outputs=OUTPUTS,
            work=lambda handle: self._work(handle, plan),
        )
        return job

    # --- the work ----------------------------------------------------------------------------

    async def _work(self, handle: JobHandle, plan: Plan) -> None:
        job = handle.job
        selected = await asyncio.to_thread(
            self.tasks.matching, plan.project.name, job.task_filter, "task_filter"
        )
        tasks = sorted(selected, key=lambda t: (t.row_index, t.name))
        handle.progress(0, len(tasks), "tasks")
        loop = asyncio.get_running_loop()
        run = PredictionRun(self, handle, plan, job.name, loop)
        try:
            await asyncio.to_thread(run.predict, tasks)
        finally:
            # Also when cancelled or failed: what the job stored stays and is reported.
            handle.update(run.outcome.record)
        handle.progress(len(tasks), len(tasks), "tasks")

    def _job(self, name: str) -> pj.PredictionJob:
        return self.collection.runner.resource(name)


@dataclass
class Outcome:
    resolved: str = ""
    created: int = 0
    skipped: int = 0

    def record(self, job: pj.PredictionJob) -> None:
        """Set the job's output fields to what the run did so far."""
        job.resolved_inference_model_version = self.resolved
        job.created_prediction_count = self.created
        job.skipped_task_count = self.skipped


class PredictionRun:
    """One run of a prediction job, on a worker thread: the bound columns read once per
    version, a window of inference calls in flight while earlier batches are decoded and
    stored, progress and counts reported to the job about once a second."""

    def __init__(
        self,
        jobs: PredictionJobs,
        handle: JobHandle,
        plan: Plan,
        name: str,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.jobs, self.handle, self.plan, self.name, self.loop = jobs, handle, plan, name, loop
        self.outcome = Outcome()
        self.done = self.total = 0
        # A job predicts a task once: its predictions take the job's id (ANN-044).
        self.job_id = name.rsplit("/", 1)[1]
        self.reported = 0.0

    def predict(self, tasks: list[at.AnnotationTask]) -> Outcome:
        names = [t.name for t in tasks]
        self.total = len(names)
        inputs = self._inputs(tasks)
        plan = self.plan
        batches = [
            list(range(start, min(start + plan.batch_size, len(tasks))))
            for start in range(0, len(tasks), plan.batch_size)
        ]
        if not batches:
            return self.outcome
        # The first batch alone: its answer names the version, and so the tasks to skip.
        first = self._result(self._submit(inputs, batches[0]))
        self.outcome.resolved = first.model_version
        already = self.jobs.store.predicted_tasks(names, plan.model, first.model_version)
        self._store(names, batches[0], first, already)
        pending = collections.deque()
        for batch in batches[1:]:
            kept = [i for i in batch if names[i] not in already]
            self.outcome.skipped += len(batch) - len(kept)
            self.done += len(batch) - len(kept)
            if kept:
                pending.append(kept)
        flying: collections.deque = collections.deque()
        while pending or flying:
            if self.handle.stopping:
                raise Cancelled()
            while pending and len(flying) < WINDOW:
                batch = pending.popleft()
                flying.append((batch, self._submit(inputs, batch)))
            batch, call = flying.popleft()
            self._store(names, batch, self._result(call), already)
        return self.outcome

    def _inputs(self, tasks: list[at.AnnotationTask]) -> dict[str, list]:
        """Each bound column's values for every task, in task order: read once per version,
        or from the tasks' row copies when a version is gone (ANN-012)."""
        columns = sorted({column for _, _, column, _ in self.plan.inputs})
        values: dict[str, list] = {column: [None] * len(tasks) for column in columns}
        by_version: dict[str, list[int]] = {}
        for i, task in enumerate(tasks):
            by_version.setdefault(task.dataset_version, []).append(i)
        for version, positions in by_version.items():
            try:
                table = self.jobs.rows.columns(version, columns)
                rows = [tasks[i].row_index for i in positions]
                chosen = table.take(pa.array(rows, pa.int64()))
            except LeptonError:
                chosen = pa.concat_tables(
                    pa.ipc.open_stream(pa.py_buffer(self.jobs.store.task_row(tasks[i].name)))
                    .read_all()
                    .select(columns)
                    for i in positions
                )
            for column in columns:
                for i, value in zip(positions, chosen.column(column).to_pylist(), strict=True):
                    values[column][i] = value
        return values

    def _submit(self, values: dict[str, list], batch: list[int]) -> object:
        # Stacked per batch: rows of another batch may hold lists of another length.
        tensors = []
        for tensor, datatype, column, shape in self.plan.inputs:
            try:
                array = _stack([values[column][i] for i in batch], datatype, shape)
            except (ValueError, TypeError) as error:
                raise InvalidArgument(
                    reason="MODEL_SIGNATURE_MISMATCH",
                    message=f"the values of column {column!r} do not stack into {tensor}: {error}",
                    metadata={"column": column, "tensor": tensor},
                ) from None
            tensors.append((tensor, datatype, array))
        return self.jobs.models.submit(
            self.plan.model, self.plan.version, tensors, self.plan.outputs
        )

    def _result(self, call: object) -> InferResult:
        try:
            answer = self.jobs.models.result(call, self.plan.version)
        except (grpc.RpcError, LeptonError) as error:
            raise _inference_failed(error, self.jobs._job(self.name).inference_model) from None
        missing = [name for name in self.plan.outputs if name not in answer.outputs]
        if missing:
            raise output_mismatch(missing[0], "the model did not return it")
        return answer

    def _store(
        self, names: list[str], batch: list[int], answer: InferResult, already: set[str]
    ) -> None:
        plan = self.plan
        results = decode(self.jobs._job(self.name), plan.spec, answer.outputs, len(batch))
        version = self.outcome.resolved
        now = timestamp(now_ns())
        made = []
        for i, task_results in zip(batch, results, strict=True):
            if names[i] in already:
                self.outcome.skipped += 1
                continue
            scores = [r.score for r in task_results]
            made.append(
                (
                    names[i],
                    an.Prediction(
                        name=f"{names[i]}/predictions/{self.job_id}",
                        results=task_results,
                        inference_model=plan.model,
                        inference_model_version=version,
                        score=max(scores) if scores else 0.0,
                        prediction_job=self.name,
                        creator=plan.creator,
                        create_time=now,
                    ),
                )
            )
        self.outcome.created += self.jobs.store.put_predictions(made)
        self.done += len(batch)
        if time.monotonic() - self.reported >= REPORT_SECONDS:
            self.reported = time.monotonic()
            self.loop.call_soon_threadsafe(self.handle.progress, self.done, self.total, "tasks")
            counts = Outcome(self.outcome.resolved, self.outcome.created, self.outcome.skipped)
            self.loop.call_soon_threadsafe(self.handle.update, counts.record)


def _inference_failed(error: grpc.RpcError | LeptonError, model: str) -> LeptonError:
    """The job's error for a failed inference call: its code, reason INFERENCE_FAILED."""
    answered = error if isinstance(error, LeptonError) else as_lepton_error(from_rpc_error(error))
    return type(answered)(
        reason="INFERENCE_FAILED",
        message=f"the inference service answered {answered.code.name}: {answered.message}",
        metadata={"inference_model": model},
    )


def _element(value: object, datatype: str) -> object:
    if datatype == "BYTES":
        return value.encode() if isinstance(value, str) else bytes(value or b"")
    return value


def _stack(values: list[object], datatype: str, shape: tuple[int, ...]) -> np.ndarray:
    """One row value per batch element, stacked on a leading batch dimension and shaped to
    the model input's rank (a scalar column feeding a [-1, 1] input becomes [batch, 1])."""
    if datatype == "BYTES":
        array = np.empty(len(values), dtype=object)
        array[:] = [_element(v, datatype) for v in values]
    else:
        from lepton_server.inference.tensor_codec import DATATYPES  # noqa: PLC0415

        array = np.asarray(values, dtype=DATATYPES[datatype].dtype)
    while array.ndim < len(shape):
        array = array[..., np.newaxis]
    return array
