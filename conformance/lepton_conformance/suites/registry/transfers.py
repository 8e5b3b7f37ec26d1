"""registry-core cases of artifact transfers: uploads that commit as they go, resume,
verify and supersede, deduplication of known content, and downloads from any offset
(spec/registry.md, "Upload and download protocol", "Deduplication")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import grpc

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.type.v1 import artifact_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry import registry_archives
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import (
    FAILED,
    MAX_CHUNK,
    PENDING,
    READY,
    RegistryClient,
    assembled,
    header,
    random_bytes,
    upload_messages,
)

CASES = CaseList()
KIB = 1024


def _wait_for_offset(
    client: RegistryClient, version: str, reached: Callable[[int], bool], timeout: float
) -> int:
    """Poll the committed offset until `reached` holds or `timeout` passes; the last offset."""
    deadline = time.monotonic() + timeout
    while True:
        offset = client.committed(version).committed_offset
        if reached(offset) or time.monotonic() > deadline:
            return offset
        time.sleep(0.01)


def _chunk(offset: int, data: bytes) -> pb.UploadModelVersionArtifactRequest:
    return pb.UploadModelVersionArtifactRequest(
        chunk=artifact_pb2.ArtifactChunk(offset=offset, data=data)
    )


@CASES.case(CORE, "uploads.complete-upload-makes-the-version-ready", "REG-023", "REG-031")
def complete(ctx: CaseContext) -> None:
    """An upload in chunks makes the version READY with ready_time set, and the download
    gives back exactly the declared bytes."""
    client = RegistryClient(ctx)
    data = random_bytes(700 * KIB)
    with client.scratch() as name:
        version = client.create_version(name, data)
        answer = client.upload(upload_messages(version.name, data, 256 * KIB))
        expect.equal(answer.committed_offset, len(data), "committed_offset")
        expect.equal(answer.model_version.state, READY, "state")
        expect.holds(answer.model_version.HasField("ready_time"), "ready_time set", "unset")
        described, parts = client.download(version.name, chunk_size=100 * KIB)
        expect.equal(described, version.artifact.descriptor, "the download's descriptor")
        expect.holds(
            all(len(p.data) <= 100 * KIB for p in parts), "chunks of at most 100 KiB", "larger"
        )
        expect.holds(assembled(parts) == data, "the uploaded bytes", "other bytes")


@CASES.case(CORE, "uploads.half-closed-upload-resumes", "REG-021", "REG-022")
def resume(ctx: CaseContext) -> None:
    """An upload closed early answers with the committed offset and stays PENDING; a second
    stream from there completes it."""
    client = RegistryClient(ctx)
    data = random_bytes(600 * KIB)
    with client.scratch() as name:
        version = client.create_version(name, data)
        first = upload_messages(version.name, data, 200 * KIB)[:2]  # header and one chunk
        answer = client.upload(first)
        expect.equal(
            (answer.committed_offset, answer.model_version.state),
            (200 * KIB, PENDING),
            "(committed_offset, state) after one chunk",
        )
        status = client.committed(version.name)
        expect.equal(status.committed_offset, 200 * KIB, "GetModelVersionUploadStatus")
        done = client.upload(upload_messages(version.name, data, 200 * KIB, start=200 * KIB))
        expect.equal(done.model_version.state, READY, "state after resuming")
        expect.holds(assembled(client.download(version.name)[1]) == data, "the bytes", "others")


@CASES.case(CORE, "uploads.broken-stream-keeps-committed-bytes", "REG-022")
def broken(ctx: CaseContext) -> None:
    """A stream cut by the client after some chunks keeps a committed offset no greater than
    what was sent; resuming there yields the exact artifact."""
    client = RegistryClient(ctx)
    data = random_bytes(900 * KIB)
    with client.scratch() as name:
        version = client.create_version(name, data)
        messages = upload_messages(version.name, data, 300 * KIB)
        sent, cut = threading.Event(), threading.Event()

        def until_cut():
            yield from messages[:3]  # header and two chunks
            sent.set()
            cut.wait(ctx.timeout)  # hold the stream open until it is cut

        call = client._method("UploadModelVersionArtifact").future(
            until_cut(), metadata=ctx.metadata, timeout=ctx.timeout
        )
        sent.wait(ctx.timeout)
        _wait_for_offset(client, version.name, lambda offset: offset > 0, ctx.timeout)
        call.cancel()
        cut.set()
        committed = client.committed(version.name).committed_offset
        expect.holds(
            0 <= committed <= 600 * KIB, "committed_offset <= the bytes sent", str(committed)
        )
        done = client.upload(upload_messages(version.name, data, 300 * KIB, start=committed))
        expect.equal(done.model_version.state, READY, "state after resuming")
        expect.holds(assembled(client.download(version.name)[1]) == data, "the bytes", "others")


@CASES.case(CORE, "uploads.offset-gap-is-out-of-range", "REG-020")
def gap(ctx: CaseContext) -> None:
    """A chunk off the committed offset is OUT_OF_RANGE [OFFSET_OUT_OF_RANGE] with
    metadata committed_offset, and the version stays PENDING."""
    client = RegistryClient(ctx)
    data = random_bytes(64 * KIB)
    with client.scratch() as name:
        version = client.create_version(name, data)
        messages = [header(version.name, data), _chunk(KIB, data[KIB : 2 * KIB])]
        expect.rejects(
            lambda: client.upload(messages),
            grpc.StatusCode.OUT_OF_RANGE,
            "OFFSET_OUT_OF_RANGE",
            metadata={"committed_offset": "0"},
        )
        expect.equal(client.version(version.name).state, PENDING, "state after the gap")


@CASES.case(CORE, "uploads.digest-mismatch-fails-the-registration", "REG-024")
def digest_mismatch(ctx: CaseContext) -> None:
    """Complete bytes whose SHA-256 differs from the declared one fail with DATA_LOSS
    [DIGEST_MISMATCH]; the version is FAILED_REGISTRATION, its offset 0, and it cannot be
    downloaded."""
    client = RegistryClient(ctx)
    declared, sent = random_bytes(32 * KIB), random_bytes(32 * KIB)
    with client.scratch() as name:
        version = client.create_version(name, declared)
        messages = [header(version.name, declared), _chunk(0, sent)]
        expect.fails_with(
            lambda: client.upload(messages), grpc.StatusCode.DATA_LOSS, "DIGEST_MISMATCH"
        )
        failed = client.version(version.name)
        expect.equal(
            (failed.state, failed.registration_error.reason),
            (FAILED, "DIGEST_MISMATCH"),
            "(state, registration_error.reason)",
        )
        expect.equal(client.committed(version.name).committed_offset, 0, "committed_offset")
        expect.fails_with(
            lambda: client.download(version.name),
            grpc.StatusCode.FAILED_PRECONDITION,
            "VERSION_NOT_READY",
        )


@CASES.case(CORE, "uploads.bytes-beyond-the-size-fail", "REG-020")
def beyond(ctx: CaseContext) -> None:
    """A chunk reaching past the declared size fails with DATA_LOSS [DIGEST_MISMATCH] and
    the version becomes FAILED_REGISTRATION."""
    client = RegistryClient(ctx)
    data = random_bytes(8 * KIB)
    with client.scratch() as name:
        version = client.create_version(name, data)
        messages = [header(version.name, data), _chunk(0, data + b"x")]
        expect.fails_with(
            lambda: client.upload(messages), grpc.StatusCode.DATA_LOSS, "DIGEST_MISMATCH"
        )
        expect.equal(client.version(version.name).state, FAILED, "state")


@CASES.case(CORE, "uploads.bad-streams-change-nothing", "REG-019")
def bad_streams(ctx: CaseContext) -> None:
    """A stream without a leading header or with two is UPLOAD_SEQUENCE_INVALID; a header
    with another digest ARTIFACT_DESCRIPTOR_MISMATCH; an oversized chunk INVALID_FIELD; none
    moves the committed offset."""
    client = RegistryClient(ctx)
    data = random_bytes(16 * KIB)
    with client.scratch() as name:
        version = client.create_version(name, data)
        other = random_bytes(16 * KIB)
        attempts = [
            ([_chunk(0, data)], grpc.StatusCode.INVALID_ARGUMENT, "UPLOAD_SEQUENCE_INVALID"),
            (
                [header(version.name, data), header(version.name, data)],
                grpc.StatusCode.INVALID_ARGUMENT,
                "UPLOAD_SEQUENCE_INVALID",
            ),
            (
                [header(version.name, other)],
                grpc.StatusCode.FAILED_PRECONDITION,
                "ARTIFACT_DESCRIPTOR_MISMATCH",
            ),
            (
                [header(version.name, data), _chunk(0, b"")],
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_FIELD",
            ),
        ]
        for messages, code, reason in attempts:
            expect.fails_with(lambda messages=messages: client.upload(messages), code, reason)
            expect.equal(client.committed(version.name).committed_offset, 0, "committed_offset")


@CASES.case(CORE, "uploads.chunks-over-3-mib-are-invalid", "REG-019")
def oversized_chunk(ctx: CaseContext) -> None:
    """A chunk of more than 3 MiB is INVALID_ARGUMENT [INVALID_FIELD]."""
    client = RegistryClient(ctx)
    data = random_bytes(MAX_CHUNK + 1)
    with client.scratch() as name:
        version = client.create_version(name, data)
        messages = [header(version.name, data), _chunk(0, data)]
        expect.fails_with(
            lambda: client.upload(messages), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD"
        )


@CASES.case(CORE, "uploads.retry-of-a-ready-version-succeeds", "REG-025")
def ready_retry(ctx: CaseContext) -> None:
    """A header for a READY version with the same artifact answers at once with the size;
    one for a FAILED version is FAILED_PRECONDITION [VERSION_NOT_PENDING]."""
    client = RegistryClient(ctx)
    data = random_bytes(4 * KIB)
    with client.scratch() as name:
        version = client.register(name, data)
        again = client.upload([header(version.name, data)])
        expect.equal(
            (again.committed_offset, again.model_version.state), (len(data), READY), "retry"
        )
        declared = random_bytes(KIB)
        failed = client.create_version(name, declared)
        with_wrong = [header(failed.name, declared), _chunk(0, random_bytes(KIB))]
        expect.fails_with(lambda: client.upload(with_wrong), grpc.StatusCode.DATA_LOSS)
        expect.fails_with(
            lambda: client.upload([header(failed.name, declared)]),
            grpc.StatusCode.FAILED_PRECONDITION,
            "VERSION_NOT_PENDING",
        )


@CASES.case(CORE, "uploads.second-stream-supersedes-the-first", "REG-026")
def supersede(ctx: CaseContext) -> None:
    """A second upload stream for the same version takes over; the first fails with ABORTED
    [UPLOAD_SUPERSEDED] at its next message, and the second completes the artifact."""
    client = RegistryClient(ctx)
    data = random_bytes(256 * KIB)
    with client.scratch() as name:
        version = client.create_version(name, data)
        opened, release = threading.Event(), threading.Event()

        def first_stream():
            yield header(version.name, data)
            yield _chunk(0, data[: 64 * KIB])
            opened.set()
            release.wait(ctx.timeout)
            yield _chunk(64 * KIB, data[64 * KIB : 128 * KIB])

        first = client._method("UploadModelVersionArtifact").future(
            first_stream(), metadata=ctx.metadata, timeout=ctx.timeout
        )
        opened.wait(ctx.timeout)
        # The second stream resumes after the first one's chunk once it is committed.
        start = _wait_for_offset(client, version.name, lambda offset: offset > 0, ctx.timeout)
        second = client.upload(upload_messages(version.name, data, 64 * KIB, start=start))
        release.set()
        expect.fails_with(first.result, grpc.StatusCode.ABORTED, "UPLOAD_SUPERSEDED")
        expect.equal(second.model_version.state, READY, "state after the second stream")
        expect.holds(assembled(client.download(version.name)[1]) == data, "the bytes", "others")


@CASES.case(CORE, "uploads.known-content-moves-no-bytes", "REG-046")
def dedupe(ctx: CaseContext) -> None:
    """An upload of content the registry already holds is answered by the header alone:
    committed_offset the size, the version READY, and the bytes download intact."""
    client = RegistryClient(ctx)
    data = random_bytes(512 * KIB)
    with client.scratch() as name:
        client.register(name, data)
        twin = client.create_version(name, data)
        answer = client.upload([header(twin.name, data)])
        expect.equal(
            (answer.committed_offset, answer.model_version.state),
            (len(data), READY),
            "(committed_offset, state) after a header alone",
        )
        expect.holds(assembled(client.download(twin.name)[1]) == data, "the bytes", "others")


@CASES.case(CORE, "downloads.ranges-from-any-offset", "REG-031", "REG-032")
def ranges(ctx: CaseContext) -> None:
    """A download from an offset, with a length, gives exactly those bytes in contiguous
    chunks; an offset equal to the size gives the descriptor alone; a chunk size above 3 MiB
    is reduced, not rejected."""
    client = RegistryClient(ctx)
    data = random_bytes(300 * KIB)
    with client.scratch() as name:
        version = client.register(name, data)
        for offset, length in ((0, 0), (1, 0), (100 * KIB + 7, 50 * KIB), (len(data) - 1, 0)):
            _, parts = client.download(version.name, offset, length, chunk_size=32 * KIB)
            end = offset + length if length else len(data)
            got = assembled(parts, start=offset)
            expect.holds(got == data[offset:end], f"bytes {offset}..{end}", f"{len(got)} bytes")
        described, parts = client.download(version.name, len(data))
        expect.equal((described.size_bytes, parts), (len(data), []), "a download from the end")
        _, parts = client.download(version.name, chunk_size=64 * 1024 * 1024)
        expect.holds(
            all(len(p.data) <= MAX_CHUNK for p in parts), "chunks of at most 3 MiB", "larger"
        )


def _create(client: RegistryClient, model: str, version: Any) -> Any:
    request = pb.CreateModelVersionRequest(parent=model, model_version=version)
    return client.call("CreateModelVersion", request).model_version


@CASES.case(CORE, "archives.ready-archive-lists-its-files", "REG-027", "REG-023")
def archive_files(ctx: CaseContext) -> None:
    """A valid tar archive becomes READY and lists every regular file (not directories) in
    `files`, sorted by path, with its size and SHA-256; it downloads byte for byte."""
    client = RegistryClient(ctx)
    data, files = registry_archives.valid_archive()
    with client.scratch() as name:
        version = _create(client, name, registry_archives.archive_version(data))
        answer = client.upload(upload_messages(version.name, data, 2 * KIB))
        expect.equal(answer.model_version.state, READY, "state after the upload")
        got = client.version(version.name)
        expect.equal(
            [(f.path, f.size_bytes, f.digest.hex) for f in got.files],
            registry_archives.file_listing(files),
            "files (path, size_bytes, sha256)",
        )
        expect.holds(assembled(client.download(version.name)[1]) == data, "the bytes", "others")


def _register_broken_archives() -> None:
    for kind, make in registry_archives.BROKEN.items():

        def body(ctx: CaseContext, make=make) -> None:
            client = RegistryClient(ctx)
            data = make()
            with client.scratch() as name:
                version = _create(client, name, registry_archives.archive_version(data))
                client.upload_fails_registration(version.name, data, "INVALID_ARCHIVE", 2 * KIB)

        body.__doc__ = (
            f"An archive with {kind.replace('-', ' ')} fails the completing upload with "
            "INVALID_ARGUMENT [INVALID_ARCHIVE] and the version FAILED_REGISTRATION."
        )
        CASES.case(CORE, f"archives.broken.{kind}", "REG-027")(body)


_register_broken_archives()


@CASES.case(CORE, "downloads.one-file-of-an-archive", "REG-057")
def archive_file(ctx: CaseContext) -> None:
    """Each file of a READY archive downloads alone: the file's descriptor first, then
    exactly its bytes, also from an offset and for a length counted within the file; a path
    not in `files`, or any path on a single-file version, is INVALID_FIELD."""
    client = RegistryClient(ctx)
    data, files = registry_archives.valid_archive(extra={"weights/extra.bin": 70 * KIB})
    with client.scratch() as name:
        version = client.register(
            name, data, artifact=registry_archives.archive_version(data).artifact
        )
        listed = {f.path: f for f in client.version(version.name).files}
        expect.equal(sorted(listed), sorted(files), "the archive's files")
        for path, content in files.items():
            described, parts = client.download(version.name, chunk_size=64 * KIB, file_path=path)
            expect.equal(
                (described.size_bytes, described.digest.hex),
                (listed[path].size_bytes, listed[path].digest.hex),
                f"the descriptor of {path}",
            )
            got = assembled(parts)
            expect.holds(got == content, f"the bytes of {path}", f"{len(got)} other bytes")
        weights = files["weights/extra.bin"]
        offset, length = 10 * KIB + 1, 20 * KIB
        _, parts = client.download(version.name, offset, length, file_path="weights/extra.bin")
        got = assembled(parts, start=offset)
        expect.holds(got == weights[offset : offset + length], "a range of a file", "other bytes")
        _, parts = client.download(version.name, len(weights), file_path="weights/extra.bin")
        expect.equal(parts, [], "a download from the end of a file")
        single = client.register(name, random_bytes(KIB))
        for target, path in (
            (version.name, "absent.bin"),
            (version.name, "tokenizer"),
            (single.name, "model.onnx"),
        ):
            expect.rejects(
                lambda target=target, path=path: client.download(target, file_path=path),
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_FIELD",
                field="file_path",
            )
