"""The artifact RPCs of the fleet server (spec/edge.md 2.7): operators upload and download
through EdgeService (edge.artifact_upload, GEN-080, GEN-082, EDG-048, EDG-116), devices stat,
read and upload blobs through DeviceAgentService with their access tokens (EDG-044 to
EDG-047, edge.device_blobs). Statuses and ErrorInfo come through the host's error mapping."""

from __future__ import annotations

import grpc
import pytest
from support.edge_fleet import create_device, descriptor, device_metadata
from support.status_details import bad_request, error_info

from lepton.edge.v1 import artifact_upload_pb2
from lepton.edge.v1 import device_agent_service_pb2 as agent_pb
from lepton.edge.v1 import edge_service_pb2 as pb
from lepton.type.v1 import artifact_pb2

CONTENT = bytes(range(256)) * 4 + b"tail"


def header(message: type, data: bytes, size: int | None = None):
    declared = descriptor(data)
    if size is not None:
        declared.size_bytes = size
    return message(header=artifact_upload_pb2.ArtifactUploadHeader(artifact=declared))


def chunks(message: type, data: bytes, start: int = 0, size: int = 512) -> list:
    return [
        message(chunk=artifact_pb2.ArtifactChunk(offset=at, data=data[at : at + size]))
        for at in range(start, len(data), size)
    ]


def failed(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.fixture(scope="module")
def device(edge, fleet_server) -> tuple[tuple[str, str], ...]:
    """The call metadata of a registered device."""
    name = create_device(edge, "artifact-reader").name
    return device_metadata(fleet_server.fleet, name)


def test_an_upload_resumes_and_is_then_downloadable(edge):
    data = CONTENT + b"resumed"
    Request = pb.UploadArtifactRequest
    partial = edge.UploadArtifact(iter([header(Request, data), *chunks(Request, data)[:1]]))
    assert (partial.committed_offset, partial.already_existed) == (512, False)
    status = edge.GetArtifactUploadStatus(
        pb.GetArtifactUploadStatusRequest(digest=descriptor(data).digest)
    )
    assert status.committed_offset == 512
    gap = failed(edge.UploadArtifact, iter([header(Request, data), *chunks(Request, data, 600)]))
    assert gap.code() == grpc.StatusCode.OUT_OF_RANGE
    assert error_info(gap).reason == "OFFSET_OUT_OF_RANGE"
    assert error_info(gap).metadata["committed_offset"] == "512"
    done = edge.UploadArtifact(iter([header(Request, data), *chunks(Request, data, 512)]))
    assert done.committed_offset == done.artifact.size_bytes == len(data)
    assert edge.UploadArtifact(iter([header(Request, data)])).already_existed

    responses = list(
        edge.DownloadArtifact(
            pb.DownloadArtifactRequest(
                digest=descriptor(data).digest, offset=7, chunk_size_bytes=200
            )
        )
    )
    assert responses[0].artifact.size_bytes == len(data)
    assert b"".join(r.chunk.data for r in responses[1:]) == data[7:]


def test_malformed_and_mismatched_uploads_are_refused(edge):
    Request = pb.UploadArtifactRequest
    empty = failed(edge.UploadArtifact, iter([Request()]))
    assert empty.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(empty).field_violations[0].field == "payload"
    wrong = bytes(len(CONTENT))
    mismatch = failed(
        edge.UploadArtifact, iter([header(Request, CONTENT[:-1] + b"!"), *chunks(Request, wrong)])
    )
    assert mismatch.code() == grpc.StatusCode.DATA_LOSS
    assert error_info(mismatch).reason == "DIGEST_MISMATCH"
    missing = failed(
        lambda: list(
            edge.DownloadArtifact(pb.DownloadArtifactRequest(digest=descriptor(b"none").digest))
        )
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert error_info(missing).reason == "ARTIFACT_NOT_FOUND"
    assert error_info(missing).metadata["digest"] == descriptor(b"none").digest.hex


def test_a_device_stats_and_reads_an_uploaded_artifact(edge, agent, device):
    data = CONTENT + b"for devices"
    edge.UploadArtifact(
        iter([header(pb.UploadArtifactRequest, data), *chunks(pb.UploadArtifactRequest, data)])
    )
    digest = descriptor(data).digest
    stat = agent.StatArtifact(agent_pb.StatArtifactRequest(digest=digest), metadata=device)
    assert stat.artifact.size_bytes == len(data)
    assert stat.artifact.digest == digest
    responses = list(
        agent.ReadArtifact(agent_pb.ReadArtifactRequest(digest=digest, offset=100), metadata=device)
    )
    assert responses[0].artifact.size_bytes == len(data)
    assert b"".join(r.chunk.data for r in responses[1:]) == data[100:]
    # EDG-047: an offset past the size is out of range; at the size, no chunk.
    at_end = list(
        agent.ReadArtifact(
            agent_pb.ReadArtifactRequest(digest=digest, offset=len(data)), metadata=device
        )
    )
    assert [r.WhichOneof("payload") for r in at_end] == ["artifact"]
    past = failed(
        lambda: list(
            agent.ReadArtifact(
                agent_pb.ReadArtifactRequest(digest=digest, offset=len(data) + 1), metadata=device
            )
        )
    )
    assert (past.code(), error_info(past).reason) == (
        grpc.StatusCode.OUT_OF_RANGE,
        "OFFSET_OUT_OF_RANGE",
    )


def test_device_reads_check_the_digest_and_the_token(agent, device):
    # EDG-044
    malformed = descriptor(b"x").digest
    malformed.hex = "ABC"
    error = failed(
        agent.StatArtifact, agent_pb.StatArtifactRequest(digest=malformed), metadata=device
    )
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )
    unknown = descriptor(b"never uploaded").digest
    error = failed(
        agent.StatArtifact, agent_pb.StatArtifactRequest(digest=unknown), metadata=device
    )
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.NOT_FOUND,
        "ARTIFACT_NOT_FOUND",
    )
    # EDG-026: no access token, no artifact.
    error = failed(agent.StatArtifact, agent_pb.StatArtifactRequest(digest=unknown))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_device_uploads_a_blob_that_operators_download(edge, agent, device):
    # EDG-116
    blob = b"an input image" * 100
    Request = agent_pb.UploadBlobRequest
    partial = agent.UploadBlob(
        iter([header(Request, blob), *chunks(Request, blob)[:1]]), metadata=device
    )
    assert partial.committed_offset == 512
    status = agent.GetBlobUploadStatus(
        agent_pb.GetBlobUploadStatusRequest(digest=descriptor(blob).digest), metadata=device
    )
    assert (status.committed_offset, status.blob.size_bytes) == (512, len(blob))
    done = agent.UploadBlob(
        iter([header(Request, blob), *chunks(Request, blob, 512)]), metadata=device
    )
    assert done.committed_offset == done.blob.size_bytes == len(blob)
    again = agent.UploadBlob(iter([header(Request, blob)]), metadata=device)
    assert again.already_existed
    responses = list(
        edge.DownloadArtifact(pb.DownloadArtifactRequest(digest=descriptor(blob).digest))
    )
    assert b"".join(r.chunk.data for r in responses[1:]) == blob
