"""Pending uploads expire (REG-029): `upload_expire_time` announces when, counted from the last
committed byte, and then the version fails with UPLOAD_EXPIRED and its bytes are discarded."""

from __future__ import annotations

import time

import grpc
from registry_calls import create_model, create_version, descriptor, ready_version

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import artifact_pb2

FAILED = mv.MODEL_VERSION_STATE_FAILED_REGISTRATION


def test_an_abandoned_upload_expires(server_factory):
    server = server_factory("--services", "registry", "--registry-upload-expiry-seconds", "1")
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.ModelRegistryServiceStub(channel)
        model = create_model(stub)
        data = b"abandoned halfway"
        version = create_version(stub, model, data)
        created = version.create_time.ToNanoseconds()
        assert version.upload_expire_time.ToNanoseconds() == created + 1_000_000_000
        header = pb.ModelVersionUploadHeader(model_version=version.name, artifact=descriptor(data))
        messages = [
            pb.UploadModelVersionArtifactRequest(header=header),
            pb.UploadModelVersionArtifactRequest(
                chunk=artifact_pb2.ArtifactChunk(offset=0, data=data[:8])
            ),
        ]
        pending = stub.UploadModelVersionArtifact(iter(messages), timeout=10).model_version
        assert pending.upload_expire_time.ToNanoseconds() >= created + 1_000_000_000
        ready = ready_version(stub, model, b"finished")
        assert not ready.HasField("upload_expire_time")
        deadline = time.monotonic() + 30
        while True:
            current = stub.GetModelVersion(pb.GetModelVersionRequest(name=version.name))
            if current.model_version.state == FAILED:
                break
            assert time.monotonic() < deadline, "the pending upload never expired"
            time.sleep(0.1)
        error = current.model_version.registration_error
        assert (error.code, error.reason) == (4, "UPLOAD_EXPIRED")
        assert not current.model_version.HasField("upload_expire_time")
        status = stub.GetModelVersionUploadStatus(
            pb.GetModelVersionUploadStatusRequest(name=version.name)
        )
        assert status.committed_offset == 0
