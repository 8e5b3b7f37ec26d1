"""What a registry keeps across a restart: committed upload bytes (an upload resumes where
it stopped), READY artifacts, aliases, and the event log's numbering."""

from __future__ import annotations

import os

import grpc
from registry_calls import create_model, create_version, descriptor, download, upload
from support.servers import start_server

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton.type.v1 import artifact_pb2


def _serve(data_dir):
    server = start_server(["--services", "registry"], data_dir)
    return server, grpc.insecure_channel(server.address)


def test_an_upload_resumes_after_a_restart(tmp_path):
    data = os.urandom(4 * 1024 * 1024)
    server, channel = _serve(tmp_path)
    stub = pb_grpc.ModelRegistryServiceStub(channel)
    model = create_model(stub)
    kept = create_version(stub, model, b"kept")
    upload(stub, kept.name, b"kept")
    alias = f"{model}/aliases/prod"
    stub.SetModelAlias(pb.SetModelAliasRequest(name=alias, model_version=kept.name))
    version = create_version(stub, model, data)
    half = [
        pb.UploadModelVersionArtifactRequest(
            header=pb.ModelVersionUploadHeader(
                model_version=version.name, artifact=descriptor(data)
            )
        ),
        pb.UploadModelVersionArtifactRequest(
            chunk=artifact_pb2.ArtifactChunk(offset=0, data=data[: len(data) // 2])
        ),
    ]
    stub.UploadModelVersionArtifact(iter(half), timeout=30)
    channel.close()
    assert server.stop() == 0

    server, channel = _serve(tmp_path)
    try:
        stub = pb_grpc.ModelRegistryServiceStub(channel)
        status = stub.GetModelVersionUploadStatus(
            pb.GetModelVersionUploadStatusRequest(name=version.name)
        )
        assert status.committed_offset == len(data) // 2
        assert upload(stub, version.name, data, offset=len(data) // 2).committed_offset == len(data)
        assert download(stub, alias)[1] == b"kept"
        assert download(stub, version.name)[1] == data
        created = next(
            stub.WatchModelEvents(pb.WatchModelEventsRequest(start_sequence=1), timeout=10)
        ).events[0]
        assert created.sequence == 1 and created.model == model
    finally:
        channel.close()
        server.stop()
