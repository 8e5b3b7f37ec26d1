"""Model format detection on files real libraries write, and deterministic tar packing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import tarfile
import zipfile
from pathlib import Path

import grpc
import joblib
import lightgbm
import numpy as np
import onnx
import pytest
import skops.io
import xgboost
from onnx import helper
from sklearn.linear_model import LogisticRegression

from lepton.type.v1 import model_format_pb2
from lepton_server.registry import model_formats
from lepton_server.runtime.errors import InvalidArgument

F = model_format_pb2.ModelFormat
ROWS = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
LABELS = (ROWS[:, 0] > 0).astype(int)


def booster() -> xgboost.Booster:
    return xgboost.train({"max_depth": 2}, xgboost.DMatrix(ROWS, label=LABELS), 2)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def zipped(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, b"x")
    return path


def test_library_files_are_recognised_by_their_bytes_whatever_their_name(tmp_path):
    estimator = LogisticRegression().fit(ROWS, LABELS)
    skops.io.dump(estimator, tmp_path / "a.bin")
    joblib.dump(estimator, tmp_path / "b.bin")
    booster().save_model(tmp_path / "c.json")
    booster().save_model(tmp_path / "d.ubj")
    shutil.copy(tmp_path / "c.json", tmp_path / "c.bin")
    shutil.copy(tmp_path / "d.ubj", tmp_path / "d.bin")
    lightgbm.train({"verbose": -1}, lightgbm.Dataset(ROWS, label=LABELS), 2).save_model(
        tmp_path / "e.model"
    )
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    write(tmp_path / "f.bin", struct.pack("<Q", len(header)) + header + bytes(8))
    write(tmp_path / "g.bin", b"GGUF\x03\x00\x00\x00" + bytes(16))
    write(tmp_path / "h.bin", b"\x1c\x00\x00\x00TFL3" + bytes(16))
    expected = {
        "a.bin": F.MODEL_FORMAT_SKOPS,
        "b.bin": F.MODEL_FORMAT_PICKLE,
        "c.json": F.MODEL_FORMAT_XGBOOST,
        "c.bin": F.MODEL_FORMAT_XGBOOST,
        "d.ubj": F.MODEL_FORMAT_XGBOOST,
        "d.bin": F.MODEL_FORMAT_XGBOOST,
        "e.model": F.MODEL_FORMAT_LIGHTGBM,
        "f.bin": F.MODEL_FORMAT_SAFETENSORS,
        "g.bin": F.MODEL_FORMAT_GGUF,
        "h.bin": F.MODEL_FORMAT_TFLITE,
    }
    found = {name: model_formats.detect_format(tmp_path / name) for name in expected}
    assert found == expected


def test_torch_zip_layouts_are_told_apart_by_their_members(tmp_path):
    script = zipped(tmp_path / "a.bin", ["m/data.pkl", "m/code/__torch__/m.py", "m/version"])
    state = zipped(tmp_path / "b.bin", ["archive/data.pkl", "archive/data/0", "archive/version"])
    exported = zipped(tmp_path / "c.bin", ["archive/serialized_exported_program.json"])
    assert model_formats.detect_format(script) == F.MODEL_FORMAT_TORCHSCRIPT
    assert model_formats.detect_format(state) == F.MODEL_FORMAT_TORCH_STATE_DICT
    assert model_formats.detect_format(exported) == F.MODEL_FORMAT_TORCH_EXPORT


def test_extensions_decide_when_the_bytes_do_not(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph), tmp_path / "model.onnx")
    assert model_formats.detect_format(tmp_path / "model.onnx") == F.MODEL_FORMAT_ONNX
    for name, expected in [
        ("weights.pth", F.MODEL_FORMAT_TORCH_STATE_DICT),
        ("model.PKL", F.MODEL_FORMAT_PICKLE),
        ("model.txt", F.MODEL_FORMAT_LIGHTGBM),
        ("model.pt2", F.MODEL_FORMAT_TORCH_EXPORT),
    ]:
        assert model_formats.detect_format(write(tmp_path / name, b"\x00\x01")) == expected


def test_unknown_files_and_directories_fail_format_unknown(tmp_path):
    (tmp_path / "plain").mkdir()
    write(tmp_path / "plain" / "notes.md", b"# a model?")
    for path in [write(tmp_path / "blob.bin", os.urandom(64)), tmp_path / "plain"]:
        with pytest.raises(InvalidArgument) as caught:
            model_formats.detect_format(path)
        assert (caught.value.code, caught.value.reason) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "FORMAT_UNKNOWN",
        )


def test_directories_are_recognised_by_their_marker_file(tmp_path):
    (tmp_path / "mlflow").mkdir()
    write(tmp_path / "mlflow" / "MLmodel", b"flavors: {}\n")
    (tmp_path / "tf" / "variables").mkdir(parents=True)
    write(tmp_path / "tf" / "saved_model.pb", b"\x08\x01")
    assert model_formats.detect_format(tmp_path / "mlflow") == F.MODEL_FORMAT_MLFLOW
    assert model_formats.detect_format(tmp_path / "tf") == F.MODEL_FORMAT_SAVED_MODEL
    assert model_formats.default_entry_path(F.MODEL_FORMAT_MLFLOW) == "MLmodel"
    assert model_formats.default_entry_path(F.MODEL_FORMAT_SAVED_MODEL) == "."
    assert model_formats.media_type(F.MODEL_FORMAT_MLFLOW, archive=True) == "application/x-tar"
    assert model_formats.media_type(F.MODEL_FORMAT_ONNX, archive=False) == "application/onnx"


def saved_model(root: Path, order: list[str]) -> Path:
    """A SavedModel-like tree, its files created in `order`."""
    contents = {
        "saved_model.pb": b"graph",
        "variables/variables.index": b"index",
        "variables/variables.data-00000-of-00001": b"d" * 5000,
        "assets/vocabulary ü.txt": "wörter".encode(),
    }
    for name in order:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(contents[name])
    (root / "fingerprint").mkdir(exist_ok=True)
    return root


def pack(directory: Path) -> tuple[bytes, model_formats.PackedArchive]:
    buffer = io.BytesIO()
    packed = model_formats.pack_directory(directory, buffer)
    return buffer.getvalue(), packed


def test_the_same_files_always_pack_to_the_same_bytes(tmp_path):
    names = [
        "saved_model.pb",
        "variables/variables.index",
        "variables/variables.data-00000-of-00001",
        "assets/vocabulary ü.txt",
    ]
    first = saved_model(tmp_path / "a", names)
    second = saved_model(tmp_path / "b", list(reversed(names)))
    os.utime(second / "saved_model.pb", (1, 1))
    (second / "variables" / "variables.index").chmod(0o600)
    data, packed = pack(first)
    again, repacked = pack(second)
    assert data == again
    assert packed == repacked
    assert packed.sha256 == hashlib.sha256(data).hexdigest()
    assert packed.size_bytes == len(data)
    (second / "saved_model.pb").write_bytes(b"graph2")
    assert pack(second)[1].sha256 != packed.sha256


def test_a_packed_directory_is_a_tar_of_its_directories_and_regular_files(tmp_path):
    names = ["saved_model.pb", "variables/variables.index", "assets/vocabulary ü.txt"]
    root = saved_model(tmp_path / "m", names)
    (root / "link").symlink_to(root / "saved_model.pb")
    (root / "linked-dir").symlink_to(root / "variables")
    data, packed = pack(root)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        paths = [member.name for member in members]
        assert paths == sorted(paths)
        assert set(paths) == {"assets", "fingerprint", "variables", *names}
        assert all(member.isfile() or member.isdir() for member in members)
        assert {member.mtime for member in members} == {0}
        assert archive.extractfile("assets/vocabulary ü.txt").read() == "wörter".encode()
    assert packed.files == sorted(names)
