"""A client of lepton.registry.v1.ModelRegistryService for the registry profiles: scratch
models that delete themselves, versions declared from bytes, uploads cut into chunks (whole,
partial or broken), downloads collected back into bytes, and event streams read to a point.
Written apart from any server, from the contract and spec/registry.md only."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from lepton.registry.v1 import model_pb2, model_version_pb2
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.type.v1 import artifact_pb2, digest_pb2, model_artifact_pb2, model_format_pb2
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext

SERVICE = pb.DESCRIPTOR.services_by_name["ModelRegistryService"].full_name
MAX_CHUNK = 3 * 1024 * 1024  # GEN-081
READY = model_version_pb2.MODEL_VERSION_STATE_READY
PENDING = model_version_pb2.MODEL_VERSION_STATE_PENDING_REGISTRATION
FAILED = model_version_pb2.MODEL_VERSION_STATE_FAILED_REGISTRATION
ONNX = model_format_pb2.MODEL_FORMAT_ONNX
OTHER = model_format_pb2.MODEL_FORMAT_OTHER


def unique_id(prefix: str = "conf") -> str:
    """A fresh AIP-122 ID, e.g. conf-3fa9c1d2, so that runs never collide."""
    return f"{prefix}-{secrets.token_hex(4)}"


def random_bytes(size: int) -> bytes:
    """`size` bytes no other run uploads, so deduplication never meets them by chance."""
    return secrets.token_bytes(size)


def descriptor(data: bytes, media_type: str = "application/octet-stream") -> Any:
    """The ArtifactDescriptor of `data`: its size and SHA-256."""
    return artifact_pb2.ArtifactDescriptor(
        size_bytes=len(data),
        digest=digest_pb2.Digest(
            algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=hashlib.sha256(data).hexdigest()
        ),
        media_type=media_type,
    )


def version_of(data: bytes, model_format: int = OTHER, **fields: Any) -> Any:
    """A ModelVersion declaring `data` as its single-file artifact (unless `fields` holds
    another `artifact`)."""
    if "artifact" not in fields:
        media = "application/onnx" if model_format == ONNX else "application/octet-stream"
        fields["artifact"] = model_artifact_pb2.ModelArtifact(
            descriptor=descriptor(data, media), format=model_format
        )
    return model_version_pb2.ModelVersion(**fields)


def chunks(data: bytes, size: int, start: int = 0) -> list[Any]:
    """`data[start:]` as ArtifactChunks of `size` bytes at their offsets."""
    return [
        artifact_pb2.ArtifactChunk(offset=offset, data=data[offset : offset + size])
        for offset in range(start, len(data), size)
    ]


def header(version: str, data: bytes) -> pb.UploadModelVersionArtifactRequest:
    """The first message of an upload of `data` into `version`."""
    return pb.UploadModelVersionArtifactRequest(
        header=pb.ModelVersionUploadHeader(model_version=version, artifact=descriptor(data))
    )


def upload_messages(
    version: str, data: bytes, size: int = MAX_CHUNK, start: int = 0
) -> list[pb.UploadModelVersionArtifactRequest]:
    """A header and the chunks of `data` from `start`."""
    return [
        header(version, data),
        *(pb.UploadModelVersionArtifactRequest(chunk=c) for c in chunks(data, size, start)),
    ]


class RegistryClient:
    """Calls the target's ModelRegistryService with the run's token and deadline."""

    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx

    def _method(self, name: str) -> Any:
        method = pb.DESCRIPTOR.services_by_name["ModelRegistryService"].methods_by_name[name]
        request_class = getattr(pb, method.input_type.name)
        response_class = getattr(pb, method.output_type.name)
        if method.client_streaming:
            factory = self.ctx.channel.stream_unary
        elif method.server_streaming:
            factory = self.ctx.channel.unary_stream
        else:
            factory = self.ctx.channel.unary_unary
        return factory(
            f"/{SERVICE}/{name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )

    def call(self, name: str, request: Message, timeout: float | None = None) -> Any:
        return self._method(name)(
            request, metadata=self.ctx.metadata, timeout=timeout or self.ctx.timeout
        )

    def stream(self, name: str, request: Message, timeout: float | None = None) -> Any:
        """A server stream, as the call object (iterate it; cancel it to stop)."""
        return self._method(name)(
            request, metadata=self.ctx.metadata, timeout=timeout or self.ctx.timeout
        )

    # --- models ---------------------------------------------------------------------------

    def create_model(self, model_id: str, **fields: Any) -> Any:
        request = pb.CreateModelRequest(model_id=model_id, model=model_pb2.Model(**fields))
        return self.call("CreateModel", request).model

    def model(self, name: str) -> Any:
        return self.call("GetModel", pb.GetModelRequest(name=name)).model

    def update_labels(self, name: str, labels: dict[str, str] | None = None) -> Any:
        """Replace a model's labels (UpdateModel with the mask `labels`)."""
        model = model_pb2.Model(name=name, labels=labels or {"touched": "yes"})
        request = pb.UpdateModelRequest(model=model, update_mask=FieldMask(paths=["labels"]))
        return self.call("UpdateModel", request).model

    def delete_model(self, name: str, force: bool = True) -> None:
        self.call("DeleteModel", pb.DeleteModelRequest(name=name, force=force))

    @contextlib.contextmanager
    def scratch(self, prefix: str = "conf", **fields: Any) -> Iterator[str]:
        """A new model `models/<prefix>-<random>`, deleted with force afterwards."""
        name = self.create_model(unique_id(prefix), **fields).name
        try:
            yield name
        finally:
            with contextlib.suppress(grpc.RpcError):
                self.delete_model(name)

    # --- versions ---------------------------------------------------------------------------

    def create_version(self, model: str, data: bytes, **fields: Any) -> Any:
        request = pb.CreateModelVersionRequest(
            parent=model, model_version=version_of(data, **fields)
        )
        return self.call("CreateModelVersion", request).model_version

    def version(self, name: str) -> Any:
        return self.call("GetModelVersion", pb.GetModelVersionRequest(name=name)).model_version

    def upload(self, messages: Iterable[Message]) -> Any:
        """Send an upload stream; the UploadModelVersionArtifactResponse."""
        return self.call("UploadModelVersionArtifact", iter(list(messages)))

    def committed(self, version: str) -> Any:
        request = pb.GetModelVersionUploadStatusRequest(name=version)
        return self.call("GetModelVersionUploadStatus", request)

    def register(self, model: str, data: bytes, **fields: Any) -> Any:
        """A READY version holding `data`, uploaded in chunks of 1 MiB."""
        version = self.create_version(model, data, **fields)
        answer = self.upload(upload_messages(version.name, data, 1024 * 1024))
        expect.equal(answer.model_version.state, READY, "state after a complete upload")
        return answer.model_version

    def upload_fails_registration(
        self, version: str, data: bytes, reason: str, chunk_size: int = MAX_CHUNK
    ) -> None:
        """The upload of all of `data` fails with INVALID_ARGUMENT [`reason`], and the version
        is then FAILED_REGISTRATION with that reason (REG-027, REG-028)."""
        expect.fails_with(
            lambda: self.upload(upload_messages(version, data, chunk_size)),
            grpc.StatusCode.INVALID_ARGUMENT,
            reason,
        )
        failed = self.version(version)
        expect.equal(
            (failed.state, failed.registration_error.reason),
            (FAILED, reason),
            "(state, registration_error.reason)",
        )

    def download(
        self, name: str, offset: int = 0, length: int = 0, chunk_size: int = 0, file_path: str = ""
    ) -> tuple[Any, list[Any]]:
        """The descriptor and the chunks of a download (of one file of an archive with
        `file_path`)."""
        request = pb.DownloadModelVersionArtifactRequest(
            name=name,
            offset=offset,
            length_bytes=length,
            chunk_size_bytes=chunk_size,
            file_path=file_path,
        )
        first, *rest = list(self.stream("DownloadModelVersionArtifact", request))
        expect.equal(first.WhichOneof("payload"), "artifact", "first message of a download")
        for message in rest:
            expect.equal(message.WhichOneof("payload"), "chunk", "later messages of a download")
        return first.artifact, [m.chunk for m in rest]

    # --- aliases ----------------------------------------------------------------------------

    def set_alias(self, alias: str, version: str, etag: str = "") -> Any:
        request = pb.SetModelAliasRequest(name=alias, model_version=version, etag=etag)
        return self.call("SetModelAlias", request)


def assembled(parts: Sequence[Any], start: int = 0) -> bytes:
    """The bytes of contiguous download chunks starting at `start`, or Failed."""
    position = start
    for part in parts:
        expect.equal(part.offset, position, "chunk offset")
        expect.holds(len(part.data) > 0, "no empty chunk", f"an empty chunk at {position}")
        position += len(part.data)
    return b"".join(part.data for part in parts)
