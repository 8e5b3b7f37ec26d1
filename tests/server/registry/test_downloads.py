"""Artifact downloads (REG-030 to REG-032): the descriptor first, then contiguous non-empty
chunks of at most the effective chunk size, from any offset and for any length."""

from __future__ import annotations

import hashlib
import os

import grpc
import pytest
from registry_calls import create_model, create_version, download, expect_error, ready_version

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
