"""Import jobs against a real server (REG-053, REG-054, REG-048): a model file and an MLflow
directory written by `mlflow.sklearn.save_model` imported from a file root, the MLflow model
then converted to ONNX (on a server that trusts pickles); paths outside the roots, URIs with
secrets and undetectable formats refused, registering nothing."""

from __future__ import annotations

import hashlib
import io
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import mlflow.sklearn
import numpy as np
import onnxruntime as ort
import pytest
import sklearn
import skops.io
from mlflow.models import infer_signature
from registry_calls import create_model, download, expect_error, watched_to_end
from sklearn.linear_model import LogisticRegression
from support.servers import ServerProcess, start_server

from lepton.registry.v1 import conversion_job_pb2 as cj
from lepton.registry.v1 import model_import_job_pb2 as ij
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import job_pb2, model_format_pb2, tensor_pb2

F = model_format_pb2.ModelFormat
ROWS = np.random.default_rng(7).standard_normal((60, 3)).astype(np.float32)
LABELS = (ROWS[:, 0] + ROWS[:, 2] > 0).astype(np.int64)


@pytest.fixture(scope="module")
def file_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("import-root")


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory, file_root) -> Iterator[ServerProcess]:
    """A registry that imports from `file_root` and converts pickles (its operator trusts
    every producer)."""
    server = start_server(
        ["--services", "registry", "--file-root", str(file_root), "--registry-trust-pickle"],
        tmp_path_factory.mktemp("registry"),
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def estimator() -> LogisticRegression:
    return LogisticRegression().fit(ROWS, LABELS)


@pytest.fixture(scope="module")
def mlflow_dir(file_root, estimator) -> Path:
    path = file_root / "churn-mlflow"
    mlflow.sklearn.save_model(
        estimator,
        path,
        signature=infer_signature(ROWS, estimator.predict(ROWS)),
        pip_requirements=[],
    )
    return path


def run_import(stub, model: str, uri: str, **fields) -> ij.ModelImportJob:
    """Create an import job and watch it to its end; the job as it ended."""
    created = stub.CreateModelImportJob(
        pb.CreateModelImportJobRequest(
            parent=model, model_import_job=ij.ModelImportJob(source_uri=uri, **fields)
        ),
        timeout=10,
    ).model_import_job
    return watched_to_end(
        stub.WatchModelImportJob(pb.WatchModelImportJobRequest(name=created.name), timeout=120),
        "model_import_job",
    )


def get_version(stub, name: str) -> mv.ModelVersion:
    return stub.GetModelVersion(pb.GetModelVersionRequest(name=name), timeout=10).model_version


def version_count(stub, model: str) -> int:
    return stub.GetModel(pb.GetModelRequest(name=model), timeout=10).model.version_count


def test_a_model_file_is_imported_as_its_bytes(stub, file_root, estimator):
    path = file_root / "churn.skops"
    path.write_bytes(skops.io.dumps(estimator))
    model = create_model(stub)
    job = run_import(stub, model, path.as_uri(), description="from disk", labels={"src": "file"})
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED, job.status.error
    assert job.detected_format == F.MODEL_FORMAT_SKOPS
    version = get_version(stub, job.output_model_version)
    assert version.state == mv.MODEL_VERSION_STATE_READY
    assert (version.artifact.format, version.artifact.entry_path) == (F.MODEL_FORMAT_SKOPS, "")
    assert version.framework == "sklearn"
    assert version.lineage.source_uri == path.as_uri()
    assert (version.description, dict(version.labels)) == ("from disk", {"src": "file"})
    descriptor, data, _ = download(stub, version.name)
    assert data == path.read_bytes()
    assert descriptor.digest.hex == hashlib.sha256(data).hexdigest()


def test_the_same_file_imported_twice_shares_its_blob(stub, file_root, estimator):
    path = file_root / "shared.skops"
    path.write_bytes(skops.io.dumps(estimator))
    model = create_model(stub)
    first, second = (run_import(stub, model, path.as_uri()) for _ in range(2))
    names = [first.output_model_version, second.output_model_version]
    digests = {get_version(stub, name).artifact.descriptor.digest.hex for name in names}
    assert len(digests) == 1 and names[0] != names[1]
    # The blob is shared: deleting one version leaves the other's bytes.
    stub.DeleteModelVersion(pb.DeleteModelVersionRequest(name=names[0]), timeout=10)
    assert download(stub, names[1])[1] == path.read_bytes()


def test_an_mlflow_directory_is_imported_with_its_flavor_and_signature(stub, mlflow_dir):
    model = create_model(stub)
    job = run_import(stub, model, mlflow_dir.as_uri() + "/")
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED, job.status.error
    assert job.detected_format == F.MODEL_FORMAT_MLFLOW
    version = get_version(stub, job.output_model_version)
    assert version.artifact.format == F.MODEL_FORMAT_MLFLOW
    assert version.artifact.entry_path == "MLmodel"
    assert version.artifact.descriptor.media_type == "application/x-tar"
    assert (version.framework, version.framework_version) == ("sklearn", sklearn.__version__)
    (tensor,) = version.signature.inputs
    assert (tensor.name, list(tensor.shape)) == ("input", [-1, 3])
    assert tensor.data_type == tensor_pb2.DATA_TYPE_FP32
    assert version.lineage.source_uri == mlflow_dir.as_uri() + "/"
    files = {f.path for f in version.files}
    assert "MLmodel" in files
    _, data, _ = download(stub, version.name)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.extractfile("MLmodel").read() == (mlflow_dir / "MLmodel").read_bytes()


def test_an_imported_mlflow_model_converts_to_onnx(stub, mlflow_dir, estimator):
    model = create_model(stub)
    imported = run_import(stub, model, mlflow_dir.as_uri())
    assert imported.status.state == job_pb2.JOB_STATE_SUCCEEDED, imported.status.error
    created = stub.CreateConversionJob(
        pb.CreateConversionJobRequest(
            parent=model,
            conversion_job=cj.ConversionJob(
                source_model_version=imported.output_model_version,
                target_format=F.MODEL_FORMAT_ONNX,
            ),
        ),
        timeout=10,
    ).conversion_job
    job = watched_to_end(
        stub.WatchConversionJob(pb.WatchConversionJobRequest(name=created.name), timeout=120),
        "conversion_job",
    )
    assert job.status.state == job_pb2.JOB_STATE_SUCCEEDED, job.status.error
    output = get_version(stub, job.output_model_version)
    assert output.lineage.parent_model_version == imported.output_model_version
    session = ort.InferenceSession(download(stub, output.name)[1])
    (labels,) = session.run(["output"], {"input": ROWS})
    assert list(labels) == list(estimator.predict(ROWS))


def test_paths_outside_the_roots_and_uris_with_secrets_are_refused(stub, tmp_path):
    model = create_model(stub)
    outside = tmp_path / "elsewhere.onnx"
    outside.write_bytes(b"not served")

    def create(uri: str):
        return stub.CreateModelImportJob(
            pb.CreateModelImportJobRequest(
                parent=model, model_import_job=ij.ModelImportJob(source_uri=uri)
            ),
            timeout=10,
        )

    expect_error(
        lambda: create(outside.as_uri()), grpc.StatusCode.PERMISSION_DENIED, "PATH_NOT_ALLOWED"
    )
    for uri in ("s3://user:secret@bucket/model.onnx", "s3://bucket/model.onnx?X-Amz-Signature=1"):
        expect_error(
            lambda uri=uri: create(uri),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
            field="model_import_job.source_uri",
        )
    expect_error(
        lambda: create("ftp://host/model.onnx"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
        field="model_import_job.source_uri",
    )
    assert version_count(stub, model) == 0


def test_undetectable_and_missing_sources_fail_the_job(stub, file_root):
    model = create_model(stub)
    mystery = file_root / "mystery.bin"
    mystery.write_bytes(b"\x00\x01 what is this")
    job = run_import(stub, model, mystery.as_uri())
    assert (job.status.state, job.status.error.reason) == (
        job_pb2.JOB_STATE_FAILED,
        "FORMAT_UNKNOWN",
    )
    assert job.status.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    missing = run_import(stub, model, (file_root / "absent.onnx").as_uri())
    assert (missing.status.state, missing.status.error.reason) == (
        job_pb2.JOB_STATE_FAILED,
        "RESOURCE_NOT_FOUND",
    )
    assert version_count(stub, model) == 0
    jobs = stub.ListModelImportJobs(
        pb.ListModelImportJobsRequest(parent="models/-", filter="status.state = FAILED"),
        timeout=10,
    ).model_import_jobs
    assert {job.name, missing.name} <= {j.name for j in jobs}


def test_a_retried_create_with_its_request_id_returns_the_first_job(stub, file_root, estimator):
    path = file_root / "retried.skops"
    path.write_bytes(skops.io.dumps(estimator))
    model = create_model(stub)
    request_id = str(uuid.uuid4())

    def create(uri: str) -> ij.ModelImportJob:
        return stub.CreateModelImportJob(
            pb.CreateModelImportJobRequest(
                parent=model,
                model_import_job=ij.ModelImportJob(source_uri=uri),
                request_id=request_id,
            ),
            timeout=10,
        ).model_import_job

    first = create(path.as_uri())
    assert create(path.as_uri()).name == first.name
    expect_error(
        lambda: create(path.as_uri() + "-other"),
        grpc.StatusCode.ALREADY_EXISTS,
        "REQUEST_ID_CONFLICT",
    )
    jobs = stub.ListModelImportJobs(
        pb.ListModelImportJobsRequest(parent=model), timeout=10
    ).model_import_jobs
    assert [job.name for job in jobs] == [first.name]
