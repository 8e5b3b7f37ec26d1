"""The edge artifact store (spec/edge.md 2.7): resumable uploads of artifacts and device blobs
(GEN-082, EDG-048, EDG-049, EDG-116), upload status, stat and ranged reads (GEN-080, GEN-081,
EDG-044, EDG-046, EDG-047), on the store itself; test_edge_artifact_rpcs.py calls them
through the fleet server."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from lepton.edge.v1 import artifact_upload_pb2, edge_service_pb2
from lepton.type.v1 import artifact_pb2, digest_pb2
from lepton_server.aip.artifact_chunks import DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES
from lepton_server.edge.artifact_store import ArtifactStore
from lepton_server.runtime.encryption import KeyFile
from lepton_server.runtime.errors import (
    DataLoss,
    InvalidArgument,
    LeptonError,
    NotFound,
    OutOfRange,
    ResourceExhausted,
)
from lepton_server.runtime.sealed_files import SealedFiles

Request = edge_service_pb2.UploadArtifactRequest
MEDIA = "application/octet-stream"


def digest_of(data: bytes) -> digest_pb2.Digest:
    return digest_pb2.Digest(
        algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=hashlib.sha256(data).hexdigest()
    )


def header(data: bytes, *, size: int | None = None, media_type: str = MEDIA) -> Request:
    descriptor = artifact_pb2.ArtifactDescriptor(
        size_bytes=len(data) if size is None else size,
        digest=digest_of(data),
        media_type=media_type,
    )
    return Request(header=artifact_upload_pb2.ArtifactUploadHeader(artifact=descriptor))


def chunk(data: bytes, offset: int) -> Request:
    return Request(chunk=artifact_pb2.ArtifactChunk(offset=offset, data=data))


def chunks(data: bytes, start: int = 0, size: int = 4) -> list[Request]:
    return [chunk(data[at : at + size], at) for at in range(start, len(data), size)]


async def stream(messages: Iterable[Request]) -> AsyncIterator[Request]:
    for message in messages:
        yield message


def upload(store: ArtifactStore, messages: Iterable[Request], **options):
    return asyncio.run(store.upload(stream(messages), **options))


def status(store: ArtifactStore, data: bytes):
    return asyncio.run(store.status(digest_of(data)))


def read_all(store: ArtifactStore, digest, offset=0, length=0, chunk_size=0):
    async def collect():
        descriptor, pieces = store.read(digest, offset, length, chunk_size)
        return descriptor, [piece async for piece in pieces]

    return asyncio.run(collect())


def failure(error_type: type[LeptonError], call) -> LeptonError:
    with pytest.raises(error_type) as caught:
        call()
    return caught.value


# Each test runs on plain blobs and on blobs sealed at rest (--encryption-key-file).
@pytest.fixture(params=["plain", "sealed"])
def store(tmp_path: Path, request) -> ArtifactStore:
    store = ArtifactStore(tmp_path / "artifacts", max_upload_bytes=10_000_000)
    if request.param == "sealed":
        keys = KeyFile({"k1": secrets.token_bytes(32)})
        store.blobs.sealed = SealedFiles(keys, store.blobs.filesystem)
    return store


CONTENT = bytes(range(256)) * 4 + b"tail"


def test_an_upload_in_chunks_becomes_readable_by_digest(store: ArtifactStore):
    """EDG-048, EDG-046: committed_offset = size at the end; the bytes read back."""
    outcome = upload(store, [header(CONTENT, media_type="image/png"), *chunks(CONTENT, size=100)])
    assert outcome.committed_offset == len(CONTENT)
    assert not outcome.already_existed
    assert outcome.artifact.media_type == "image/png"
    assert outcome.artifact.digest == digest_of(CONTENT)
    stat = store.stat(digest_of(CONTENT))
    assert (stat.size_bytes, stat.media_type) == (len(CONTENT), "image/png")
    descriptor, pieces = read_all(store, digest_of(CONTENT))
    assert descriptor == stat
    assert b"".join(p.data for p in pieces) == CONTENT
    assert status(store, CONTENT) == (stat, len(CONTENT))


def test_a_stored_digest_is_answered_after_its_header(store: ArtifactStore):
    """EDG-048: a later upload of the same digest gets already_existed with no chunk."""
    upload(store, [header(CONTENT), *chunks(CONTENT, size=1000)])
    again = upload(store, [header(CONTENT)])
    assert again.already_existed
    assert again.committed_offset == len(CONTENT)
    # Chunks the client sends anyway are not read: the answer comes after the header.
    extra = upload(store, [header(CONTENT), chunk(b"junk", 12345)])
    assert extra.already_existed


def test_a_broken_upload_resumes_at_the_committed_offset(store: ArtifactStore):
    """GEN-082, EDG-048: bytes are committed as they arrive; the status tells where to go on."""

    async def cut() -> AsyncIterator[Request]:
        yield header(CONTENT)
        for message in chunks(CONTENT, size=300)[:2]:
            yield message
        raise ConnectionError("the network went away")

    with pytest.raises(ConnectionError):
        asyncio.run(store.upload(cut()))
    declared, committed = status(store, CONTENT)
    assert committed == 600
    assert declared.size_bytes == len(CONTENT)
    failure(NotFound, lambda: store.stat(digest_of(CONTENT)))
    # A half-close reports the same offset.
    assert upload(store, [header(CONTENT)]).committed_offset == 600
    done = upload(store, [header(CONTENT), *chunks(CONTENT, start=600, size=300)])
    assert done.committed_offset == len(CONTENT)
    assert not done.already_existed
    assert b"".join(p.data for p in read_all(store, digest_of(CONTENT))[1]) == CONTENT


def test_a_resumed_upload_survives_a_restart_of_the_store(tmp_path: Path):
    """GEN-082: the committed offset and the declared descriptor are durable; the hash of the
    bytes from before the restart is recomputed at the end."""
    first = ArtifactStore(tmp_path / "artifacts")
    upload(first, [header(CONTENT, media_type="text/plain"), *chunks(CONTENT, size=500)[:1]])
    second = ArtifactStore(tmp_path / "artifacts")
    declared, committed = status(second, CONTENT)
    assert (committed, declared.media_type) == (500, "text/plain")
    done = upload(second, [header(CONTENT, media_type="text/plain"), *chunks(CONTENT, 500, 500)])
    assert done.committed_offset == len(CONTENT)
    assert ArtifactStore(tmp_path / "artifacts").stat(digest_of(CONTENT)).media_type == "text/plain"


def test_bytes_committed_but_never_verified_are_verified_at_the_next_header(tmp_path: Path):
    """A crash between the last byte's commit and its verification: the next header of the
    digest verifies the staged bytes and answers with the stored artifact."""
    first = ArtifactStore(tmp_path / "artifacts")
    upload(first, [header(CONTENT)])
    first.blobs.append(digest_of(CONTENT).hex, CONTENT)  # as if the process died here
    second = ArtifactStore(tmp_path / "artifacts")
    outcome = upload(second, [header(CONTENT)])
    assert outcome.committed_offset == len(CONTENT)
    assert second.stat(digest_of(CONTENT)).size_bytes == len(CONTENT)


@pytest.mark.parametrize("offset", [0, 3, 5, 100])
def test_a_gap_or_an_overlap_is_out_of_range_with_the_committed_offset(
    store: ArtifactStore, offset: int
):
    """GEN-082, EDG-048: OUT_OF_RANGE [OFFSET_OUT_OF_RANGE], metadata committed_offset."""
    upload(store, [header(CONTENT), chunk(CONTENT[:4], 0)])
    error = failure(
        OutOfRange, lambda: upload(store, [header(CONTENT), chunk(CONTENT[offset:][:4], offset)])
    )
    assert error.reason == "OFFSET_OUT_OF_RANGE"
    assert error.metadata == {"committed_offset": "4"}
    assert status(store, CONTENT).committed_offset == 4


def test_a_first_chunk_must_start_at_zero_for_a_new_upload(store: ArtifactStore):
    error = failure(OutOfRange, lambda: upload(store, [header(CONTENT), chunk(CONTENT[4:8], 4)]))
    assert error.metadata == {"committed_offset": "0"}


def test_bytes_that_do_not_hash_to_the_digest_are_discarded(store: ArtifactStore):
    """GEN-082, EDG-048: DATA_LOSS [DIGEST_MISMATCH]; nothing becomes readable, and the
    upload starts over."""
    wrong = bytearray(CONTENT)
    wrong[-1] ^= 1
    error = failure(
        DataLoss, lambda: upload(store, [header(CONTENT), *chunks(bytes(wrong), 0, 500)])
    )
    assert error.reason == "DIGEST_MISMATCH"
    failure(NotFound, lambda: store.stat(digest_of(CONTENT)))
    assert failure(NotFound, lambda: status(store, CONTENT)).reason == "ARTIFACT_NOT_FOUND"
    assert upload(store, [header(CONTENT), *chunks(CONTENT, 0, 500)]).committed_offset == len(
        CONTENT
    )


def test_bytes_beyond_the_declared_size_are_a_digest_mismatch(store: ArtifactStore):
    upload(store, [header(CONTENT, size=10), chunk(CONTENT[:8], 0)])
    error = failure(
        DataLoss, lambda: upload(store, [header(CONTENT, size=10), chunk(CONTENT[8:12], 8)])
    )
    assert error.reason == "DIGEST_MISMATCH"
    failure(NotFound, lambda: status(store, CONTENT))


def test_a_header_with_another_size_restarts_an_unfinished_upload(store: ArtifactStore):
    """ArtifactUploadHeader: an unfinished upload that declared another size_bytes is
    discarded and the upload starts again at offset 0."""
    upload(store, [header(CONTENT, size=len(CONTENT) + 1), *chunks(CONTENT, 0, 100)[:3]])
    assert status(store, CONTENT).committed_offset == 300
    assert upload(store, [header(CONTENT)]).committed_offset == 0
    declared, committed = status(store, CONTENT)
    assert (declared.size_bytes, committed) == (len(CONTENT), 0)
    assert upload(store, [header(CONTENT), *chunks(CONTENT, 0, 700)]).committed_offset == len(
        CONTENT
    )


def test_a_stored_digest_declared_with_another_size_is_a_digest_mismatch(store: ArtifactStore):
    upload(store, [header(CONTENT), *chunks(CONTENT, 0, 2000)])
    error = failure(DataLoss, lambda: upload(store, [header(CONTENT, size=len(CONTENT) - 1)]))
    assert error.reason == "DIGEST_MISMATCH"
    assert store.stat(digest_of(CONTENT)).size_bytes == len(CONTENT)


def test_an_artifact_larger_than_the_limit_exceeds_the_quota(store: ArtifactStore):
    """EDG-049: RESOURCE_EXHAUSTED [QUOTA_EXCEEDED], metadata max_bytes; a call may set a
    smaller limit (device blobs)."""
    error = failure(ResourceExhausted, lambda: upload(store, [header(CONTENT, size=10_000_001)]))
    assert (error.reason, error.metadata) == ("QUOTA_EXCEEDED", {"max_bytes": "10000000"})
    small = failure(ResourceExhausted, lambda: upload(store, [header(CONTENT)], max_bytes=100))
    assert small.metadata == {"max_bytes": "100"}
    failure(NotFound, lambda: status(store, CONTENT))


def _field_of(error: LeptonError) -> str:
    assert error.reason == "INVALID_FIELD"
    return error.violations[0].field


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "payload"),
        ([chunk(CONTENT[:4], 0)], "payload"),
        ([Request()], "payload"),
        ([header(CONTENT), header(CONTENT)], "payload"),
        ([header(CONTENT), Request()], "payload"),
        ([header(CONTENT), chunk(b"", 0)], "chunk.data"),
        ([header(CONTENT), chunk(b"x" * (MAX_CHUNK_BYTES + 1), 0)], "chunk.data"),
        ([Request(header=artifact_upload_pb2.ArtifactUploadHeader())], "header.artifact"),
        ([header(CONTENT, size=0)], "header.artifact.size_bytes"),
        ([header(CONTENT, size=-5)], "header.artifact.size_bytes"),
    ],
)
def test_a_malformed_upload_stream_is_an_invalid_field(
    store: ArtifactStore, messages: list[Request], field: str
):
    """EDG-048: a missing or second header, an empty message or an empty chunk, a header
    without a positive size."""
    assert _field_of(failure(InvalidArgument, lambda: upload(store, messages))) == field


@pytest.mark.parametrize(
    ("digest", "field"),
    [
        (digest_pb2.Digest(hex="a" * 64), "algorithm"),
        (digest_pb2.Digest(algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex="A" * 64), "hex"),
        (digest_pb2.Digest(algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex="a" * 63), "hex"),
        (digest_pb2.Digest(algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex="g" * 64), "hex"),
    ],
)
def test_a_malformed_digest_is_an_invalid_field_everywhere(
    store: ArtifactStore, digest: digest_pb2.Digest, field: str
):
    """EDG-044 (stat, read), EDG-048 (header, status)."""
    assert _field_of(failure(InvalidArgument, lambda: store.stat(digest))) == f"digest.{field}"
    assert _field_of(failure(InvalidArgument, lambda: store.read(digest, 0, 0, 0))) == (
        f"digest.{field}"
    )
    assert _field_of(failure(InvalidArgument, lambda: asyncio.run(store.status(digest)))) == (
        f"digest.{field}"
    )
    bad = header(CONTENT)
    bad.header.artifact.digest.CopyFrom(digest)
    assert _field_of(failure(InvalidArgument, lambda: upload(store, [bad]))) == (
        f"header.artifact.digest.{field}"
    )


def test_an_unknown_digest_is_not_found_with_its_hex(store: ArtifactStore):
    """EDG-044, EDG-048: NOT_FOUND [ARTIFACT_NOT_FOUND], metadata digest."""
    digest = digest_of(b"never uploaded")
    for call in (
        lambda: store.stat(digest),
        lambda: store.read(digest, 0, 0, 0),
        lambda: asyncio.run(store.status(digest)),
    ):
        error = failure(NotFound, call)
        assert (error.reason, error.metadata) == ("ARTIFACT_NOT_FOUND", {"digest": digest.hex})


def test_reads_follow_the_range_rules(store: ArtifactStore):
    """EDG-046, EDG-047: contiguous non-empty chunks of at most the chunk size, from the
    offset, to the end or for length_bytes; offset = size gives no chunk; past it is
    OUT_OF_RANGE; negatives are INVALID_FIELD."""
    upload(store, [header(CONTENT), *chunks(CONTENT, 0, 3000)])
    digest = digest_of(CONTENT)
    _, pieces = read_all(store, digest, offset=10, chunk_size=100)
    assert [p.offset for p in pieces] == list(range(10, len(CONTENT), 100))
    assert all(0 < len(p.data) <= 100 for p in pieces)
    assert b"".join(p.data for p in pieces) == CONTENT[10:]
    _, pieces = read_all(store, digest, offset=5, length=250, chunk_size=100)
    assert [(p.offset, len(p.data)) for p in pieces] == [(5, 100), (105, 100), (205, 50)]
    _, pieces = read_all(store, digest, offset=len(CONTENT) - 3, length=100)
    assert b"".join(p.data for p in pieces) == CONTENT[-3:]
    descriptor, pieces = read_all(store, digest, offset=len(CONTENT))
    assert descriptor.size_bytes == len(CONTENT)
    assert pieces == []
    past = failure(OutOfRange, lambda: store.read(digest, len(CONTENT) + 1, 0, 0))
    assert past.reason == "OFFSET_OUT_OF_RANGE"
    for arguments, field in (
        ((-1, 0, 0), "offset"),
        ((0, -1, 0), "length_bytes"),
        ((0, 0, -1), "chunk_size_bytes"),
    ):
        assert (
            _field_of(failure(InvalidArgument, lambda a=arguments: store.read(digest, *a))) == field
        )


def test_chunks_are_clamped_to_three_mebibytes(store: ArtifactStore):
    """GEN-081: a larger chunk_size_bytes is clamped; 0 is the server's choice."""
    big = bytes(MAX_CHUNK_BYTES + 10)
    upload(store, [header(big), *chunks(big, 0, MAX_CHUNK_BYTES)])
    _, pieces = read_all(store, digest_of(big), chunk_size=64 * 1024 * 1024)
    assert [len(p.data) for p in pieces] == [MAX_CHUNK_BYTES, 10]
    _, pieces = read_all(store, digest_of(big))
    assert max(len(p.data) for p in pieces) == DEFAULT_CHUNK_BYTES
    assert sum(len(p.data) for p in pieces) == len(big)


def test_concurrent_streams_of_one_digest_never_interleave_bytes(store: ArtifactStore):
    """Two streams with the same digest: one commits, the other gets OFFSET_OUT_OF_RANGE or
    finds the artifact stored; the stored bytes are the artifact."""

    async def both():
        return await asyncio.gather(
            store.upload(stream([header(CONTENT), *chunks(CONTENT, 0, 64)])),
            store.upload(stream([header(CONTENT), *chunks(CONTENT, 0, 64)])),
            return_exceptions=True,
        )

    results = asyncio.run(both())
    assert any(getattr(r, "committed_offset", None) == len(CONTENT) for r in results)
    for result in results:
        assert not isinstance(result, LeptonError) or result.reason == "OFFSET_OUT_OF_RANGE"
    assert b"".join(p.data for p in read_all(store, digest_of(CONTENT))[1]) == CONTENT
