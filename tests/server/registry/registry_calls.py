"""Registry calls the way a client makes them: models, versions, uploads in chunks, downloads."""

from __future__ import annotations

import hashlib
import io
import tarfile
import uuid

import grpc
import pytest
from support.status_details import bad_request, error_info

from lepton.registry.v1 import model_pb2
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import artifact_pb2, digest_pb2, model_artifact_pb2, model_format_pb2

CHUNK = 3 * 1024 * 1024


def unique_id(prefix: str = "m") -> str:
    """A model ID no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def descriptor(data: bytes, media_type: str = "application/octet-stream"):
    return artifact_pb2.ArtifactDescriptor(
        size_bytes=len(data),
        digest=digest_pb2.Digest(
            algorithm=digest_pb2.DIGEST_ALGORITHM_SHA256, hex=hashlib.sha256(data).hexdigest()
        ),
        media_type=media_type,
    )


def artifact(
    data: bytes,
    media_type: str = "application/octet-stream",
    entry_path: str = "",
    model_format: int = model_format_pb2.MODEL_FORMAT_OTHER,
) -> model_artifact_pb2.ModelArtifact:
    """A declared artifact of `data`: OTHER by default, whose content is never checked
    (REG-028), so random bytes register."""
    return model_artifact_pb2.ModelArtifact(
        descriptor=descriptor(data, media_type), format=model_format, entry_path=entry_path
    )


def create_model(stub, model_id: str | None = None, **fields) -> str:
    model_id = model_id or unique_id()
    stub.CreateModel(
        pb.CreateModelRequest(
            model_id=model_id, model=model_pb2.Model(**fields) if fields else None
        ),
        timeout=10,
    )
    return f"models/{model_id}"


def create_version(stub, model: str, data: bytes, **fields) -> mv.ModelVersion:
    version = mv.ModelVersion(artifact=fields.pop("artifact", None) or artifact(data), **fields)
    return stub.CreateModelVersion(
        pb.CreateModelVersionRequest(parent=model, model_version=version), timeout=10
    ).model_version


def upload_messages(name: str, data: bytes, offset: int = 0, chunk: int = CHUNK, header=None):
    """The messages of an upload of `data` from `offset` in chunks of `chunk` bytes."""
    yield pb.UploadModelVersionArtifactRequest(
        header=pb.ModelVersionUploadHeader(model_version=name, artifact=header or descriptor(data))
    )
    for start in range(offset, len(data), chunk):
        yield pb.UploadModelVersionArtifactRequest(
            chunk=artifact_pb2.ArtifactChunk(offset=start, data=data[start : start + chunk])
        )


def upload(stub, name: str, data: bytes, **options) -> pb.UploadModelVersionArtifactResponse:
    return stub.UploadModelVersionArtifact(upload_messages(name, data, **options), timeout=30)


def ready_version(stub, model: str, data: bytes, **fields) -> mv.ModelVersion:
    """A new READY version of `model` holding `data`."""
    version = create_version(stub, model, data, **fields)
    return upload(stub, version.name, data).model_version


def download(stub, name: str, **fields) -> tuple[artifact_pb2.ArtifactDescriptor, bytes, list]:
    """The descriptor, the bytes and the chunks of a download."""
    responses = list(
        stub.DownloadModelVersionArtifact(
            pb.DownloadModelVersionArtifactRequest(name=name, **fields), timeout=30
        )
    )
    chunks = [r.chunk for r in responses[1:]]
    return responses[0].artifact, b"".join(c.data for c in chunks), chunks


def expect_error(call, code, reason: str, field: str | None = None, **metadata: str):
    """Run `call()`; it must fail with `code`, ErrorInfo `reason` (domain lepton.ai), the
    BadRequest `field` when given, and the ErrorInfo `metadata` given. Returns the error."""
    with pytest.raises(grpc.RpcError) as raised:
        result = call()
        if hasattr(result, "__iter__") and not hasattr(result, "SerializeToString"):
            list(result)
    error = raised.value
    assert error.code() == code, error.details()
    info = error_info(error)
    assert info is not None and info.domain == "lepton.ai"
    assert info.reason == reason, (info.reason, error.details())
    for key, value in metadata.items():
        assert info.metadata[key] == value
    if field is not None:
        violations = [v.field for v in bad_request(error).field_violations]
        assert field in violations, violations
    return error


def watched_to_end(responses, field: str):
    """The last job a Watch stream sends (`field` of its responses): the stream ends right
    after the job's terminal state (GEN-061)."""
    last = None
    for response in responses:
        last = getattr(response, field)
    return last


def tar_of(entries: list[tuple[str, bytes | str | None]]) -> bytes:
    """A pax tar of (path, content) entries: bytes a file, None a directory, str a symlink."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, content in entries:
            info = tarfile.TarInfo(path)
            if content is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def archive_version(stub, model: str, data: bytes, entry: str, model_format=None):
    return create_version(
        stub,
        model,
        data,
        artifact=artifact(
            data,
            media_type="application/x-tar",
            entry_path=entry,
            model_format=model_format or model_format_pb2.MODEL_FORMAT_OTHER,
        ),
    )


def onnx_model_bytes(producer: str = "tests") -> bytes:
    """A real, tiny ONNX model (Y = Identity(X)), unique per `producer`, so its content
    passes the format check of REG-028."""
    from onnx import TensorProto, helper  # noqa: PLC0415

    graph = helper.make_graph(
        [helper.make_node("Identity", ["X"], ["Y"])],
        "identity",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1])],
    )
    return helper.make_model(graph, producer_name=producer).SerializeToString()
