"""edge-fleet cases of artifacts: resumable UploadArtifact and GetArtifactUploadStatus (feature
edge.artifact_upload), a device's StatArtifact and ReadArtifact of the artifact its desired
state names, with ranges and chunk sizes, and device blobs with DownloadArtifact (feature
edge.device_blobs) (spec/edge.md section 2.7; EDG-044 to EDG-049, EDG-116)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import grpc

from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.type.v1 import artifact_pb2, digest_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.edge.edge_client import (
    AGENT_SERVICE,
    SERVICE,
    AgentClient,
    FleetClient,
    absent_digest,
    enrol,
)
from lepton_conformance.suites.edge.feature_probes import DEVICE_BLOBS
from lepton_conformance.suites.edge.fleet_rig import (
    ARTIFACT_UPLOAD,
    Fleet,
    R,
    conformance_model,
    descriptor,
    servable,
    signed_release,
    upload_stream,
)
from lepton_conformance.suites.edge.profiles import FLEET

CASES = CaseList()
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
MAX_CHUNK = 3 * 1024 * 1024
SIZE = 96 * 1024
HALF = 40 * 1024


class _Uploads:
    """UploadArtifact/GetArtifactUploadStatus, or UploadBlob/GetBlobUploadStatus as a device."""

    def __init__(self, call: Any, blobs: bool) -> None:
        self.call = call
        self.blobs = blobs
        self.rpc = "UploadBlob" if blobs else "UploadArtifact"
        self.status_rpc = "GetBlobUploadStatus" if blobs else "GetArtifactUploadStatus"
        module = agent_pb if blobs else pb
        self.request = getattr(module, f"{self.rpc}Request")
        self.status_request = getattr(module, f"{self.status_rpc}Request")

    def send(self, header: artifact_pb2.ArtifactDescriptor | None, *chunks: tuple[int, bytes]):
        return lambda: self.call(self.rpc, iter(upload_stream(header, chunks, self.request)))

    def messages(self, *messages: Any):
        return lambda: self.call(self.rpc, iter(messages))

    def status(self, digest: digest_pb2.Digest):
        return lambda: self.call(self.status_rpc, self.status_request(digest=digest))


def _resumes(uploads: _Uploads) -> tuple[artifact_pb2.ArtifactDescriptor, bytes]:
    """An upload broken after HALF bytes resumes from the committed offset: overlaps and gaps
    are OFFSET_OUT_OF_RANGE with metadata committed_offset, the status reports it, the rest
    completes the artifact and a later upload of it is already_existed."""
    data = secrets.token_bytes(SIZE)
    declared = descriptor(data)
    first = expect.succeeds(uploads.send(declared, (0, data[:HALF])), f"a partial {uploads.rpc}")
    expect.equal(first.committed_offset, HALF, "committed_offset of the partial upload")
    status = expect.succeeds(uploads.status(declared.digest), uploads.status_rpc)
    expect.equal(status.committed_offset, HALF, f"committed_offset of {uploads.status_rpc}")
    for offset in (0, HALF - 1, HALF + 1):
        expect.rejects(
            uploads.send(declared, (offset, data[offset : offset + 1024])),
            grpc.StatusCode.OUT_OF_RANGE,
            "OFFSET_OUT_OF_RANGE",
            metadata={"committed_offset": str(HALF)},
        )
    done = expect.succeeds(uploads.send(declared, (HALF, data[HALF:])), "the resumed upload")
    expect.equal(done.committed_offset, SIZE, "committed_offset of the completed upload")
    again = expect.succeeds(uploads.send(declared), "a header of a stored digest")
    expect.equal(
        (again.already_existed, again.committed_offset),
        (True, SIZE),
        "(already_existed, committed_offset) of a stored digest",
    )
    return declared, data


def _refuses(uploads: _Uploads) -> None:
    """Malformed streams are INVALID_FIELD; excess or mismatching bytes DIGEST_MISMATCH and
    leave nothing: the status of the digest is then ARTIFACT_NOT_FOUND."""
    data = secrets.token_bytes(4096)
    declared = descriptor(data)
    header = upload_stream(declared, [], uploads.request)[0]
    chunk = uploads.request(chunk=artifact_pb2.ArtifactChunk(offset=0, data=data))
    unsized = descriptor(data)
    unsized.size_bytes = 0
    md5 = descriptor(data)
    md5.digest.algorithm = digest_pb2.DIGEST_ALGORITHM_UNSPECIFIED
    for messages in (
        (chunk,),
        (header, header, chunk),
        (header, uploads.request()),
        (header, uploads.request(chunk=artifact_pb2.ArtifactChunk(offset=0))),
        (upload_stream(unsized, [], uploads.request)[0], chunk),
        (upload_stream(md5, [], uploads.request)[0], chunk),
    ):
        expect.fails_with(uploads.messages(*messages), INVALID, "INVALID_FIELD")
    for sent in ((0, data + b"x"),), ((0, data[:2048]), (2048, data[2048:] + b"!")):
        expect.fails_with(
            uploads.send(declared, *sent), grpc.StatusCode.DATA_LOSS, "DIGEST_MISMATCH"
        )
        expect.rejects(
            uploads.status(declared.digest),
            NOT_FOUND,
            "ARTIFACT_NOT_FOUND",
            metadata={"digest": declared.digest.hex},
        )
    flipped = bytes([data[0] ^ 1]) + data[1:]
    expect.fails_with(
        uploads.send(declared, (0, flipped)), grpc.StatusCode.DATA_LOSS, "DIGEST_MISMATCH"
    )
    expect.fails_with(uploads.status(declared.digest), NOT_FOUND, "ARTIFACT_NOT_FOUND")
    expect.rejects(uploads.status(absent_digest()), NOT_FOUND, "ARTIFACT_NOT_FOUND")


def _read(call: Any, rpc: str, request: Any) -> tuple[artifact_pb2.ArtifactDescriptor, list]:
    """The descriptor and chunks of a ReadArtifact or DownloadArtifact stream."""
    messages = expect.succeeds(lambda: list(call(rpc, request)), rpc)
    expect.holds(
        bool(messages) and messages[0].HasField("artifact"),
        f"{rpc} to start with the artifact's descriptor",
        str(messages[:1]),
    )
    chunks = [m.chunk for m in messages[1:]]
    expect.holds(
        all(m.HasField("chunk") for m in messages[1:]),
        "only chunks after the descriptor",
        str([m.WhichOneof("payload") for m in messages]),
    )
    return messages[0].artifact, chunks


def _bytes(chunks: list, start: int, limit: int = MAX_CHUNK) -> bytes:
    """The chunks' data, after checking they are non-empty, at most `limit` bytes and
    contiguous from `start`."""
    offset = start
    for chunk in chunks:
        expect.equal(chunk.offset, offset, "the offset of the next chunk")
        expect.holds(
            0 < len(chunk.data) <= limit, f"1 to {limit} bytes a chunk", str(len(chunk.data))
        )
        offset += len(chunk.data)
    return b"".join(chunk.data for chunk in chunks)


def _ranges(call: Any, rpc: str, module: Any, declared, data: bytes) -> None:
    """`rpc` streams `data` from 0, from an offset, with a length and small chunks; at the
    size only the descriptor; beyond it OFFSET_OUT_OF_RANGE; negative values INVALID_FIELD;
    an absent digest ARTIFACT_NOT_FOUND."""
    request = getattr(module, f"{rpc}Request")
    digest = declared.digest
    got, chunks = _read(call, rpc, request(digest=digest))
    expect.equal((got.size_bytes, got.digest), (declared.size_bytes, digest), "the descriptor")
    whole = _bytes(chunks, 0)
    expect.equal(hashlib.sha256(whole).hexdigest(), digest.hex, "the SHA-256 read from 0")
    k = len(data) // 3
    _, chunks = _read(call, rpc, request(digest=digest, offset=k, chunk_size_bytes=1000))
    expect.holds(_bytes(chunks, k, 1000) == data[k:], f"the bytes from {k}", "others")
    _, chunks = _read(call, rpc, request(digest=digest, offset=k, length_bytes=5000))
    expect.holds(_bytes(chunks, k) == data[k : k + 5000], "5000 bytes from k", "others")
    _, chunks = _read(call, rpc, request(digest=digest, chunk_size_bytes=10**9))
    expect.holds(_bytes(chunks, 0) == data, "a clamped chunk size to read it all", "others")
    _, chunks = _read(call, rpc, request(digest=digest, offset=len(data)))
    expect.equal(len(chunks), 0, "chunks read from the size")
    expect.rejects(
        lambda: list(call(rpc, request(digest=digest, offset=len(data) + 1))),
        grpc.StatusCode.OUT_OF_RANGE,
        "OFFSET_OUT_OF_RANGE",
    )
    for field in ("offset", "length_bytes", "chunk_size_bytes"):
        expect.fails_with(
            lambda field=field: list(call(rpc, request(digest=digest, **{field: -1}))),
            INVALID,
            "INVALID_FIELD",
        )
    absent = absent_digest()
    expect.rejects(
        lambda: list(call(rpc, request(digest=absent))),
        NOT_FOUND,
        "ARTIFACT_NOT_FOUND",
        metadata={"digest": absent.hex},
    )


@CASES.case(
    FLEET, "artifacts.upload-resumes-at-the-committed-offset", "EDG-048", "EDG-049", "EDG-065"
)
def upload(ctx: CaseContext) -> None:
    """UploadArtifact (edge.artifact_upload) commits bytes as they arrive: a broken upload
    resumes at the committed offset its response and GetArtifactUploadStatus report, a chunk
    elsewhere is OFFSET_OUT_OF_RANGE, and CreateRollout accepts the artifact once complete; a
    stored digest is already_existed; malformed streams are INVALID_FIELD, excess or
    mismatching bytes DIGEST_MISMATCH leaving nothing; a size beyond the server's limit is
    QUOTA_EXCEEDED with metadata max_bytes."""
    ctx.require_feature(SERVICE, ARTIFACT_UPLOAD)
    with Fleet(ctx) as fleet:
        uploads = _Uploads(fleet.client.call, blobs=False)
        data = secrets.token_bytes(SIZE)
        declared = descriptor(data)
        expect.succeeds(uploads.send(declared, (0, data[:HALF])), "a partial upload")
        create = pb.CreateRolloutRequest(
            parent=fleet.deployment, rollout=R.Rollout(release=signed_release(declared))
        )
        expect.fails_with(
            lambda: fleet.client.call("CreateRollout", create),
            grpc.StatusCode.FAILED_PRECONDITION,
            "ARTIFACT_NOT_AVAILABLE",
        )
        expect.succeeds(uploads.send(declared, (HALF, data[HALF:])), "the rest")
        fleet.client.ok("CreateRollout", create)
        _resumes(uploads)
        _refuses(uploads)
        huge = descriptor(b"")
        huge.size_bytes = 2**62
        error = expect.fails_with(
            uploads.send(huge), grpc.StatusCode.RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED"
        )
        limit = dict(expect.error_info(error).metadata).get("max_bytes", "")
        expect.holds(limit.isdigit(), "ErrorInfo metadata max_bytes, a number", repr(limit))


@CASES.case(
    FLEET,
    "artifacts.a-device-reads-its-desired-artifact-in-ranges",
    "EDG-044",
    "EDG-045",
    "EDG-046",
    "EDG-047",
)
def device_reads(ctx: CaseContext) -> None:
    """A device whose desired state names the conformance model StatArtifacts it (exact size
    and digest) and ReadArtifacts it: the descriptor first, then contiguous non-empty chunks
    of at most chunk_size_bytes (3 MiB when larger) from the offset, length_bytes honoured,
    no chunk from the size, OFFSET_OUT_OF_RANGE beyond; a malformed digest or negative
    value is INVALID_FIELD, an absent digest ARTIFACT_NOT_FOUND with metadata digest."""
    with Fleet(ctx, devices=1) as fleet:
        artifact = servable(ctx, fleet.client)
        rollout = fleet.create(signed_release(artifact))
        (device,) = fleet.devices
        device.take_rollout(fleet.deployment, rollout.name)
        token = device.enrolled.token

        def call(rpc: str, request: Any) -> Any:
            return fleet.agent.call(rpc, request, token)

        stat = expect.succeeds(lambda: fleet.agent.stat(token, artifact.digest), "StatArtifact")
        expect.equal(
            (stat.artifact.size_bytes, stat.artifact.digest),
            (artifact.size_bytes, artifact.digest),
            "StatArtifact's (size_bytes, digest)",
        )
        for bad in (
            digest_pb2.Digest(hex=artifact.digest.hex),
            digest_pb2.Digest(
                algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=artifact.digest.hex.upper()
            ),
            digest_pb2.Digest(algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex="ab"),
        ):
            expect.fails_with(
                lambda bad=bad: call("StatArtifact", agent_pb.StatArtifactRequest(digest=bad)),
                INVALID,
                "INVALID_FIELD",
            )
            expect.fails_with(
                lambda bad=bad: list(
                    call("ReadArtifact", agent_pb.ReadArtifactRequest(digest=bad))
                ),
                INVALID,
                "INVALID_FIELD",
            )
        expect.rejects(
            lambda: fleet.agent.stat(token),
            NOT_FOUND,
            "ARTIFACT_NOT_FOUND",
        )
        _ranges(call, "ReadArtifact", agent_pb, artifact, conformance_model())


@CASES.case(FLEET, "artifacts.device-blobs-upload-resumably-and-download", "EDG-116")
def blobs(ctx: CaseContext) -> None:
    """With edge.device_blobs a device's UploadBlob resumes at the committed offset of
    GetBlobUploadStatus, refuses gaps, overlaps and malformed streams, discards mismatching
    bytes and answers a stored digest already_existed; DownloadArtifact streams the blob in
    ranges as ReadArtifact does and answers an unknown digest ARTIFACT_NOT_FOUND."""
    ctx.require_feature(AGENT_SERVICE, DEVICE_BLOBS)
    agent = AgentClient(ctx)
    with FleetClient(ctx) as fleet:
        device = enrol(fleet, agent)
        uploads = _Uploads(lambda rpc, request: agent.call(rpc, request, device.token), True)
        declared, data = _resumes(uploads)
        _refuses(uploads)
        _ranges(fleet.call, "DownloadArtifact", pb, declared, data)
