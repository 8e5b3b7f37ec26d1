"""MLflow model directories written by a real `mlflow.sklearn.save_model`, read without MLflow."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from lepton.type.v1 import model_format_pb2, tensor_pb2
from lepton_server.registry import conversion, mlflow_models, model_formats
from lepton_server.runtime.errors import InvalidArgument

F = model_format_pb2.ModelFormat
T = tensor_pb2.DataType
ROWS = np.random.default_rng(1).standard_normal((50, 3))
LABELS = (ROWS[:, 0] + ROWS[:, 2] > 0).astype(np.int64)


def save(model, path: Path, example, predictions) -> Path:
    # Explicit requirements skip MLflow's inference of them, which imports the model in a
    # subprocess and takes seconds.
    mlflow.sklearn.save_model(
        model,
        path,
        signature=infer_signature(example, predictions),
        pip_requirements=["scikit-learn"],
    )
    return path


@pytest.fixture(scope="module")
def tensor_model(tmp_path_factory) -> Path:
    rows = ROWS.astype(np.float32)
    model = LogisticRegression().fit(rows, LABELS)
    return save(model, tmp_path_factory.mktemp("mlflow") / "tensor", rows, model.predict(rows))


@pytest.fixture(scope="module")
def column_model(tmp_path_factory) -> Path:
    frame = pd.DataFrame(ROWS, columns=["age", "income", "tenure_months"])
    model = LogisticRegression().fit(frame, LABELS)
    return save(model, tmp_path_factory.mktemp("mlflow") / "columns", frame, model.predict(frame))


def spec(name: str, data_type: int, shape: list[int]) -> tensor_pb2.TensorSpec:
    return tensor_pb2.TensorSpec(name=name, data_type=data_type, shape=shape)


def test_a_saved_sklearn_model_reads_as_its_flavor_and_tensor_signature(tensor_model):
    assert model_formats.detect_format(tensor_model) == F.MODEL_FORMAT_MLFLOW
    model = mlflow_models.read_mlflow_model(tensor_model)
    assert (model.framework, model.framework_version, model.entry_path) == (
        "sklearn",
        sklearn.__version__,
        "MLmodel",
    )
    assert list(model.signature.inputs) == [spec("input", T.DATA_TYPE_FP32, [-1, 3])]
    assert list(model.signature.outputs) == [spec("output", T.DATA_TYPE_INT64, [-1])]
    assert not model.signature.feature_names
    assert (tensor_model / model.model_path).is_file()
    assert model.model_format in (F.MODEL_FORMAT_SKOPS, F.MODEL_FORMAT_PICKLE)


def test_column_names_become_feature_names_of_one_table_input(column_model):
    model = mlflow_models.read_mlflow_model(column_model)
    assert list(model.signature.feature_names) == ["age", "income", "tenure_months"]
    assert list(model.signature.inputs) == [spec("input", T.DATA_TYPE_FP64, [-1, 3])]


def test_an_mlflow_directory_packs_into_an_archive_with_its_mlmodel(tensor_model):
    buffer = io.BytesIO()
    packed = model_formats.pack_directory(tensor_model, buffer)
    model = mlflow_models.read_mlflow_model(tensor_model)
    assert {"MLmodel", model.model_path} <= set(packed.files)


def test_the_native_model_of_an_mlflow_directory_converts_to_onnx(column_model):
    model = mlflow_models.read_mlflow_model(column_model)
    data = (column_model / model.model_path).read_bytes()
    result = conversion.convert_to_onnx(
        data, model.model_format, model.signature, seed=5, trust_pickle=True
    )
    assert result.report.equivalent
    assert [output.name for output in result.report.outputs] == ["output"]
    assert result.signature == model.signature


def mlmodel(text: str) -> mlflow_models.MlflowModel:
    return mlflow_models.parse_mlmodel(textwrap.dedent(text))


def test_mixed_column_types_become_one_tensor_per_column():
    model = mlmodel(
        """
        flavors:
          python_function: {loader_module: mlflow.sklearn, model_path: model.pkl}
          sklearn: {pickled_model: model.pkl, serialization_format: cloudpickle,
                    sklearn_version: 1.5.2}
        signature:
          inputs: '[{"type": "string", "name": "city"}, {"type": "long", "name": "visits"},
                    {"type": "datetime", "name": "seen"}]'
          outputs: '[{"type": "double", "name": "score"}, {"type": "boolean"}]'
        """
    )
    assert (model.model_path, model.model_format) == ("model.pkl", F.MODEL_FORMAT_PICKLE)
    assert list(model.signature.inputs) == [
        spec("city", T.DATA_TYPE_BYTES, [-1]),
        spec("visits", T.DATA_TYPE_INT64, [-1]),
        spec("seen", T.DATA_TYPE_BYTES, [-1]),
    ]
    assert list(model.signature.feature_names) == ["city", "visits", "seen"]
    assert list(model.signature.outputs) == [
        spec("score", T.DATA_TYPE_FP64, [-1]),
        spec("output_1", T.DATA_TYPE_BOOL, [-1]),
    ]


def test_numeric_columns_of_different_types_share_fp64():
    model = mlmodel(
        """
        flavors: {sklearn: {pickled_model: m.pkl, sklearn_version: 1.5.2}}
        signature:
          inputs: '[{"type": "integer", "name": "a"}, {"type": "float", "name": "b"}]'
        """
    )
    assert list(model.signature.inputs) == [spec("input", T.DATA_TYPE_FP64, [-1, 2])]
    assert not model.signature.outputs


def test_named_tensors_keep_their_names_and_shapes():
    model = mlmodel(
        """
        flavors:
          onnx: {data: model.onnx, onnx_version: 1.17.0, providers: [CPUExecutionProvider]}
        signature:
          inputs: '[{"type": "tensor", "name": "ids",
                     "tensor-spec": {"dtype": "int64", "shape": [-1, 128]}},
                    {"type": "tensor", "tensor-spec": {"dtype": "bool", "shape": [-1, 128]}}]'
          outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float16", "shape": [-1]}}]'
        """
    )
    assert (model.framework, model.framework_version) == ("onnx", "1.17.0")
    assert (model.model_path, model.model_format) == ("model.onnx", F.MODEL_FORMAT_ONNX)
    assert list(model.signature.inputs) == [
        spec("ids", T.DATA_TYPE_INT64, [-1, 128]),
        spec("input_1", T.DATA_TYPE_BOOL, [-1, 128]),
    ]
    assert list(model.signature.outputs) == [spec("output", T.DATA_TYPE_FP16, [-1])]


@pytest.mark.parametrize(
    ("flavors", "expected"),
    [
        (
            "{xgboost: {data: model.ubj, model_format: ubj, xgb_version: 2.1.0}}",
            ("xgboost", "2.1.0", "model.ubj", F.MODEL_FORMAT_XGBOOST),
        ),
        (
            "{lightgbm: {data: model.lgb, lgb_version: 4.5.0,"
            " model_class: lightgbm.basic.Booster}}",
            ("lightgbm", "4.5.0", "model.lgb", F.MODEL_FORMAT_LIGHTGBM),
        ),
        (
            "{lightgbm: {data: model.pkl, lgb_version: 4.5.0,"
            " model_class: lightgbm.sklearn.LGBMClassifier}}",
            ("lightgbm", "4.5.0", "model.pkl", F.MODEL_FORMAT_PICKLE),
        ),
        (
            "{python_function: {loader_module: mlflow.pytorch}, pytorch: {pytorch_version: 2.4.0,"
            " model_data: data}}",
            ("pytorch", "2.4.0", None, F.MODEL_FORMAT_UNSPECIFIED),
        ),
        (
            "{python_function: {loader_module: mlflow.pyfunc.model, python_model: m.pkl}}",
            ("python_function", "", None, F.MODEL_FORMAT_UNSPECIFIED),
        ),
        (
            "{python_function: {loader_module: mlflow.statsmodels, data: model.statsmodels}}",
            ("statsmodels", "", None, F.MODEL_FORMAT_UNSPECIFIED),
        ),
    ],
)
def test_the_native_flavor_names_the_framework(flavors, expected):
    model = mlflow_models.parse_mlmodel(f"flavors: {flavors}\n")
    assert (model.framework, model.framework_version, model.model_path, model.model_format) == (
        expected
    )
    assert model.signature is None


@pytest.mark.parametrize(
    "text",
    [
        "flavors: [unclosed",
        "just a string",
        "flavors: {}",
        "flavors: {sklearn: {}}\nsignature: {inputs: 'not json'}",
        'flavors: {sklearn: {}}\nsignature: {inputs: \'[{"type": "tensor"}]\'}',
        "flavors: {sklearn: {}}\nsignature: {inputs: '{\"a\": 1}'}",
    ],
)
def test_unreadable_mlmodel_files_are_format_unknown(text):
    with pytest.raises(InvalidArgument) as caught:
        mlflow_models.parse_mlmodel(text)
    assert caught.value.reason == "FORMAT_UNKNOWN"


def test_a_directory_without_mlmodel_is_format_unknown(tmp_path):
    with pytest.raises(InvalidArgument) as caught:
        mlflow_models.read_mlflow_model(tmp_path)
    assert caught.value.reason == "FORMAT_UNKNOWN"
