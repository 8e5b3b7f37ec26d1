"""Conversion jobs against a real server (REG-051, REG-052): a fitted scikit-learn model stored
with skops, converted to a new READY ONNX version that runs in onnxruntime like the source; a
conversion outside the tolerance fails with its report and registers nothing."""

from __future__ import annotations

import io

import grpc
import joblib
import numpy as np
import onnxruntime as ort
import pytest
import skops.io
from registry_calls import (
    artifact,
    create_model,
    create_version,
    download,
    expect_error,
    ready_version,
    watched_to_end,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lepton.registry.v1 import conversion_job_pb2 as cj
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import job_pb2, model_format_pb2
from lepton_server.registry.model_signatures import infer_signature

F = model_format_pb2.ModelFormat
ROWS = np.random.default_rng(5).standard_normal((80, 4)).astype(np.float32)
LABELS = np.array(["keep", "churn"])[(ROWS[:, 0] - ROWS[:, 2] > 0).astype(int)]


@pytest.fixture(scope="module")
def estimator():
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(ROWS, LABELS)


def register_skops(stub, model: str, estimator) -> mv.ModelVersion:
    data = skops.io.dumps(estimator)
    return ready_version(
        stub,
        model,
        data,
        artifact=artifact(data, model_format=F.MODEL_FORMAT_SKOPS),
        signature=infer_signature(estimator),
        framework="sklearn",
    )


def convert(stub, model: str, source: str, **fields) -> cj.ConversionJob:
    """Create a conversion job and watch it to its end; the job as it ended."""
    job = cj.ConversionJob(source_model_version=source, target_format=F.MODEL_FORMAT_ONNX, **fields)
    created = stub.CreateConversionJob(
        pb.CreateConversionJobRequest(parent=model, conversion_job=job), timeout=10
    ).conversion_job
    assert created.resolved_source_model_version.startswith(f"{model}/versions/")
    return watched_to_end(
        stub.WatchConversionJob(pb.WatchConversionJobRequest(name=created.name), timeout=120),
        "conversion_job",
    )


def version_count(stub, model: str) -> int:
    return stub.GetModel(pb.GetModelRequest(name=model), timeout=10).model.version_count


def test_a_skops_model_becomes_a_ready_onnx_version_that_predicts_alike(stub, estimator):
    model = create_model(stub)
    source = register_skops(stub, model, estimator)
    stub.SetModelAlias(
        pb.SetModelAliasRequest(name=f"{model}/aliases/candidate", model_version=source.name),
        timeout=10,
    )
    job = convert(
        stub,
        model,
        f"{model}/aliases/candidate",
        description="converted",
        labels={"stage": "onnx"},
        sample_rows=64,
        seed=11,
    )
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED, job.status.error
    assert job.resolved_source_model_version == source.name
    report = job.equivalence
    assert report.equivalent and (report.sample_rows, report.seed) == (64, 11)
    assert [o.name for o in report.outputs] == [o.name for o in source.signature.outputs]
    assert report.converter.startswith("skl2onnx ")
    output = stub.GetModelVersion(
        pb.GetModelVersionRequest(name=job.output_model_version), timeout=10
    ).model_version
    assert output.state == mv.MODEL_VERSION_STATE_READY
    assert output.artifact.format == F.MODEL_FORMAT_ONNX
    assert output.artifact.descriptor.media_type == "application/onnx"
    assert output.lineage.parent_model_version == source.name
    assert output.signature == source.signature
    assert (output.description, dict(output.labels)) == ("converted", {"stage": "onnx"})
    assert output.format_version.startswith("opset=")
    _, data, _ = download(stub, output.name)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    (input_spec,) = source.signature.inputs
    label, probabilities = session.run(
        [o.name for o in source.signature.outputs], {input_spec.name: ROWS}
    )
    assert list(label) == list(estimator.predict(ROWS))
    np.testing.assert_allclose(probabilities, estimator.predict_proba(ROWS), atol=1e-5)
    jobs = stub.ListConversionJobs(
        pb.ListConversionJobsRequest(parent=model), timeout=10
    ).conversion_jobs
    assert [j.name for j in jobs] == [job.name]
    expect_error(
        lambda: stub.CancelConversionJob(pb.CancelConversionJobRequest(name=job.name), timeout=10),
        grpc.StatusCode.FAILED_PRECONDITION,
        "JOB_ALREADY_FINISHED",
    )


def test_outputs_beyond_the_tolerance_fail_with_the_report_and_register_nothing(stub, estimator):
    model = create_model(stub)
    source = register_skops(stub, model, estimator)
    before = version_count(stub, model)
    zero = cj.EquivalenceTolerance(absolute=0, relative=0)
    job = convert(stub, model, source.name, tolerance=zero, sample_rows=40, seed=3)
    assert job.status.state == job_pb2.JOB_STATE_FAILED
    error = job.status.error
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION.value[0],
        "CONVERSION_NOT_EQUIVALENT",
    )
    assert not job.equivalence.equivalent
    assert job.equivalence.tolerance == zero
    assert any(o.mismatched_elements for o in job.equivalence.outputs)
    assert job.output_model_version == ""
    assert version_count(stub, model) == before


def test_an_untrusted_pickle_is_unsupported(stub, estimator):
    model = create_model(stub)
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    data = buffer.getvalue()
    source = ready_version(
        stub,
        model,
        data,
        artifact=artifact(data, model_format=F.MODEL_FORMAT_PICKLE),
        signature=infer_signature(estimator),
    )
    job = convert(stub, model, source.name)
    assert job.status.state == job_pb2.JOB_STATE_FAILED
    assert job.status.error.reason == "CONVERSION_UNSUPPORTED"
    assert version_count(stub, model) == 1


def test_a_source_without_a_signature_fails_the_job(stub):
    model = create_model(stub)
    data = b"weights without a signature"
    source = ready_version(
        stub, model, data, artifact=artifact(data, model_format=F.MODEL_FORMAT_SKOPS)
    )
    job = convert(stub, model, source.name)
    assert (job.status.state, job.status.error.reason) == (
        job_pb2.JOB_STATE_FAILED,
        "SIGNATURE_REQUIRED",
    )


def test_creation_checks_the_target_and_the_source(stub, estimator):
    model = create_model(stub)
    source = register_skops(stub, model, estimator)

    def create(**fields):
        job = cj.ConversionJob(**{"target_format": F.MODEL_FORMAT_ONNX, **fields})
        return stub.CreateConversionJob(
            pb.CreateConversionJobRequest(parent=model, conversion_job=job), timeout=10
        )

    expect_error(
        lambda: create(source_model_version=source.name, target_format=F.MODEL_FORMAT_SKOPS),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
        field="conversion_job.target_format",
    )
    pending = create_version(stub, model, b"pending")
    expect_error(
        lambda: create(source_model_version=pending.name),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_NOT_READY",
    )
    other = create_model(stub)
    expect_error(
        lambda: create(source_model_version=f"{other}/versions/1"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
        field="conversion_job.source_model_version",
    )
    expect_error(
        lambda: create(source_model_version=f"{model}/versions/77"),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    )
    expect_error(
        lambda: stub.GetConversionJob(
            pb.GetConversionJobRequest(name=f"{model}/conversionJobs/none"), timeout=10
        ),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    )
