"""Prediction jobs (spec/annotation.md §3.5, ANN-041 to ANN-046): a model of the inference
layer predicts a label for a project's tasks, in batches, on the shared JobRunner. The
request is checked against the model's metadata before the job exists; the job stacks the
bound columns of each batch's row copies into tensors, calls ModelInfer, decodes the outputs
and stores one Prediction per task. Tasks that already hold a prediction of the same model and
resolved version are skipped, so running the job again resumes it."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
import numpy as np
import pyarrow as pa

from lepton.data.v1 import annotation_pb2 as an
from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
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
from lepton_server.annotation.inference_calls import InferenceModels, served_name
from lepton_server.annotation.prediction_decoders import (
    DECODER_KIND,
    decode,
    decoder_outputs,
    output_mismatch,
)
from lepton_server.annotation.projects import Projects
from lepton_server.annotation.resource_checks import new_id
from lepton_server.annotation.tasks import TASK_FILTER, Tasks
from lepton_server.runtime.errors import FieldViolation, InvalidArgument, LeptonError, invalid_field
from lepton_server.runtime.layer_calls import as_lepton_error
from lepton_server.runtime.principals import current_principal

KIND = "predictionJobs"
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
        names = [t.name for t in sorted(selected, key=lambda t: (t.row_index, t.name))]
        total, done = len(names), 0
        handle.progress(0, total, "tasks")
        resolved = ""
        pending = names
        while pending:
            if handle.stopping:
                raise Cancelled()
            if resolved:
                pending = await asyncio.to_thread(self._unpredicted, pending, plan.model, resolved)
                skipped = total - done - len(pending)
                if skipped:
                    done += skipped
                    handle.update(
                        lambda j, n=skipped: setattr(
                            j, "skipped_task_count", j.skipped_task_count + n
                        )
                    )
                if not pending:
                    break
            batch, pending = pending[: plan.batch_size], pending[plan.batch_size :]
            version, created = await asyncio.to_thread(
                self._predict, job.name, plan, batch, resolved
            )
            if not resolved:
                resolved = version
                handle.update(
                    lambda j, v=version: setattr(j, "resolved_inference_model_version", v)
                )
            done += len(batch)

            def count(j: pj.PredictionJob, made: int = created, seen: int = len(batch)) -> None:
                j.created_prediction_count += made
                j.skipped_task_count += seen - made

            handle.update(count)
            handle.progress(done, total, "tasks")

    def _unpredicted(self, names: Sequence[str], model: str, version: str) -> list[str]:
        done = self.store.predicted_tasks(names, model, version)
        return [name for name in names if name not in done]

    def _predict(self, job: str, plan: Plan, batch: list[str], resolved: str) -> tuple[str, int]:
        """Predict one batch; (the model version that answered, predictions stored)."""
        rows = [pa.ipc.open_stream(pa.py_buffer(self.store.task_row(n))).read_all() for n in batch]
        tensors = [
            (tensor, datatype, _stack([r.column(column)[0].as_py() for r in rows], datatype, shape))
            for tensor, datatype, column, shape in plan.inputs
        ]
        try:
            answer = self.models.infer(plan.model, plan.version, tensors, plan.outputs)
        except grpc.RpcError as error:
            raise _inference_failed(error, self._job(job).inference_model) from None
        missing = [name for name in plan.outputs if name not in answer.outputs]
        if missing:
            raise output_mismatch(missing[0], "the model did not return it")
        results = decode(self._job(job), plan.spec, answer.outputs, len(batch))
        version = resolved or answer.model_version
        created = 0
        with self.store.atomic():
            already = self.store.predicted_tasks(batch, plan.model, version)
            for name, task_results in zip(batch, results, strict=True):
                if name in already or self.store.task(name) is None:
                    continue
                scores = [r.score for r in task_results]
                prediction = an.Prediction(
                    name=f"{name}/predictions/{new_id('p')}",
                    results=task_results,
                    inference_model=plan.model,
                    inference_model_version=version,
                    score=max(scores) if scores else 0.0,
                    prediction_job=job,
                    creator=plan.creator,
                    create_time=timestamp(now_ns()),
                )
                self.store.put_prediction(name, prediction)
                created += 1
        return version, created

    def _job(self, name: str) -> pj.PredictionJob:
        return self.collection.runner.resource(name)


def _inference_failed(error: grpc.RpcError, model: str) -> LeptonError:
    """The job's error for a failed inference call: its code, reason INFERENCE_FAILED."""
    answered = as_lepton_error(from_rpc_error(error))
    return type(answered)(
        reason="INFERENCE_FAILED",
        message=f"the inference service answered {error.code().name}: {answered.message}",
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
