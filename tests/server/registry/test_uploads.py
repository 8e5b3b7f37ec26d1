"""Artifact uploads (REG-019 to REG-027): the stream's sequence rules, committed offsets that
survive a broken stream, a newer stream superseding an older one, verification before READY,
digest mismatch, archives and their file listing, and dedupe of a stored digest."""

from __future__ import annotations

import hashlib
import io
import os
import queue
import tarfile
import threading
import time

import grpc
import pytest
from registry_calls import (
    CHUNK,
    archive_version,
    create_model,
    create_version,
    descriptor,
    download,
    expect_error,
    ready_version,
    tar_of,
    upload,
    upload_messages,
)

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import artifact_pb2, model_format_pb2

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PENDING = mv.MODEL_VERSION_STATE_PENDING_REGISTRATION
READY = mv.MODEL_VERSION_STATE_READY
FAILED = mv.MODEL_VERSION_STATE_FAILED_REGISTRATION


@pytest.fixture
def data() -> bytes:
    """Bytes no other test uploads (a stored digest would be deduplicated)."""
    return os.urandom(7 * 1024 * 1024 + 123)


def _status(stub, name: str) -> pb.GetModelVersionUploadStatusResponse:
    return stub.GetModelVersionUploadStatus(
        pb.GetModelVersionUploadStatusRequest(name=name), timeout=10
    )


def _wait_for_offset(stub, name: str, offset: int) -> None:
    """Wait until the server has committed `offset` bytes of `name`."""
    deadline = time.monotonic() + 30
    while _status(stub, name).committed_offset != offset:
        assert time.monotonic() < deadline, "the server never committed the bytes sent"
        time.sleep(0.01)


def _header(name: str, data: bytes) -> pb.UploadModelVersionArtifactRequest:
    return pb.UploadModelVersionArtifactRequest(
        header=pb.ModelVersionUploadHeader(model_version=name, artifact=descriptor(data))
    )


def _chunk(offset: int, data: bytes) -> pb.UploadModelVersionArtifactRequest:
    return pb.UploadModelVersionArtifactRequest(
        chunk=artifact_pb2.ArtifactChunk(offset=offset, data=data)
    )


def _send(stub, messages):
    return stub.UploadModelVersionArtifact(iter(messages), timeout=30)


def test_a_complete_upload_is_verified_and_ready(stub, data):
    version = create_version(stub, create_model(stub), data)
    response = upload(stub, version.name, data)
    assert response.committed_offset == len(data)
    assert response.model_version.state == READY
    assert response.model_version.HasField("ready_time")
    assert download(stub, version.name)[1] == data


def test_the_stream_sequence_is_checked_without_moving_the_offset(stub, data):
    version = create_version(stub, create_model(stub), data)
    name = version.name
    _send(stub, [_header(name, data), _chunk(0, data[:100])])
    sequence = "UPLOAD_SEQUENCE_INVALID"
    expect_error(lambda: _send(stub, [_chunk(100, data[100:200])]), INVALID, sequence)
    expect_error(lambda: _send(stub, []), INVALID, sequence)
    expect_error(lambda: _send(stub, [_header(name, data), _header(name, data)]), INVALID, sequence)
    expect_error(
        lambda: _send(stub, [_header(name, b"other bytes")]),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ARTIFACT_DESCRIPTOR_MISMATCH",
    )
    for bad in (b"", bytes(CHUNK + 1)):
        expect_error(
            lambda bad=bad: _send(stub, [_header(name, data), _chunk(100, bad)]),
            INVALID,
            "INVALID_FIELD",
            "chunk.data",
        )
    expect_error(
        lambda: _send(stub, [_header(f"{name[: name.rindex('/')]}/99", data)]),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_NOT_FOUND",
    )
    assert _status(stub, name).committed_offset == 100


def test_a_chunk_off_the_committed_offset_says_where_to_resume(stub, data):
    version = create_version(stub, create_model(stub), data)
    name = version.name
    for offset in (5, 0):  # a gap, then an overlap after 10 bytes
        error = expect_error(
            lambda offset=offset: (
                _send(
                    stub,
                    [_header(name, data), _chunk(0, data[:10]), _chunk(offset, data[offset:20])],
                )
                if offset == 0
                else _send(stub, [_header(name, data), _chunk(offset, data[offset:20])])
            ),
            grpc.StatusCode.OUT_OF_RANGE,
            "OFFSET_OUT_OF_RANGE",
            committed_offset="0" if offset == 5 else "10",
        )
        assert error is not None
    status = _status(stub, name)
    assert (status.state, status.committed_offset) == (PENDING, 10)
    assert upload(stub, name, data, offset=10).model_version.state == READY


def test_a_half_close_before_the_last_byte_reports_the_committed_offset(stub, data):
    version = create_version(stub, create_model(stub), data)
    response = _send(stub, [_header(version.name, data), _chunk(0, data[:CHUNK])])
    assert response.committed_offset == CHUNK
    assert response.model_version.state == PENDING
    status = _status(stub, version.name)
    assert (status.committed_offset, status.artifact) == (CHUNK, descriptor(data))
    assert upload(stub, version.name, data, offset=CHUNK).committed_offset == len(data)


def test_a_broken_stream_resumes_at_the_committed_offset(stub, data):
    version = create_version(stub, create_model(stub), data)
    sent = 2 * 1024 * 1024

    def broken():
        yield _header(version.name, data)
        yield _chunk(0, data[: sent // 2])
        yield _chunk(sent // 2, data[sent // 2 : sent])
        _wait_for_offset(stub, version.name, sent)
        raise ConnectionResetError("the network went away")

    with pytest.raises(grpc.RpcError):
        stub.UploadModelVersionArtifact(broken(), timeout=30)
    offset = _status(stub, version.name).committed_offset
    assert offset == sent
    resumed = upload(stub, version.name, data, offset=offset)
    assert resumed.model_version.state == READY
    assert download(stub, version.name)[1] == data


def test_a_second_stream_supersedes_the_first(stub, data):
    version = create_version(stub, create_model(stub), data)
    name = version.name
    first_messages: queue.Queue = queue.Queue()

    def first_stream():
        while (message := first_messages.get()) is not None:
            yield message

    first_messages.put(_header(name, data))
    first_messages.put(_chunk(0, data[:1000]))
    first = stub.UploadModelVersionArtifact.future(first_stream(), timeout=30)
    _wait_for_offset(stub, name, 1000)
    second_go = threading.Event()

    def second_stream():
        yield _header(name, data)
        yield _chunk(1000, data[1000:2000])
        second_go.wait(30)
        yield from (m for m in upload_messages(name, data, offset=2000) if m.HasField("chunk"))

    second = stub.UploadModelVersionArtifact.future(second_stream(), timeout=30)
    _wait_for_offset(stub, name, 2000)  # the second stream owns the upload now
    first_messages.put(_chunk(2000, data[2000:3000]))
    with pytest.raises(grpc.RpcError) as raised:
        first.result()
    assert raised.value.code() == grpc.StatusCode.ABORTED
    assert "UPLOAD_SUPERSEDED" in str(raised.value.trailing_metadata())
    first_messages.put(None)
    second_go.set()
    assert second.result().model_version.state == READY
    assert download(stub, name)[1] == data


def test_a_digest_mismatch_fails_the_version_and_discards_its_bytes(stub, data):
    model = create_model(stub)
    declared = b"the declared bytes"
    version = create_version(stub, model, declared)
    other = b"the uploaded bytes"
    assert len(other) == len(declared)
    expect_error(
        lambda: _send(stub, [_header(version.name, declared), _chunk(0, other)]),
        grpc.StatusCode.DATA_LOSS,
        "DIGEST_MISMATCH",
    )
    failed = stub.GetModelVersion(pb.GetModelVersionRequest(name=version.name)).model_version
    assert failed.state == FAILED
    assert (failed.registration_error.code, failed.registration_error.reason) == (
        15,
        "DIGEST_MISMATCH",
    )
    assert _status(stub, version.name).committed_offset == 0
    expect_error(
        lambda: _send(stub, [_header(version.name, declared)]),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_NOT_PENDING",
    )
    expect_error(
        lambda: download(stub, version.name),
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERSION_NOT_READY",
    )


def test_bytes_beyond_the_declared_size_fail_the_version(stub, data):
    version = create_version(stub, create_model(stub), b"12345")
    expect_error(
        lambda: _send(stub, [_header(version.name, b"12345"), _chunk(0, b"123456")]),
        grpc.StatusCode.DATA_LOSS,
        "DIGEST_MISMATCH",
    )
    assert _status(stub, version.name).state == FAILED


def test_a_ready_version_answers_a_repeated_upload_at_once(stub):
    version = ready_version(stub, create_model(stub), b"done")
    response = _send(stub, [_header(version.name, b"done")])
    assert response.committed_offset == 4
    assert (
        response.model_version
        == stub.GetModelVersion(pb.GetModelVersionRequest(name=version.name)).model_version
    )


def test_a_stored_digest_is_not_uploaded_again(stub):
    model = create_model(stub)
    data = os.urandom(5 * 1024 * 1024)
    original = ready_version(stub, model, data)
    copy = create_version(stub, create_model(stub), data)
    pulled: list[int] = []
    finish = threading.Event()

    def header_then_chunks():
        yield _header(copy.name, data)
        finish.wait(30)  # the answer must come before any chunk is even offered
        for message in upload_messages(copy.name, data):
            if message.HasField("chunk"):
                pulled.append(len(message.chunk.data))
                yield message

    call = stub.UploadModelVersionArtifact.future(header_then_chunks(), timeout=30)
    response = call.result()
    finish.set()
    assert pulled == []
    assert response.committed_offset == len(data)
    assert response.model_version.state == READY
    # The blob is shared: deleting the first version keeps the second one's bytes.
    stub.DeleteModelVersion(pb.DeleteModelVersionRequest(name=original.name))
    assert download(stub, copy.name)[1] == data


def test_a_ready_archive_lists_its_files(stub):
    model = create_model(stub)
    data = tar_of([("weights", None), ("weights/b.bin", b"bb"), ("model.onnx", b"graph")])
    version = archive_version(stub, model, data, "model.onnx")
    ready = upload(stub, version.name, data).model_version
    assert ready.state == READY
    assert [(f.path, f.size_bytes, f.digest.hex) for f in ready.files] == [
        ("model.onnx", 5, hashlib.sha256(b"graph").hexdigest()),
        ("weights/b.bin", 2, hashlib.sha256(b"bb").hexdigest()),
    ]
    saved = tar_of([("export/saved_model.pb", b"pb"), ("export/variables/v", b"v")])
    saved_version = archive_version(
        stub, model, saved, "export", model_format_pb2.MODEL_FORMAT_SAVED_MODEL
    )
    assert upload(stub, saved_version.name, saved).model_version.state == READY


@pytest.mark.parametrize(
    "entries",
    [
        [("model.onnx", b"m"), ("link", "model.onnx")],
        [("/abs/model.onnx", b"m")],
        [("model.onnx", b"m"), ("../escape", b"x")],
        [("model.onnx", b"m"), ("model.onnx", b"m")],
        [("other.onnx", b"m")],
        None,
    ],
    ids=["link", "absolute", "dotdot", "duplicate", "no-entry", "not-a-tar"],
)
def test_an_archive_that_breaks_a_rule_fails_registration(stub, entries):
    data = tar_of(entries) if entries is not None else b"this is not a tar archive" * 40
    version = archive_version(stub, create_model(stub), data, "model.onnx")
    expect_error(lambda: upload(stub, version.name, data), INVALID, "INVALID_ARCHIVE")
    failed = stub.GetModelVersion(pb.GetModelVersionRequest(name=version.name)).model_version
    assert failed.state == FAILED
    assert failed.registration_error.reason == "INVALID_ARCHIVE"
    assert not failed.files


def test_a_sparse_entry_breaks_the_archive_rules(stub):
    # A GNU sparse entry's bytes are not one range of the tar, so no single file download
    # could serve it (REG-057); it counts as an entry that is not a regular file.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for path, kind in (("model.onnx", tarfile.REGTYPE), ("holes.bin", tarfile.GNUTYPE_SPARSE)):
            info = tarfile.TarInfo(path)
            info.type, info.size = kind, 1
            archive.addfile(info, io.BytesIO(b"m"))
    data = buffer.getvalue()
    version = archive_version(stub, create_model(stub), data, "model.onnx")
    expect_error(lambda: upload(stub, version.name, data), INVALID, "INVALID_ARCHIVE")


def test_deleting_a_version_stops_its_open_upload(stub, data):
    version = create_version(stub, create_model(stub), data)
    messages: queue.Queue = queue.Queue()
    messages.put(_header(version.name, data))
    messages.put(_chunk(0, data[:1000]))
    call = stub.UploadModelVersionArtifact.future(iter(messages.get, None), timeout=30)
    _wait_for_offset(stub, version.name, 1000)
    stub.DeleteModelVersion(pb.DeleteModelVersionRequest(name=version.name))
    messages.put(_chunk(1000, data[1000:2000]))
    with pytest.raises(grpc.RpcError) as raised:
        call.result()
    messages.put(None)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
