"""Artifact bytes to and from a registry, resumable both ways (spec/registry.md, "Upload and
download protocol"). An upload starts at the offset the server has committed and, when the
stream breaks, asks again and continues from there; a download appends to a partial file
named after the artifact's digest, so a later call (even from another process) continues it,
and the file takes its final name only once its SHA-256 is verified."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2
from lepton.type.v1 import artifact_pb2, digest_pb2
from lepton_ai.errors import DataLossError, from_rpc_error
from lepton_ai.progress import ProgressBar
from lepton_ai.registry.model_packaging import Package

CHUNK_BYTES = 1024 * 1024  # well under the 3 MiB a chunk may hold (GEN-081)
ATTEMPTS = 5
# A stream that ends with one of these broke on the way; the transfer resumes.
BROKEN = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.ABORTED,  # superseded by a retry of ours
    }
)
READY = model_version_pb2.MODEL_VERSION_STATE_READY


def descriptor_of(package: Package) -> artifact_pb2.ArtifactDescriptor:
    """The size and SHA-256 of a package's bytes, read once."""
    digest, size = hashlib.sha256(), 0
    with package.open() as stream:
        while block := stream.read(CHUNK_BYTES):
            digest.update(block)
            size += len(block)
    return artifact_pb2.ArtifactDescriptor(
        size_bytes=size,
        digest=digest_pb2.Digest(
            algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=digest.hexdigest()
        ),
        media_type=package.media_type,
    )


def upload(
    stub: Any,
    version: str,
    package: Package,
    artifact: artifact_pb2.ArtifactDescriptor,
    bar: ProgressBar,
    *,
    timeout: float | None,
) -> model_version_pb2.ModelVersion:
    """Send the package's bytes into the PENDING `version` from the committed offset,
    resuming after a broken stream; the version once READY."""
    for _ in range(ATTEMPTS):
        request = pb.GetModelVersionUploadStatusRequest(name=version)
        status = _call(stub.GetModelVersionUploadStatus, request, timeout)
        bar.update(status.committed_offset, artifact.size_bytes, "bytes")
        try:
            answer = stub.UploadModelVersionArtifact(
                _messages(version, package, artifact, status.committed_offset, bar)
            )
        except grpc.RpcError as error:
            if error.code() in BROKEN:
                continue
            raise from_rpc_error(error) from None
        if answer.model_version.state == READY:
            bar.update(artifact.size_bytes)
            return answer.model_version
    raise _data_loss(f"the upload of {version} did not complete in {ATTEMPTS} attempts")


def _messages(
    version: str,
    package: Package,
    artifact: artifact_pb2.ArtifactDescriptor,
    offset: int,
    bar: ProgressBar,
) -> Iterator[pb.UploadModelVersionArtifactRequest]:
    yield pb.UploadModelVersionArtifactRequest(
        header=pb.ModelVersionUploadHeader(model_version=version, artifact=artifact)
    )
    with package.open() as stream:
        stream.seek(offset)
        while block := stream.read(CHUNK_BYTES):
            yield pb.UploadModelVersionArtifactRequest(
                chunk=artifact_pb2.ArtifactChunk(offset=offset, data=block)
            )
            offset += len(block)
            bar.update(offset)


def download(
    stub: Any,
    version: str,
    artifact: artifact_pb2.ArtifactDescriptor,
    destination: Path,
    bar: ProgressBar,
    *,
    file_path: str = "",
) -> Path:
    """The READY `version`'s artifact (or its archive's file `file_path`, which `artifact`
    then describes) in `destination`, continuing a partial download of the same bytes and
    verifying the SHA-256 before the file takes its name."""
    partial = destination.with_name(f"{destination.name}.{artifact.digest.hex[:16]}.part")
    for _ in range(ATTEMPTS):
        offset = partial.stat().st_size if partial.exists() else 0
        bar.update(offset, artifact.size_bytes, "bytes")
        if offset >= artifact.size_bytes:
            break
        request = pb.DownloadModelVersionArtifactRequest(
            name=version, offset=offset, file_path=file_path
        )
        try:
            _append(stub.DownloadModelVersionArtifact(request), artifact, partial, bar)
        except grpc.RpcError as error:
            if error.code() in BROKEN:
                continue
            raise from_rpc_error(error) from None
    if _sha256(partial) != artifact.digest.hex:
        partial.unlink(missing_ok=True)
        raise _data_loss(f"the bytes of {version} do not match its SHA-256", "DIGEST_MISMATCH")
    partial.replace(destination)
    return destination


def _append(
    responses: Iterator[pb.DownloadModelVersionArtifactResponse],
    artifact: artifact_pb2.ArtifactDescriptor,
    partial: Path,
    bar: ProgressBar,
) -> None:
    with partial.open("ab") as sink:
        for response in responses:
            if response.WhichOneof("payload") == "artifact":
                if response.artifact.digest.hex != artifact.digest.hex:
                    raise _data_loss("the artifact changed during the download")
                continue
            data = response.chunk.data  # upb copies bytes at every access
            sink.write(data)
            bar.update(response.chunk.offset + len(data))


def _data_loss(message: str, reason: str = "") -> DataLossError:
    return DataLossError(grpc.StatusCode.DATA_LOSS, reason, message)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _call(method: Callable[..., Any], request: Any, timeout: float | None) -> Any:
    try:
        return method(request, timeout=timeout)
    except grpc.RpcError as error:
        raise from_rpc_error(error) from None
