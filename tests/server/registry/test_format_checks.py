"""Content checks of declared formats (REG-028, feature registry.format_validation): a
mislabelled upload fails FORMAT_MISMATCH and its version FAILED_REGISTRATION; content that
matches, and PICKLE and OTHER whatever they hold, become READY."""

from __future__ import annotations

import json
import os

import grpc
import pytest
from registry_calls import (
    archive_version,
    artifact,
    create_model,
    create_version,
    expect_error,
    onnx_model_bytes,
    tar_of,
    upload,
)

from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_version_pb2 as mv
from lepton.type.v1 import model_format_pb2 as F

READY = mv.MODEL_VERSION_STATE_READY
FAILED = mv.MODEL_VERSION_STATE_FAILED_REGISTRATION


def _safetensors(weights: bytes) -> bytes:
    tensor = {"dtype": "U8", "shape": [len(weights)], "data_offsets": [0, len(weights)]}
    header = json.dumps({"w": tensor}).encode()
    return len(header).to_bytes(8, "little") + header + weights


def _register(stub, data: bytes, model_format: int):
    version = create_version(
        stub, create_model(stub), data, artifact=artifact(data, model_format=model_format)
    )
    return version, lambda: upload(stub, version.name, data)


def _refused(stub, version, call) -> None:
    expect_error(call, grpc.StatusCode.INVALID_ARGUMENT, "FORMAT_MISMATCH")
    failed = stub.GetModelVersion(pb.GetModelVersionRequest(name=version.name)).model_version
    assert (failed.state, failed.registration_error.reason) == (FAILED, "FORMAT_MISMATCH")


MATCHING = {
    "onnx": (F.MODEL_FORMAT_ONNX, onnx_model_bytes("format-checks")),
    "safetensors": (F.MODEL_FORMAT_SAFETENSORS, _safetensors(os.urandom(100))),
    "gguf": (F.MODEL_FORMAT_GGUF, b"GGUF\x03\x00\x00\x00" + os.urandom(64)),
    "tflite": (F.MODEL_FORMAT_TFLITE, b"\x1c\x00\x00\x00TFL3" + os.urandom(64)),
    "torchscript": (F.MODEL_FORMAT_TORCHSCRIPT, b"PK\x03\x04" + os.urandom(64)),
    "pickle-of-anything": (F.MODEL_FORMAT_PICKLE, os.urandom(64)),
    "other-of-anything": (F.MODEL_FORMAT_OTHER, os.urandom(64)),
}
MISLABELLED = {
    "text-as-onnx": (F.MODEL_FORMAT_ONNX, b"not an onnx model at all"),
    "truncated-onnx": (F.MODEL_FORMAT_ONNX, onnx_model_bytes("cut")[:-3]),
    "zip-as-onnx": (F.MODEL_FORMAT_ONNX, b"PK\x03\x04" + os.urandom(64)),
    "huge-safetensors-header": (F.MODEL_FORMAT_SAFETENSORS, (10**9).to_bytes(8, "little") + b"{}"),
    "safetensors-header-not-json": (
        F.MODEL_FORMAT_SAFETENSORS,
        (4).to_bytes(8, "little") + b"{{{{",
    ),
    "random-as-gguf": (F.MODEL_FORMAT_GGUF, b"GGML" + os.urandom(64)),
    "random-as-tflite": (F.MODEL_FORMAT_TFLITE, os.urandom(64)),
    "random-as-torch-export": (F.MODEL_FORMAT_TORCH_EXPORT, b"\x80\x04" + os.urandom(64)),
}


@pytest.mark.parametrize("case", MATCHING, ids=list(MATCHING))
def test_content_that_matches_its_format_becomes_ready(stub, case):
    model_format, data = MATCHING[case]
    _, call = _register(stub, data, model_format)
    assert call().model_version.state == READY


@pytest.mark.parametrize("case", MISLABELLED, ids=list(MISLABELLED))
def test_mislabelled_content_fails_registration(stub, case):
    model_format, data = MISLABELLED[case]
    version, call = _register(stub, data, model_format)
    _refused(stub, version, call)


def test_archive_entries_are_checked_too(stub):
    model = create_model(stub)
    good = tar_of([("model.onnx", onnx_model_bytes("entry")), ("weights.bin", b"w")])
    assert (
        upload(
            stub, archive_version(stub, model, good, "model.onnx", F.MODEL_FORMAT_ONNX).name, good
        ).model_version.state
        == READY
    )
    bad = tar_of([("model.onnx", b"weights, not a graph"), ("weights.bin", b"w")])
    version = archive_version(stub, model, bad, "model.onnx", F.MODEL_FORMAT_ONNX)
    _refused(stub, version, lambda: upload(stub, version.name, bad))
    no_pb = tar_of([("export/variables/v", b"v")])
    version = archive_version(stub, model, no_pb, "export", F.MODEL_FORMAT_SAVED_MODEL)
    _refused(stub, version, lambda: upload(stub, version.name, no_pb))
    no_bin = tar_of([("model.xml", b"<net/>"), ("other.bin", b"b")])
    version = archive_version(stub, model, no_bin, "model.xml", F.MODEL_FORMAT_OPENVINO_IR)
    _refused(stub, version, lambda: upload(stub, version.name, no_bin))
    ir = tar_of([("model.xml", b"<net/>"), ("model.bin", b"b")])
    version = archive_version(stub, model, ir, "model.xml", F.MODEL_FORMAT_OPENVINO_IR)
    assert upload(stub, version.name, ir).model_version.state == READY


def test_known_content_is_checked_against_the_new_declaration(stub):
    # The bytes are stored as OTHER; declared as ONNX they are still not a model, and the
    # dedupe answer at the header must not skip the check.
    data = os.urandom(4096)
    _, call = _register(stub, data, F.MODEL_FORMAT_OTHER)
    assert call().model_version.state == READY
    version, call = _register(stub, data, F.MODEL_FORMAT_ONNX)
    _refused(stub, version, call)
