"""Registry artifacts on an S3-protocol object store (moto on loopback) through
`--storage-uri`: uploads land as content-addressed objects, downloads and dedupe read them."""

from __future__ import annotations

import hashlib
import os

import grpc
from registry_calls import create_model, create_version, descriptor, download, ready_version

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc


def test_artifacts_live_in_the_bucket(s3_bucket, s3_endpoint, server_factory):
    bucket, name = s3_bucket
    uri = f"s3://{name}/prefix?endpoint_override={s3_endpoint}&scheme=http"
    server = server_factory("--services", "registry", "--storage-uri", uri)
    data = os.urandom(4 * 1024 * 1024)
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.ModelRegistryServiceStub(channel)
        model = create_model(stub)
        version = ready_version(stub, model, data)
        digest = hashlib.sha256(data).hexdigest()
        with bucket.open_input_file(f"{name}/prefix/registry/blobs/{digest}") as blob:
            assert blob.read() == data
        assert download(stub, version.name, offset=1000)[1] == data[1000:]
        copy = create_version(stub, model, data)
        header = pb.UploadModelVersionArtifactRequest(
            header=pb.ModelVersionUploadHeader(model_version=copy.name, artifact=descriptor(data))
        )
        answer = stub.UploadModelVersionArtifact(iter([header]), timeout=30)
        assert answer.committed_offset == len(data)
        assert download(stub, copy.name)[1] == data
