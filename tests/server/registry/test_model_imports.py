"""What an import registers for files and directories: format, archive, entry path, framework."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

from lepton.type.v1 import model_format_pb2
from lepton_server.registry.model_imports import describe_import
from lepton_server.runtime.errors import InvalidArgument

F = model_format_pb2.ModelFormat


def write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def reason(path: Path, **job) -> tuple[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        describe_import(path, **job)
    violations = caught.value.violations
    return caught.value.reason, violations[0].field if violations else ""


def test_a_single_file_is_its_own_artifact(tmp_path):
    rows = np.random.default_rng(4).standard_normal((20, 2))
    skops.io.dump(LogisticRegression().fit(rows, rows[:, 0] > 0), tmp_path / "model.skops")
    imported = describe_import(tmp_path / "model.skops")
    assert (imported.model_format, imported.archive, imported.entry_path) == (
        F.MODEL_FORMAT_SKOPS,
        False,
        "",
    )
    assert (imported.media_type, imported.framework) == ("application/octet-stream", "sklearn")
    onnx_file = describe_import(write(tmp_path / "m.onnx"))
    assert (onnx_file.media_type, onnx_file.framework) == ("application/onnx", "")
    stated = describe_import(write(tmp_path / "weights.bin"), F.MODEL_FORMAT_SAFETENSORS)
    assert stated.model_format == F.MODEL_FORMAT_SAFETENSORS


def test_a_file_takes_no_entry_path_and_no_directory_format(tmp_path):
    model = write(tmp_path / "m.onnx")
    assert reason(model, entry_path="m.onnx") == ("INVALID_FIELD", "model_import_job.entry_path")
    assert reason(model, model_format=F.MODEL_FORMAT_SAVED_MODEL) == (
        "INVALID_FIELD",
        "model_import_job.format",
    )


def test_an_mlflow_directory_takes_its_framework_signature_and_entry_from_mlmodel(tmp_path):
    mlmodel = textwrap.dedent(
        """
        flavors:
          python_function: {loader_module: mlflow.xgboost, data: model.ubj}
          xgboost: {data: model.ubj, model_format: ubj, xgb_version: 2.1.3}
        signature:
          inputs: '[{"type": "double", "name": "a"}, {"type": "double", "name": "b"}]'
          outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}]'
        """
    )
    write(tmp_path / "m" / "MLmodel", mlmodel.encode())
    write(tmp_path / "m" / "model.ubj")
    imported = describe_import(tmp_path / "m")
    assert (imported.model_format, imported.archive, imported.entry_path) == (
        F.MODEL_FORMAT_MLFLOW,
        True,
        "MLmodel",
    )
    assert (imported.media_type, imported.framework, imported.framework_version) == (
        "application/x-tar",
        "xgboost",
        "2.1.3",
    )
    assert list(imported.signature.feature_names) == ["a", "b"]
    assert reason(tmp_path / "m", entry_path="model.ubj") == (
        "INVALID_FIELD",
        "model_import_job.entry_path",
    )


def test_a_saved_model_directory_is_an_archive_rooted_at_its_directory(tmp_path):
    write(tmp_path / "tf" / "saved_model.pb")
    write(tmp_path / "tf" / "variables" / "variables.index")
    imported = describe_import(tmp_path / "tf")
    assert (imported.model_format, imported.entry_path, imported.framework) == (
        F.MODEL_FORMAT_SAVED_MODEL,
        ".",
        "tensorflow",
    )


def test_the_entry_of_a_directory_is_its_one_model_file_or_the_one_named(tmp_path):
    write(tmp_path / "onnx" / "graph" / "model.onnx")
    write(tmp_path / "onnx" / "graph" / "weights.bin")
    imported = describe_import(tmp_path / "onnx", F.MODEL_FORMAT_ONNX)
    assert (imported.archive, imported.entry_path) == (True, "graph/model.onnx")
    write(tmp_path / "onnx" / "draft.onnx")
    assert reason(tmp_path / "onnx", model_format=F.MODEL_FORMAT_ONNX) == (
        "INVALID_ARCHIVE",
        "model_import_job.entry_path",
    )
    named = describe_import(tmp_path / "onnx", F.MODEL_FORMAT_ONNX, "draft.onnx")
    assert named.entry_path == "draft.onnx"
    for entry in ["missing.onnx", "../onnx/draft.onnx", "/etc/hostname", "graph"]:
        assert reason(tmp_path / "onnx", model_format=F.MODEL_FORMAT_ONNX, entry_path=entry) == (
            "INVALID_ARCHIVE",
            "model_import_job.entry_path",
        )


def test_a_directory_of_unknown_format_is_format_unknown(tmp_path):
    write(tmp_path / "d" / "README.md")
    assert reason(tmp_path / "d") == ("FORMAT_UNKNOWN", "")
