"""Prediction jobs on a real server hosting data, inference and annotation: the conformance
model set's identity models stand in for a classifier (scores in, scores out) and a
captioner (text in, text out)."""

from __future__ import annotations

import grpc
import pyarrow as pa
import pytest
from support.servers import start_server
from support.status_details import error_info

from lepton.data.v1 import annotation_project_pb2 as ap
from lepton.data.v1 import annotation_service_pb2 as pb
from lepton.data.v1 import annotation_service_pb2_grpc as pb_grpc
from lepton.data.v1 import prediction_job_pb2 as pj
from lepton.type.v1 import job_pb2
from lepton_ai.data import DataManager

SCORES = [[0.9, 0.1], [0.3, 0.7], [0.5, 0.5], [0.2, 0.8]]


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    from lepton_conformance.suites.inference.model_set import write_model_set  # noqa: PLC0415

    root = tmp_path_factory.mktemp("predictions")
    write_model_set(root / "models")
    process = start_server(
        ["--services", "data,inference,annotation", "--model-repository", str(root / "models")],
        root / "data",
    )
    data = DataManager.connect(process.address, progress=False)
    table = pa.table(
        {
            "scores": pa.array(SCORES, pa.list_(pa.float32())),
            "caption": ["a cat", "a dog", "two cats", "héllo"],
        }
    )
    version = data.load_data(table, "datasets/scored").name
    channel = grpc.insecure_channel(process.address)
    stub = pb_grpc.AnnotationServiceStub(channel)
    labels = [
        ap.LabelSpec(name="animal", kind=ap.LABEL_KIND_CLASSIFICATION, classes=["cat", "dog"]),
        ap.LabelSpec(name="caption", kind=ap.LABEL_KIND_TEXT),
    ]
    stub.CreateAnnotationProject(
        pb.CreateAnnotationProjectRequest(
            annotation_project_id="p",
            annotation_project=ap.AnnotationProject(dataset_version=version, label_specs=labels),
        )
    )
    list(
        stub.BatchCreateAnnotationTasks(
            pb.BatchCreateAnnotationTasksRequest(parent="annotationProjects/p")
        )
    )
    yield stub
    data.close()
    channel.close()
    process.stop()


def classify_job(**fields) -> pj.PredictionJob:
    base = {
        "inference_model": "identity_fp32",
        "label": "animal",
        "inputs": [pj.TensorBinding(tensor="INPUT0", column="scores")],
        "classification": pj.ClassificationDecoder(output="OUTPUT0"),
    }
    return pj.PredictionJob(**{**base, **fields})


def run(stub, job: pj.PredictionJob) -> pj.PredictionJob:
    created = stub.CreatePredictionJob(
        pb.CreatePredictionJobRequest(parent="annotationProjects/p", prediction_job=job)
    ).prediction_job
    *_, last = stub.WatchPredictionJob(pb.WatchPredictionJobRequest(name=created.name))
    return last.prediction_job


def test_a_job_predicts_each_task_once_and_resumes(stub):
    first = run(stub, classify_job(batch_size=3, task_filter="row_index < 2"))
    assert first.status.state == job_pb2.JOB_STATE_SUCCEEDED, first.status
    assert (first.created_prediction_count, first.skipped_task_count) == (2, 0)
    assert first.resolved_inference_model_version == "1"
    again = run(stub, classify_job(batch_size=3))
    assert (again.created_prediction_count, again.skipped_task_count) == (2, 2)
    predictions = stub.ListPredictions(
        pb.ListPredictionsRequest(
            parent="annotationProjects/p/tasks/-", filter='inference_model = "identity_fp32"'
        )
    ).predictions
    by_task = {p.name.split("/predictions/")[0].rsplit("/", 1)[1]: p for p in predictions}
    assert sorted(by_task) == ["row-0", "row-1", "row-2", "row-3"] and len(predictions) == 4
    assert by_task["row-0"].results[0].classification.class_name == "cat"
    assert by_task["row-1"].results[0].classification.class_name == "dog"
    assert by_task["row-2"].results[0].classification.class_name == "cat"  # a tie: lower index
    assert by_task["row-3"].score == pytest.approx(0.8)
    assert by_task["row-0"].prediction_job == first.name
    # Nothing is an annotation.
    assert not stub.ListAnnotations(
        pb.ListAnnotationsRequest(parent="annotationProjects/p/tasks/-")
    ).annotations


def test_a_text_job_decodes_bytes(stub):
    job = pj.PredictionJob(
        inference_model="identity_bytes",
        label="caption",
        inputs=[pj.TensorBinding(tensor="INPUT0", column="caption")],
        text=pj.TextDecoder(output="OUTPUT0"),
    )
    done = run(stub, job)
    assert done.status.state == job_pb2.JOB_STATE_SUCCEEDED, done.status
    found = stub.ListPredictions(
        pb.ListPredictionsRequest(
            parent="annotationProjects/p/tasks/row-3", filter='inference_model = "identity_bytes"'
        )
    ).predictions
    assert found[0].results[0].text.text == "héllo"


@pytest.mark.parametrize(
    ("job", "code", "reason"),
    [
        (classify_job(inference_model="nope"), grpc.StatusCode.NOT_FOUND, "MODEL_NOT_FOUND"),
        (classify_job(label="caption"), grpc.StatusCode.INVALID_ARGUMENT, "LABEL_SCHEMA_MISMATCH"),
        (
            classify_job(inputs=[pj.TensorBinding(tensor="INPUT0", column="caption")]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "MODEL_SIGNATURE_MISMATCH",
        ),
        (
            classify_job(inputs=[pj.TensorBinding(tensor="INPUT0", column="nope")]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "COLUMN_NOT_FOUND",
        ),
        (classify_job(task_filter="nope = 1"), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FILTER"),
        (classify_job(batch_size=-1), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD"),
    ],
)
def test_a_bad_job_is_refused_before_it_exists(stub, job, code, reason):
    before = stub.ListPredictionJobs(pb.ListPredictionJobsRequest(parent="annotationProjects/p"))
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreatePredictionJob(
            pb.CreatePredictionJobRequest(parent="annotationProjects/p", prediction_job=job)
        )
    assert (caught.value.code(), error_info(caught.value).reason) == (code, reason)
    after = stub.ListPredictionJobs(pb.ListPredictionJobsRequest(parent="annotationProjects/p"))
    assert len(after.prediction_jobs) == len(before.prediction_jobs)
