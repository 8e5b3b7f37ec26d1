"""registry-core cases of import jobs (feature `registry.import`, spec/registry.md "Import"):
a file, a directory and an MLflow model directory registered as READY versions, and the
sources the spec refuses. The files are written below the directory of `--file-root` (the one
the data cases import from), which the suite must share with the target; without it the cases
that need files are skipped."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import grpc
import yaml

from lepton.registry.v1 import model_import_job_pb2
from lepton.type.v1 import model_format_pb2, tensor_pb2
from lepton_conformance.harness import expect, job_lifecycle
from lepton_conformance.harness.case import Skipped
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry import registry_archives
from lepton_conformance.suites.registry.conversions import regressor_bytes
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import (
    OTHER,
    READY,
    SERVICE,
    RegistryClient,
    assembled,
    random_bytes,
    unique_id,
)
from lepton_conformance.suites.registry.registry_jobs import IMPORT, refused

CASES = CaseList()
FEATURE = "registry.import"
MLFLOW = model_format_pb2.MODEL_FORMAT_MLFLOW
NEEDS = "--file-root file:///DIR/"


def _tensor(name: str, dtype: str, shape: list[int]) -> dict[str, Any]:
    return {"type": "tensor", "name": name, "tensor-spec": {"dtype": dtype, "shape": shape}}


# An MLflow model directory's MLmodel: a skops-saved sklearn flavor and a tensor signature,
# whose inputs and outputs MLflow writes as JSON strings.
MLMODEL = yaml.safe_dump(
    {
        "flavors": {
            "python_function": {"loader_module": "mlflow.sklearn", "model_path": "model.skops"},
            "sklearn": {
                "sklearn_version": "1.5.2",
                "pickled_model": "model.skops",
                "serialization_format": "skops",
            },
        },
        "signature": {
            "inputs": json.dumps([_tensor("features", "float32", [-1, 4])]),
            "outputs": json.dumps([_tensor("variable", "float64", [-1])]),
        },
    }
)


def _local_root(ctx: CaseContext) -> Path:
    """The local directory of --file-root; Skipped without one the suite can write to."""
    ctx.require_feature(SERVICE, FEATURE)
    root = ctx.options.file_root
    local = Path(url2pathname(urlparse(root).path)) if root is not None else None
    if local is None or not local.is_dir():
        raise Skipped(
            "no directory to write model files to: pass --file-root file:///DIR/ naming a "
            "directory the target serves and this machine shares",
            needs=NEEDS,
        )
    return local


def _files(ctx: CaseContext) -> tuple[Path, str]:
    """A fresh directory below --file-root and its file:// URI (ending in "/")."""
    name = unique_id()
    directory = _local_root(ctx) / name
    directory.mkdir()
    return directory, f"{ctx.options.file_root}{name}/"


def _job(uri: str, **fields: Any) -> Any:
    return model_import_job_pb2.ModelImportJob(source_uri=uri, **fields)


def _imported(client: RegistryClient, model: str, uri: str, **fields: Any) -> Any:
    """The READY version an import of `uri` registers, its lineage.source_uri the URI."""
    job = job_lifecycle.check_succeeded(IMPORT.run(client, model, _job(uri, **fields)))
    version = client.version(job.output_model_version)
    expect.equal(
        (version.state, version.lineage.source_uri),
        (READY, uri),
        f"(state, lineage.source_uri) of the version importing {uri}",
    )
    return version


@CASES.case(CORE, "imports.file-and-directory-become-ready-versions", "REG-053")
def file_and_directory(ctx: CaseContext) -> None:
    """An import of a file registers a READY version holding exactly its bytes; of a
    directory, a READY tar archive of its regular files with the entry path given; both with
    lineage.source_uri the job's URI."""
    directory, uri = _files(ctx)
    data = random_bytes(3000)
    (directory / "model.bin").write_bytes(data)
    tree = directory / "tree"
    files = {"weights.bin": random_bytes(100), "sub/config.json": random_bytes(20)}
    for path, content in files.items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_bytes(content)
    client = RegistryClient(ctx)
    with client.scratch() as model:
        single = _imported(client, model, f"{uri}model.bin", format=OTHER)
        expect.equal(
            (single.artifact.descriptor.size_bytes, single.artifact.descriptor.digest.hex),
            (len(data), hashlib.sha256(data).hexdigest()),
            "the file version's (size_bytes, sha256)",
        )
        expect.holds(assembled(client.download(single.name)[1]) == data, "the file", "others")
        archive = _imported(client, model, f"{uri}tree/", format=OTHER, entry_path="weights.bin")
        expect.equal(
            (archive.artifact.descriptor.media_type, archive.artifact.entry_path),
            (registry_archives.TAR_MEDIA_TYPE, "weights.bin"),
            "the directory version's (media_type, entry_path)",
        )
        expect.equal(
            [(f.path, f.size_bytes, f.digest.hex) for f in archive.files],
            registry_archives.file_listing(files),
            "the directory version's files",
        )
        _, parts = client.download(archive.name)
        with tarfile.open(fileobj=io.BytesIO(assembled(parts)), mode="r:") as tar:
            regular = sorted(m.name.removeprefix("./") for m in tar if m.isreg())
        expect.equal(regular, sorted(files), "the regular files of the downloaded archive")


@CASES.case(CORE, "imports.mlflow-directory-becomes-an-mlflow-version", "REG-053")
def mlflow(ctx: CaseContext) -> None:
    """An MLflow model directory (an MLmodel file with a sklearn flavor and a tensor
    signature) registers as MODEL_FORMAT_MLFLOW with entry_path MLmodel, framework sklearn
    and the MLmodel's signature."""
    directory, uri = _files(ctx)
    (directory / "MLmodel").write_text(MLMODEL)
    (directory / "model.skops").write_bytes(regressor_bytes())
    client = RegistryClient(ctx)
    with client.scratch() as model:
        version = _imported(client, model, uri)
        expect.equal(
            (version.artifact.format, version.artifact.entry_path, version.framework),
            (MLFLOW, "MLmodel", "sklearn"),
            "(artifact.format, artifact.entry_path, framework)",
        )
        expect.equal(
            [(t.name, t.data_type, list(t.shape)) for t in version.signature.inputs],
            [("features", tensor_pb2.DATA_TYPE_FP32, [-1, 4])],
            "signature.inputs",
        )
        expect.equal(
            [(t.name, t.data_type, list(t.shape)) for t in version.signature.outputs],
            [("variable", tensor_pb2.DATA_TYPE_FP64, [-1])],
            "signature.outputs",
        )


def _registers_nothing(ctx: CaseContext, uri: str, code: grpc.StatusCode, reason: str) -> None:
    """An import of `uri` is refused with `code` [`reason`] and registers no version."""
    client = RegistryClient(ctx)
    with client.scratch() as model:
        refused(IMPORT, client, model, _job(uri), code=code, reason=reason)
        expect.equal(client.model(model).version_count, 0, "version_count after the import")


@CASES.case(CORE, "imports.path-outside-the-roots-is-not-allowed", "REG-054")
def outside(ctx: CaseContext) -> None:
    """A file:// path outside the served directory (beside --file-root) fails, at creation or
    as the job's failure, with PERMISSION_DENIED [PATH_NOT_ALLOWED] and registers nothing."""
    _local_root(ctx)
    uri = f"{ctx.options.file_root}../{unique_id('conf-outside')}/model.onnx"
    _registers_nothing(ctx, uri, grpc.StatusCode.PERMISSION_DENIED, "PATH_NOT_ALLOWED")


@CASES.case(CORE, "imports.undetectable-format-is-unknown", "REG-054")
def unknown(ctx: CaseContext) -> None:
    """A file no format can be recognised in (random bytes, no known extension) imported
    without a format fails with INVALID_ARGUMENT [FORMAT_UNKNOWN] and registers nothing."""
    directory, uri = _files(ctx)
    (directory / "blob.dat").write_bytes(b"\x00LEPTON" + random_bytes(500))
    _registers_nothing(ctx, f"{uri}blob.dat", grpc.StatusCode.INVALID_ARGUMENT, "FORMAT_UNKNOWN")


@CASES.case(CORE, "imports.uri-with-credentials-is-invalid", "REG-048")
def credentials(ctx: CaseContext) -> None:
    """A source_uri with user information or a query string is INVALID_ARGUMENT
    [INVALID_FIELD] at creation, and nothing is created: no job, no version."""
    ctx.require_feature(SERVICE, FEATURE)
    client = RegistryClient(ctx)
    with client.scratch() as model:
        for uri in (
            "s3://user:secret@bucket/models/model.onnx",
            "s3://bucket/models/model.onnx?X-Amz-Signature=abc",
        ):
            expect.fails_with(
                lambda uri=uri: IMPORT.create(client, model, _job(uri)),
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_FIELD",
            )
        expect.equal(IMPORT.listed(client, model), [], "the model's import jobs")
        expect.equal(client.model(model).version_count, 0, "version_count")
