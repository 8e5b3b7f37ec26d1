"""registry-core cases of content checks against the declared format (feature
`registry.format_validation`, spec/registry.md REG-028): each mislabelled artifact the
requirement names fails its upload with FORMAT_MISMATCH, content that matches becomes READY,
and PICKLE and OTHER are never checked."""

from __future__ import annotations

import json
from collections.abc import Callable

from lepton.type.v1 import model_artifact_pb2
from lepton.type.v1 import model_format_pb2 as formats
from lepton_conformance.harness import expect
from lepton_conformance.harness.context import CaseContext
from lepton_conformance.harness.suite import CaseList
from lepton_conformance.suites.registry import registry_archives
from lepton_conformance.suites.registry.profiles import CORE
from lepton_conformance.suites.registry.registry_client import (
    READY,
    SERVICE,
    RegistryClient,
    descriptor,
    random_bytes,
)

CASES = CaseList()
FEATURE = "registry.format_validation"


def _safetensors(weights: bytes) -> bytes:
    """A safetensors file: an 8-byte little-endian header length, the JSON header, data."""
    tensor = {"dtype": "U8", "shape": [len(weights)], "data_offsets": [0, len(weights)]}
    header = json.dumps({"w": tensor}).encode()
    return len(header).to_bytes(8, "little") + header + weights


def _single(model_format: int, data: bytes) -> tuple[bytes, model_artifact_pb2.ModelArtifact]:
    return data, model_artifact_pb2.ModelArtifact(descriptor=descriptor(data), format=model_format)


def _archive(
    model_format: int, entry: str, files: dict[str, bytes]
) -> tuple[bytes, model_artifact_pb2.ModelArtifact]:
    def add(tar) -> None:
        for path, content in files.items():
            registry_archives.add_file(tar, path, content)

    data = registry_archives.build(add)
    declared = registry_archives.archive_version(data, entry).artifact
    declared.format = model_format
    return data, declared


# (declared format, content) pairs that break REG-028, one per kind of content it names.
MISLABELLED: dict[str, Callable[[], tuple[bytes, model_artifact_pb2.ModelArtifact]]] = {
    "onnx-that-is-not-a-model-proto": lambda: _single(
        formats.MODEL_FORMAT_ONNX, b"this text is not a ModelProto " + random_bytes(32)
    ),
    "safetensors-without-a-header": lambda: _single(
        formats.MODEL_FORMAT_SAFETENSORS, (1 << 40).to_bytes(8, "little") + random_bytes(64)
    ),
    "gguf-without-its-magic": lambda: _single(
        formats.MODEL_FORMAT_GGUF, b"GGML" + random_bytes(64)
    ),
    "tflite-without-its-identifier": lambda: _single(
        formats.MODEL_FORMAT_TFLITE, b"\x1c\x00\x00\x00TFL2" + random_bytes(64)
    ),
    "torchscript-that-is-not-a-zip": lambda: _single(
        formats.MODEL_FORMAT_TORCHSCRIPT, b"\x80\x04" + random_bytes(64)
    ),
    "torch-export-that-is-not-a-zip": lambda: _single(
        formats.MODEL_FORMAT_TORCH_EXPORT, b"\x80\x04" + random_bytes(64)
    ),
    "saved-model-without-saved-model-pb": lambda: _archive(
        formats.MODEL_FORMAT_SAVED_MODEL, "model", {"model/variables/v.index": random_bytes(9)}
    ),
    "openvino-ir-without-its-bin": lambda: _archive(
        formats.MODEL_FORMAT_OPENVINO_IR,
        "model/net.xml",
        {"model/net.xml": b"<net/>", "model/other.bin": random_bytes(9)},
    ),
}


def _register_mislabelled() -> None:
    for kind, make in MISLABELLED.items():

        def body(ctx: CaseContext, make=make) -> None:
            ctx.require_feature(SERVICE, FEATURE)
            client = RegistryClient(ctx)
            data, declared = make()
            with client.scratch() as name:
                version = client.create_version(name, data, artifact=declared)
                client.upload_fails_registration(version.name, data, "FORMAT_MISMATCH")

        body.__doc__ = (
            f"Content declared as {kind.replace('-', ' ')} fails the completing upload with "
            "INVALID_ARGUMENT [FORMAT_MISMATCH] and the version FAILED_REGISTRATION."
        )
        CASES.case(CORE, f"formats.mislabelled.{kind}", "REG-028")(body)


_register_mislabelled()


@CASES.case(CORE, "formats.matching-content-and-unchecked-formats-register", "REG-028")
def matching(ctx: CaseContext) -> None:
    """Content that matches its format becomes READY, and PICKLE and OTHER become READY
    whatever bytes they hold."""
    ctx.require_feature(SERVICE, FEATURE)
    client = RegistryClient(ctx)
    artifacts = {
        "safetensors": _single(formats.MODEL_FORMAT_SAFETENSORS, _safetensors(random_bytes(64))),
        "GGUF": _single(formats.MODEL_FORMAT_GGUF, b"GGUF\x03\x00\x00\x00" + random_bytes(64)),
        "TFLite": _single(formats.MODEL_FORMAT_TFLITE, b"\x1c\x00\x00\x00TFL3" + random_bytes(64)),
        "SavedModel": _archive(
            formats.MODEL_FORMAT_SAVED_MODEL, "model", {"model/saved_model.pb": random_bytes(9)}
        ),
        "PICKLE of random bytes": _single(formats.MODEL_FORMAT_PICKLE, random_bytes(64)),
        "OTHER of random bytes": _single(formats.MODEL_FORMAT_OTHER, random_bytes(64)),
    }
    with client.scratch() as name:
        for what, (data, declared) in artifacts.items():
            version = expect.succeeds(
                lambda data=data, declared=declared: client.register(name, data, artifact=declared),
                f"a {what} artifact registers",
            )
            expect.equal(version.state, READY, f"the state of a {what} version")
