"""What the prediction-job cases share (spec/annotation.md §3.5, feature
`data.annotation.prediction_jobs`): a dataset of known model inputs, a label schema for every
decoder the conformance model set can feed, jobs over the models of that set
(suites/inference/model_set.py, which the inference profiles already require of a target),
and the results §3.5 derives from the inputs, computed here.

The models: `identity_fp32` (FP32 [-1, -1] in and out: scores in, the same scores out),
`identity_bytes` (BYTES [-1, -1]: text in, the same bytes out), `scale_versions` (FP32
[-1, 4] times the version number, versions 1 and 2) and `add_sub_fp32` (two inputs). No model
of the set returns the boxes, classes and scores tensors a `bounding_box` decoder reads, so no
case runs that decoder; its refusals are checked. A prediction job calls the inference service
the target is configured with; when that service does not hold the set, a job over one of its
models is NOT_FOUND [MODEL_NOT_FOUND] and the case is Skipped with what would run it."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf.message import Message

from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import prediction_job_pb2 as pj
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.case import Failed, Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.suites.annotation.annotation_client import AnnotationClient, label_specs
from lepton_conformance.suites.annotation.annotation_data import _datasets
from lepton_conformance.suites.annotation.annotation_jobs import PREDICTION

IDENTITY_FP32, IDENTITY_BYTES = "identity_fp32", "identity_bytes"
SCALE, ADD_SUB = "scale_versions", "add_sub_fp32"
MODEL_SET = frozenset({IDENTITY_FP32, IDENTITY_BYTES, SCALE, ADD_SUB})
INPUT, OUTPUT = "INPUT0", "OUTPUT0"
# Softmax and sigmoid computed in FP32 or FP64 agree to this.
TOLERANCE = 1e-6
CACHE_KEY = "annotation-prediction-data"
MODEL_SET_NEEDED = (
    "the conformance model set (lepton-conformance models) loaded in the inference service "
    "the target's prediction jobs call"
)

# Each row's three class scores (float32-exact), for `animal` and `tags`: a plain maximum, a
# tie, a score above 1 and scores below 0 (both clamped), and a three-way tie.
SCORES = [
    [0.25, 0.5, 0.125],
    [0.75, 0.75, 0.0],
    [0.0, 0.25, 1.5],
    [-1.0, -0.5, -2.0],
    [0.5, 0.5, 0.5],
]
# Four scores per row, for `grade` through scale_versions (version n multiplies by n).
FOUR = [
    [0.125, 0.25, 0.0625, 0.1875],
    [0.5, 0.25, 0.75, 0.0],
    [0.0, 0.0, 0.0, 0.0],
    [0.25, 0.25, 0.25, 0.375],
    [0.0625, 0.0625, 0.125, 0.0625],
]
# Binary values the text decoder reads back: UTF-8 with multi-byte characters. Bytes that are
# not UTF-8 (which the decoder turns into U+FFFD) cannot come back from identity_bytes: its
# ONNX string tensor may refuse them (spec/inference.md §3), so no case sends them.
DECODED = ["Zürich 🚀", "", "naïve ✓", "plain", "日本"]
RAW = [text.encode() for text in DECODED]
TEXTS = ["héllo wörld ☃", "Alice", "", "日本語", "six"]
ROWS = len(SCORES)
ANIMALS, TAGS, GRADES = ["cat", "dog", "bird"], ["indoor", "outdoor", "night"], list("abcd")
SCHEMA = [
    {"name": "animal", "kind": "LABEL_KIND_CLASSIFICATION", "classes": ANIMALS},
    {"name": "tags", "kind": "LABEL_KIND_MULTI_LABEL", "classes": TAGS},
    {"name": "caption", "kind": "LABEL_KIND_TEXT"},
    {"name": "grade", "kind": "LABEL_KIND_CLASSIFICATION", "classes": GRADES},
    {"name": "quality", "kind": "LABEL_KIND_RATING"},
]


def prediction_rows(scores: list[list[float]] = SCORES) -> pa.Table:
    """The dataset's columns: `scores` list<float32>[3], `four` list<float32>[4], `short`
    list<float32>[2] (one score too few for `animal`), `text` string and `raw` binary."""
    count = len(scores)
    return pa.table(
        {
            "scores": pa.array(scores, pa.list_(pa.float32())),
            "four": pa.array([FOUR[i % ROWS] for i in range(count)], pa.list_(pa.float32())),
            "short": pa.array([[0.5, 0.25]] * count, pa.list_(pa.float32())),
            "text": pa.array([TEXTS[i % ROWS] for i in range(count)], pa.string()),
            "raw": pa.array([RAW[i % ROWS] for i in range(count)], pa.binary()),
        }
    )


def prediction_version(ctx: CaseContext) -> str:
    """The run's prediction dataset version (ROWS rows), written at first use and deleted
    after the last case."""
    found = ctx.cache.get(CACHE_KEY)
    if found is not None:
        return found
    client = _datasets(ctx)
    stack = contextlib.ExitStack()
    name = stack.enter_context(client.scratch())
    try:
        version = client.write(name, prediction_rows()).name
    except BaseException:
        stack.close()
        raise
    ctx.closing.push(stack)
    ctx.cache[CACHE_KEY] = version
    return version


def prediction_project(client: AnnotationClient, version: str, tasks: int = ROWS) -> Any:
    """A project over `version` with SCHEMA and the tasks of rows 0 to tasks - 1; the project
    (its tasks are `{project}/tasks/row-{i}`)."""
    project = client.create_project(version, label_specs(SCHEMA))
    if tasks:
        request = pb.BatchCreateAnnotationTasksRequest(
            parent=project.name, row_range=pb.RowRange(offset=0, limit=tasks)
        )
        client.ok("BatchCreateAnnotationTasks", request)
    return project


def task_name(project: Any, row: int) -> str:
    return f"{project.name}/tasks/row-{row}"


def job(
    model: str,
    label: str,
    bindings: dict[str, str] | list[tuple[str, str]],
    version: str = "",
    **fields: Any,
) -> pj.PredictionJob:
    """A PredictionJob of `model` for `label`, binding each tensor to a column."""
    pairs = bindings.items() if isinstance(bindings, dict) else bindings
    return pj.PredictionJob(
        inference_model=model,
        inference_model_version=version,
        label=label,
        inputs=[pj.TensorBinding(tensor=t, column=c) for t, c in pairs],
        **fields,
    )


def classify(
    softmax: bool = False, label: str = "animal", version: str = "", **fields: Any
) -> pj.PredictionJob:
    """identity_fp32 feeding `scores` to the classification decoder of `label`."""
    decoder = pj.ClassificationDecoder(output=OUTPUT, apply_softmax=softmax)
    return job(IDENTITY_FP32, label, {INPUT: "scores"}, version, classification=decoder, **fields)


def create(
    client: AnnotationClient, parent: str, request_job: Message, job_id: str = "", **kw: Any
) -> Any:
    """CreatePredictionJob of a job that must be accepted; Skipped when the inference service
    the target calls does not hold the conformance model set."""
    try:
        return PREDICTION.create(client, parent, request_job, job_id, **kw)
    except grpc.RpcError as error:
        skip_without_models(error, request_job, ("MODEL_NOT_FOUND", "MODEL_VERSION_NOT_FOUND"))
        raise Failed("CreatePredictionJob to succeed", expect.describe(error)) from None


def skip_without_models(
    error: grpc.RpcError, request_job: Message, reasons: tuple[str, ...]
) -> None:
    """Skipped when `error` refuses a model of the conformance set with one of `reasons`:
    the inference service the target's prediction jobs call does not hold the set."""
    info = expect.error_info(error)
    reason = info.reason if info is not None else ""
    if (
        error.code() == grpc.StatusCode.NOT_FOUND
        and reason in reasons
        and request_job.inference_model in MODEL_SET
    ):
        raise Skipped(
            f"the target's prediction jobs answer {reason} for {request_job.inference_model} "
            "of the conformance model set",
            needs=MODEL_SET_NEEDED,
        )


def run(client: AnnotationClient, parent: str, request_job: Message, job_id: str = "") -> Any:
    """Create a job and wait for its end; the final job, which must have SUCCEEDED."""
    created = create(client, parent, request_job, job_id)
    final = PREDICTION.wait(client, created.name)
    if job_id:
        expect.equal(final.name, f"{parent}/predictionJobs/{job_id}", "the job's name")
    return job_lifecycle.check_succeeded(final)


def project_predictions(client: AnnotationClient, project: Any) -> dict[str, list[Any]]:
    """Task name -> its predictions, oldest first, for every task of the project."""
    found: dict[str, list[Any]] = {}
    for prediction in client.predictions(f"{project.name}/tasks/-"):
        found.setdefault(prediction.name.rsplit("/predictions/", 1)[0], []).append(prediction)
    return found


# --- what §3.5 derives from the inputs ----------------------------------------------------


def clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def softmax(row: list[float]) -> list[float]:
    top = max(row)
    exps = [math.exp(v - top) for v in row]
    return [e / sum(exps) for e in exps]


def sigmoid(row: list[float]) -> list[float]:
    return [1.0 / (1.0 + math.exp(-v)) for v in row]


def argmax(row: list[float]) -> int:
    """The first index of the highest score: ties go to the lower index."""
    return row.index(max(row))


def close(got: float, wanted: float, tolerance: float) -> bool:
    return abs(got - wanted) <= tolerance
