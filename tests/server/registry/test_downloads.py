"""Artifact downloads (REG-030 to REG-032, REG-057): the descriptor first, then contiguous
non-empty chunks of at most the effective chunk size, from any offset and for any length, of
the whole artifact or of one file of an archive."""

from __future__ import annotations

import hashlib
import os

import grpc
import pytest
from registry_calls import (
    archive_version,
    create_model,
    create_version,
    download,
    expect_error,
    ready_version,
    tar_of,
    upload,
)

from lepton.registry.v1 import model_registry_service_pb2 as pb

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def stored(stub) -> tuple[str, bytes]:
    data = os.urandom(7 * MIB + 5)
    return ready_version(stub, create_model(stub), data).name, data


def _contiguous(chunks, offset: int, limit: int) -> None:
    for chunk in chunks:
        assert chunk.offset == offset and 0 < len(chunk.data) <= limit
        offset += len(chunk.data)


def test_the_whole_artifact_matches_its_descriptor(stub, stored):
    name, data = stored
    assert data
    version = stub.GetModelVersion(pb.GetModelVersionRequest(name=name)).model_version
    head, body, chunks = download(stub, name)
    assert head == version.artifact.descriptor and body == data
    assert (len(body), hashlib.sha256(body).hexdigest()) == (head.size_bytes, head.digest.hex)
    _contiguous(chunks, 0, 3 * MIB)


def test_a_download_resumes_from_any_offset_with_a_length_and_chunk_size(stub, stored):
    name, data = stored
    _, body, chunks = download(stub, name, offset=MIB + 7, chunk_size_bytes=1000, length_bytes=2500)
    assert body == data[MIB + 7 : MIB + 7 + 2500]
    assert [len(c.data) for c in chunks] == [1000, 1000, 500]
    _, body, chunks = download(stub, name, offset=5 * MIB, chunk_size_bytes=64 * MIB)
    assert body == data[5 * MIB :]
    _contiguous(chunks, 5 * MIB, 3 * MIB)
    _, body, chunks = download(stub, name, offset=len(data))
    assert body == b"" and chunks == []


def test_bad_ranges_and_unready_versions_are_refused(stub, stored):
    name, data = stored
    expect_error(
        lambda: download(stub, name, offset=len(data) + 1),
        grpc.StatusCode.OUT_OF_RANGE,
        "OFFSET_OUT_OF_RANGE",
    )
    for field in ("offset", "length_bytes", "chunk_size_bytes"):
        expect_error(
            lambda field=field: download(stub, name, **{field: -1}),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
            field,
        )
    pending = create_version(stub, create_model(stub), b"not yet")
    expect_error(
        lambda: download(stub, pending.name),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_NOT_READY",
    )
    expect_error(
        lambda: download(stub, "models/absent/versions/1"),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        resource_name="models/absent/versions/1",
    )
    expect_error(
        lambda: download(stub, "models/x/versions/01"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_NAME",
        "name",
    )


@pytest.fixture(scope="module")
def archive(stub) -> tuple[str, dict[str, bytes]]:
    files = {
        "model.onnx": os.urandom(4 * MIB + 3),
        "tokenizer/config.json": b'{"vocab": 3}',
        "weights/empty.bin": b"",
    }
    data = tar_of([("tokenizer", None), *files.items()])
    version = archive_version(stub, create_model(stub), data, "model.onnx")
    assert upload(stub, version.name, data).model_version.files
    return version.name, files


def test_one_file_of_an_archive_downloads_alone(stub, archive):
    name, files = archive
    listed = {
        f.path: f
        for f in stub.GetModelVersion(pb.GetModelVersionRequest(name=name)).model_version.files
    }
    for path, content in files.items():
        head, body, chunks = download(stub, name, file_path=path)
        assert body == content
        assert (head.size_bytes, head.digest) == (listed[path].size_bytes, listed[path].digest)
        _contiguous(chunks, 0, 3 * MIB)
    weights = files["model.onnx"]
    _, body, chunks = download(
        stub, name, file_path="model.onnx", offset=MIB + 1, length_bytes=5000, chunk_size_bytes=2048
    )
    assert body == weights[MIB + 1 : MIB + 5001]
    assert [c.offset for c in chunks] == [MIB + 1, MIB + 2049, MIB + 4097]
    _, body, _ = download(stub, name, file_path="model.onnx", offset=len(weights) - 2)
    assert body == weights[-2:]
    expect_error(
        lambda: download(stub, name, file_path="model.onnx", offset=len(weights) + 1),
        grpc.StatusCode.OUT_OF_RANGE,
        "OFFSET_OUT_OF_RANGE",
    )


def test_a_file_path_must_name_a_file_of_an_archive(stub, stored, archive):
    name, _ = archive
    for path in ("absent.txt", "tokenizer", "./model.onnx"):
        expect_error(
            lambda path=path: download(stub, name, file_path=path),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
            "file_path",
        )
    single, _ = stored
    expect_error(
        lambda: download(stub, single, file_path="model.onnx"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
        "file_path",
    )
