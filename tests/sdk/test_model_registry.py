"""`ModelRegistry` against a real registry server: registering files, directories and fitted
estimators, aliases, resumable uploads and downloads, and loading models back."""

from __future__ import annotations

import hashlib
import json
import os
import threading

import grpc
import numpy as np
import pytest

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton.type.v1 import artifact_pb2
from lepton.type.v1 import model_format_pb2 as formats
from lepton_ai import ModelRegistry
from lepton_ai.errors import FailedPreconditionError, InvalidArgumentError
from lepton_ai.progress import ProgressBar
from lepton_ai.registry import artifact_transfer
from lepton_ai.registry.model_packaging import package


@pytest.fixture
def registry(server_factory):
    server = server_factory("--services", "registry")
    with ModelRegistry.connect(server.address, progress=False) as client:
        yield client


def _onnx_model(size: int) -> bytes:
    """A real ONNX model of about `size` bytes: Y = X + W with random weights W."""
    from onnx import TensorProto, helper  # noqa: PLC0415

    count = size // 4
    weights = helper.make_tensor("W", TensorProto.FLOAT, [count], os.urandom(count * 4), raw=True)
    graph = helper.make_graph(
        [helper.make_node("Add", ["X", "W"], ["Y"])],
        "add",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [count])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [count])],
        [weights],
    )
    return helper.make_model(graph).SerializeToString()


def _bar() -> ProgressBar:
    return ProgressBar("test", None, "bytes", enabled=False)


def test_register_a_file_set_an_alias_and_download_through_it(registry, tmp_path):
    source = tmp_path / "model.onnx"
    source.write_bytes(_onnx_model(3 * 1024 * 1024 + 17))  # more than one chunk
    version = registry.register(source, "fraud", alias="prod", metrics={"auc": 0.91})
    assert version.name == "models/fraud/versions/1"
    assert version.artifact.format == formats.MODEL_FORMAT_ONNX
    assert list(version.aliases) == ["prod"]
    copy = registry.download("models/fraud/aliases/prod", tmp_path / "copy.onnx")
    assert copy.read_bytes() == source.read_bytes()
    assert [v.name for v in registry.versions("fraud")] == [version.name]


def test_the_same_content_registers_again_without_moving_bytes(registry, tmp_path):
    weights = os.urandom(256 * 1024)
    header = json.dumps(
        {"w": {"dtype": "U8", "shape": [len(weights)], "data_offsets": [0, len(weights)]}}
    )
    source = tmp_path / "weights.safetensors"
    source.write_bytes(len(header).to_bytes(8, "little") + header.encode() + weights)
    registry.register(source, "twins")
    second = registry.register(source, "twins")
    assert second.name == "models/twins/versions/2"
    assert second.state == 2  # READY
    assert registry.model("twins").version_count == 2


def test_a_broken_upload_resumes_from_the_committed_offset(registry, tmp_path):
    data = os.urandom(2 * 1024 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    packed = package(source)
    descriptor = artifact_transfer.descriptor_of(packed)
    stub = pb_grpc.ModelRegistryServiceStub(registry.channel)
    registry.create_model("resume")
    created = stub.CreateModelVersion(
        pb.CreateModelVersionRequest(
            parent="models/resume",
            model_version={"artifact": {"descriptor": descriptor, "format": packed.format}},
        )
    ).model_version
    sent, cut = threading.Event(), threading.Event()

    def half():
        yield pb.UploadModelVersionArtifactRequest(
            header=pb.ModelVersionUploadHeader(model_version=created.name, artifact=descriptor)
        )
        yield pb.UploadModelVersionArtifactRequest(
            chunk=artifact_pb2.ArtifactChunk(offset=0, data=data[: 1024 * 1024])
        )
        sent.set()
        cut.wait(10)

    call = stub.UploadModelVersionArtifact.future(half())
    sent.wait(10)
    status = pb.GetModelVersionUploadStatusRequest(name=created.name)
    for _ in range(500):
        if stub.GetModelVersionUploadStatus(status).committed_offset:
            break
        threading.Event().wait(0.01)
    call.cancel()
    cut.set()
    committed = stub.GetModelVersionUploadStatus(status).committed_offset
    assert committed == 1024 * 1024
    offsets = []

    class Recorder(ProgressBar):
        def update(self, completed, total=None, unit=None):
            offsets.append(completed)

    ready = artifact_transfer.upload(
        stub, created.name, packed, descriptor, Recorder("t", None, "bytes", False), timeout=10
    )
    assert ready.state == 2
    assert offsets[0] == committed  # only the remaining bytes were sent
    assert registry.download(created.name, tmp_path / "back.bin").read_bytes() == data


def test_one_file_of_a_directory_model_downloads_alone(registry, tmp_path):
    source = tmp_path / "export"
    (source / "assets").mkdir(parents=True)
    (source / "saved_model.pb").write_bytes(os.urandom(2 * 1024 * 1024))
    (source / "assets" / "vocab.txt").write_text("a\nb\n")
    version = registry.register(source, "tagger")
    assert [f.path for f in version.files] == ["assets/vocab.txt", "saved_model.pb"]
    vocab = registry.download(version.name, tmp_path, file="assets/vocab.txt")
    assert vocab == tmp_path / "vocab.txt"
    assert vocab.read_text() == "a\nb\n"
    with pytest.raises(InvalidArgumentError) as refused:
        registry.download(version.name, tmp_path, file="assets/absent.txt")
    assert refused.value.reason == "INVALID_FIELD"


def test_a_partial_download_is_continued_and_verified(registry, tmp_path):
    data = os.urandom(1024 * 1024 + 5)
    source = tmp_path / "artifact.bin"
    source.write_bytes(data)
    version = registry.register(source, "partial")
    destination = tmp_path / "out.bin"
    digest = hashlib.sha256(data).hexdigest()
    partial = destination.with_name(f"out.bin.{digest[:16]}.part")
    partial.write_bytes(data[:400_000])
    stub = pb_grpc.ModelRegistryServiceStub(registry.channel)
    artifact_transfer.download(stub, version.name, version.artifact.descriptor, destination, _bar())
    assert destination.read_bytes() == data
    assert not partial.exists()


def test_a_corrupt_partial_download_is_refused_and_removed(registry, tmp_path):
    data = os.urandom(64 * 1024)
    source = tmp_path / "artifact.bin"
    source.write_bytes(data)
    version = registry.register(source, "corrupt")
    destination = tmp_path / "out.bin"
    digest = hashlib.sha256(data).hexdigest()
    partial = destination.with_name(f"out.bin.{digest[:16]}.part")
    partial.write_bytes(b"\x00" * 1000)  # not the artifact's first bytes
    with pytest.raises(Exception, match="SHA-256"):
        registry.download(version.name, destination)
    assert not destination.exists()
    assert not partial.exists()


def test_a_fitted_estimator_is_registered_and_loaded_back(registry):
    sklearn = pytest.importorskip("sklearn.linear_model")
    features = np.random.default_rng(0).normal(size=(40, 3))
    labels = (features[:, 0] > 0).astype(int)
    model = sklearn.LogisticRegression().fit(features, labels)
    version = registry.register(model, "churn", labels={"team": "growth"})
    assert version.framework == "sklearn"
    assert version.artifact.format in (formats.MODEL_FORMAT_SKOPS, formats.MODEL_FORMAT_PICKLE)
    loaded = registry.load(version.name, trusted=True)
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))


def test_a_missing_model_raises_not_found(registry):
    from lepton_ai import NotFoundError  # noqa: PLC0415

    with pytest.raises(NotFoundError) as error:
        registry.model("nope")
    assert error.value.reason == "RESOURCE_NOT_FOUND"
    assert error.value.code == grpc.StatusCode.NOT_FOUND


def test_a_signed_release_verifies_offline_with_the_trusted_key_only(registry, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PrivateKey,
    )
    from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
        Encoding,
        PublicFormat,
    )

    def raw(key: Ed25519PrivateKey) -> bytes:
        return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(1000))
    version = registry.register(source, "signed", alias="prod")
    publisher, impostor = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    attested = registry.attest("models/signed/aliases/prod", publisher, "release-2026")
    assert attested.name == version.name and len(attested.attestations) == 1
    found = registry.verify_release(version.name, {"release-2026": raw(publisher)})
    assert found.signatures[0].key_id == "release-2026"
    for keys in ({"release-2026": raw(impostor)}, {"other": raw(publisher)}):
        with pytest.raises(FailedPreconditionError) as untrusted:
            registry.verify_release(version.name, keys)
        assert untrusted.value.reason == "ATTESTATION_UNTRUSTED"
