"""annotation-core cases of the prediction jobs CreatePredictionJob refuses (ANN-041; feature
`data.annotation.prediction_jobs`): a label or decoder that does not fit the schema, a model
or version the inference service does not know, bindings that do not fit the model, an
unknown column, a bad task filter, batch size or threshold. Each refusal has its code and
reason and creates no job and no prediction."""

from __future__ import annotations

from typing import Any

import grpc

from lepton.data.v1 import prediction_job_pb2 as pj
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.annotation.annotation_checks import INVALID, NOT_FOUND
from lepton_conformance.suites.annotation.annotation_client import AnnotationClient, unique_id
from lepton_conformance.suites.annotation.annotation_jobs import PREDICTION
from lepton_conformance.suites.annotation.prediction_setup import (
    ADD_SUB,
    IDENTITY_BYTES,
    IDENTITY_FP32,
    INPUT,
    OUTPUT,
    SCALE,
    classify,
    job,
    prediction_project,
    prediction_version,
    skip_without_models,
)
from lepton_conformance.suites.annotation.profiles import CORE

CASES = CaseList()
SIGNATURE = "MODEL_SIGNATURE_MISMATCH"
SCHEMA = "LABEL_SCHEMA_MISMATCH"
# (what, job, code, reason, field the violation names or None)
Refusal = tuple[str, pj.PredictionJob, grpc.StatusCode, str, str | None]


def _raise(error: grpc.RpcError) -> None:
    raise error


def _refused(client: AnnotationClient, project: Any, refusal: Refusal) -> None:
    """The job is refused as the row says; no job of its id exists afterwards. A refusal of
    a model of the conformance set as MODEL_NOT_FOUND means the set is not loaded: Skipped."""
    what, request_job, code, reason, field = refusal
    job_id = unique_id("pj")
    error = expect.fails(
        lambda: PREDICTION.create(client, project.name, request_job, job_id),
        f"CreatePredictionJob of {what} to be refused",
    )
    if reason != "MODEL_NOT_FOUND":
        skip_without_models(error, request_job, ("MODEL_NOT_FOUND",))
    try:
        expect.rejects(lambda: _raise(error), code, reason, field=field)
    except Failed as failed:
        raise Failed(f"{failed.wanted} for {what}", failed.got) from None
    PREDICTION.absent(client, f"{project.name}/predictionJobs/{job_id}")


def _check_refusals(ctx: CaseContext, refusals: list[Refusal]) -> None:
    PREDICTION.require(ctx)
    version = prediction_version(ctx)
    with AnnotationClient(ctx) as client:
        project = prediction_project(client, version)
        for refusal in refusals:
            _refused(client, project, refusal)
        expect.equal(PREDICTION.list(client, project.name), [], "prediction jobs of the project")
        expect.equal(
            client.predictions(f"{project.name}/tasks/-"), [], "predictions of the project"
        )


def _decoder(kind: str, model: str = IDENTITY_FP32, column: str = "scores", **job_fields: Any):
    decoders = {
        "classification": lambda: {"classification": pj.ClassificationDecoder(output=OUTPUT)},
        "multi_label": lambda: {"multi_label": pj.MultiLabelDecoder(output=OUTPUT)},
        "text": lambda: {"text": pj.TextDecoder(output=OUTPUT)},
        "bounding_box": lambda: {
            "bounding_box": pj.BoundingBoxDecoder(
                boxes_output=OUTPUT, classes_output=OUTPUT, scores_output=OUTPUT
            )
        },
    }
    return {**decoders[kind](), **job_fields}


@CASES.case(CORE, "prediction-jobs.refuses-labels-and-decoders-that-do-not-fit", "ANN-041")
def label_refusals(ctx: CaseContext) -> None:
    """A label the schema lacks, or a decoder of another kind than the label's, is
    INVALID_ARGUMENT [LABEL_SCHEMA_MISMATCH]; a job without a decoder [INVALID_FIELD]."""
    fp32 = {INPUT: "scores"}
    _check_refusals(
        ctx,
        [
            ("an unknown label", classify(label="nope"), INVALID, SCHEMA, None),
            (
                "a classification decoder for a MULTI_LABEL label",
                job(IDENTITY_FP32, "tags", fp32, **_decoder("classification")),
                INVALID,
                SCHEMA,
                None,
            ),
            (
                "a multi-label decoder for a CLASSIFICATION label",
                job(IDENTITY_FP32, "animal", fp32, **_decoder("multi_label")),
                INVALID,
                SCHEMA,
                None,
            ),
            (
                "a text decoder for a RATING label",
                job(IDENTITY_BYTES, "quality", {INPUT: "text"}, **_decoder("text")),
                INVALID,
                SCHEMA,
                None,
            ),
            (
                "a bounding-box decoder for a CLASSIFICATION label",
                job(IDENTITY_FP32, "animal", fp32, **_decoder("bounding_box")),
                INVALID,
                SCHEMA,
                None,
            ),
            (
                "no decoder",
                job(IDENTITY_FP32, "animal", fp32),
                INVALID,
                "INVALID_FIELD",
                None,
            ),
        ],
    )


@CASES.case(CORE, "prediction-jobs.refuses-unknown-models-and-versions", "ANN-041", "ANN-002")
def model_refusals(ctx: CaseContext) -> None:
    """A model the inference service does not know is NOT_FOUND [MODEL_NOT_FOUND], an unknown
    version of a known model NOT_FOUND [MODEL_VERSION_NOT_FOUND], and a job of an unknown
    project NOT_FOUND [RESOURCE_NOT_FOUND]; none creates a job."""
    decoder = _decoder("classification")
    _check_refusals(
        ctx,
        [
            (
                "a model the inference service does not know",
                job("conformance-no-such-model", "animal", {INPUT: "scores"}, **decoder),
                NOT_FOUND,
                "MODEL_NOT_FOUND",
                None,
            ),
            (
                "an unknown version of identity_fp32",
                classify(version="97"),
                NOT_FOUND,
                "MODEL_VERSION_NOT_FOUND",
                None,
            ),
            (
                "an unknown version of scale_versions",
                job(SCALE, "grade", {INPUT: "four"}, "7", **decoder),
                NOT_FOUND,
                "MODEL_VERSION_NOT_FOUND",
                None,
            ),
        ],
    )
    with AnnotationClient(ctx) as client:
        missing = f"annotationProjects/{unique_id('gone')}"
        expect.rejects(
            lambda: PREDICTION.create(client, missing, classify()),
            NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            metadata={"resource_name": missing},
        )


@CASES.case(CORE, "prediction-jobs.refuses-bindings-that-do-not-fit-the-model", "ANN-041")
def binding_refusals(ctx: CaseContext) -> None:
    """Bindings that leave a model input unbound, bind one twice or name a tensor the model
    lacks, a decoder output the model does not declare, and a column that cannot convert to
    its tensor's datatype are INVALID_ARGUMENT [MODEL_SIGNATURE_MISMATCH]; an unknown column
    [COLUMN_NOT_FOUND]."""
    decoder = _decoder("classification")

    def fp32(bindings: Any, **fields: Any) -> pj.PredictionJob:
        return job(IDENTITY_FP32, "animal", bindings, **{**decoder, **fields})

    _check_refusals(
        ctx,
        [
            ("no binding", fp32({}), INVALID, SIGNATURE, None),
            (
                "one of add_sub_fp32's two inputs unbound",
                job(ADD_SUB, "animal", {"INPUT0": "scores"}, **decoder),
                INVALID,
                SIGNATURE,
                None,
            ),
            (
                "an input bound twice",
                fp32([(INPUT, "scores"), (INPUT, "four")]),
                INVALID,
                SIGNATURE,
                None,
            ),
            (
                "a tensor the model does not declare",
                fp32([(INPUT, "scores"), ("INPUT9", "four")]),
                INVALID,
                SIGNATURE,
                None,
            ),
            (
                "a decoder output the model does not declare",
                fp32(
                    {INPUT: "scores"},
                    classification=pj.ClassificationDecoder(output="OUTPUT9"),
                ),
                INVALID,
                SIGNATURE,
                None,
            ),
            (
                "a string column for an FP32 input",
                fp32({INPUT: "text"}),
                INVALID,
                SIGNATURE,
                None,
            ),
            (
                "a list<float32> column for a BYTES input",
                job(IDENTITY_BYTES, "caption", {INPUT: "scores"}, **_decoder("text")),
                INVALID,
                SIGNATURE,
                None,
            ),
            ("an unknown column", fp32({INPUT: "nope"}), INVALID, "COLUMN_NOT_FOUND", None),
        ],
    )


@CASES.case(
    CORE, "prediction-jobs.refuses-bad-filters-batch-sizes-and-thresholds", "ANN-041", "ANN-002"
)
def field_refusals(ctx: CaseContext) -> None:
    """A task_filter ListAnnotationTasks would reject is INVALID_FILTER on
    prediction_job.task_filter; a negative batch_size or a threshold outside [0, 1] is
    INVALID_FIELD."""

    def tags(threshold: float) -> pj.PredictionJob:
        decoder = pj.MultiLabelDecoder(output=OUTPUT, threshold=threshold)
        return job(IDENTITY_FP32, "tags", {INPUT: "scores"}, multi_label=decoder)

    filter_field = "prediction_job.task_filter"
    _check_refusals(
        ctx,
        [
            (
                "a filter on an unknown field",
                classify(task_filter='colour = "red"'),
                INVALID,
                "INVALID_FILTER",
                filter_field,
            ),
            (
                "a filter on an unknown state",
                classify(task_filter="state = PURPLE"),
                INVALID,
                "INVALID_FILTER",
                filter_field,
            ),
            (
                "a malformed filter",
                classify(task_filter="row_index <"),
                INVALID,
                "INVALID_FILTER",
                filter_field,
            ),
            ("batch_size -1", classify(batch_size=-1), INVALID, "INVALID_FIELD", None),
            ("threshold 2", tags(2.0), INVALID, "INVALID_FIELD", None),
            ("threshold -0.5", tags(-0.5), INVALID, "INVALID_FIELD", None),
        ],
    )
