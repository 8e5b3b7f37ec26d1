"""MLflow model directories read from their `MLmodel` file, without MLflow installed.

An import registers an MLflow directory as MODEL_FORMAT_MLFLOW with entry path `MLmodel`; the
file supplies `framework` and `framework_version` (the native flavor, not `python_function`)
and the signature (spec/registry.md, "Import"; REG-053). MLflow signatures map to tensors so:

* a tensor-based spec is one TensorSpec per tensor, with its name (else `input`/`output`, or
  `input_0`, `input_1`, ... when there are several), numpy dtype and shape;
* column-based inputs that are all numbers or booleans become the single table input a
  scikit-learn, XGBoost or LightGBM model takes: `input` `[-1, columns]`, with the column
  names as `feature_names` and the common type (FP64 when the columns' types differ); other
  column inputs, and every column-based output, become one `[-1]` tensor per column, named
  after it (`feature_names` still lists the input columns in order).

Column types: boolean BOOL, integer INT32, long INT64, float FP32, double FP64, string and
binary BYTES; datetime, array, object, map and any, which have no tensor type, travel as
BYTES.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lepton.type.v1 import model_format_pb2, model_signature_pb2, tensor_pb2
from lepton_server.registry.model_formats import MLMODEL, format_unknown
from lepton_server.registry.model_signatures import INPUT_NAME, data_type_of, tensor

DataType = tensor_pb2.DataType
ModelFormat = model_format_pb2.ModelFormat
PYFUNC = "python_function"

COLUMN_TYPES = {
    "boolean": DataType.DATA_TYPE_BOOL,
    "integer": DataType.DATA_TYPE_INT32,
    "long": DataType.DATA_TYPE_INT64,
    "float": DataType.DATA_TYPE_FP32,
    "double": DataType.DATA_TYPE_FP64,
    "string": DataType.DATA_TYPE_BYTES,
    "binary": DataType.DATA_TYPE_BYTES,
}
_TABLE_TYPES = frozenset(COLUMN_TYPES.values()) - {DataType.DATA_TYPE_BYTES}


@dataclass(frozen=True)
class MlflowModel:
    """What a registry version records of an MLflow model directory.

    `model_path` and `model_format` name the file of the native flavor inside the directory,
    where the registry knows one (sklearn, xgboost, lightgbm, onnx), so a converter can read
    it; otherwise None and MODEL_FORMAT_UNSPECIFIED.
    """

    framework: str
    framework_version: str
    signature: model_signature_pb2.ModelSignature | None
    model_path: str | None
    model_format: int
    entry_path: str = MLMODEL


def read_mlflow_model(directory: Path) -> MlflowModel:
    """The MLmodel file of an MLflow model directory, or FORMAT_UNKNOWN when it is unreadable."""
    path = directory / MLMODEL
    if not path.is_file():
        raise format_unknown(directory.name, f"no {MLMODEL} file")
    return parse_mlmodel(path.read_bytes())


def parse_mlmodel(text: bytes | str) -> MlflowModel:
    """An MLmodel file's content (YAML)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise format_unknown(MLMODEL, f"not YAML: {error}") from error
    flavors = document.get("flavors") if isinstance(document, dict) else None
    if not isinstance(flavors, dict) or not flavors:
        raise format_unknown(MLMODEL, "no flavors")
    name, flavor = _native_flavor(flavors)
    model_path, model_format = _native_file(name, flavor)
    return MlflowModel(
        framework=name,
        framework_version=_flavor_version(flavor),
        signature=_signature(document.get("signature")),
        model_path=model_path,
        model_format=model_format,
    )


def _native_flavor(flavors: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The first flavor other than python_function, or what python_function loads with."""
    for name, flavor in flavors.items():
        if name != PYFUNC:
            return str(name), flavor if isinstance(flavor, dict) else {}
    pyfunc = flavors[PYFUNC] if isinstance(flavors[PYFUNC], dict) else {}
    loader = str(pyfunc.get("loader_module", ""))
    # "mlflow.sklearn" names the flavor; a custom loader (mlflow.pyfunc.model) does not.
    if loader.startswith("mlflow.") and loader.count(".") == 1:
        return loader.removeprefix("mlflow."), pyfunc
    return PYFUNC, pyfunc


def _flavor_version(flavor: dict[str, Any]) -> str:
    for key, value in flavor.items():
        if key.endswith("_version") and key != "python_version" and value is not None:
            return str(value)
    return ""


def _native_file(name: str, flavor: dict[str, Any]) -> tuple[str | None, int]:
    if name == "sklearn":
        path = flavor.get("pickled_model") or flavor.get("model_path")
        skops = flavor.get("serialization_format") == "skops"
        return path, ModelFormat.MODEL_FORMAT_SKOPS if skops else ModelFormat.MODEL_FORMAT_PICKLE
    data = flavor.get("data")
    if name == "xgboost" and data:
        return data, ModelFormat.MODEL_FORMAT_XGBOOST
    if name == "lightgbm" and data:
        # The sklearn API (LGBMClassifier, ...) is pickled; a bare Booster is its text format.
        booster = str(flavor.get("model_class", "")).endswith("Booster")
        return data, (
            ModelFormat.MODEL_FORMAT_LIGHTGBM if booster else ModelFormat.MODEL_FORMAT_PICKLE
        )
    if name == "onnx" and data:
        return data, ModelFormat.MODEL_FORMAT_ONNX
    return None, ModelFormat.MODEL_FORMAT_UNSPECIFIED


def _signature(section: Any) -> model_signature_pb2.ModelSignature | None:
    if not isinstance(section, dict) or not section.get("inputs"):
        return None
    try:
        return _converted_signature(
            _specs(section["inputs"]), _specs(section.get("outputs") or "[]")
        )
    except (ValueError, TypeError, KeyError) as error:
        raise format_unknown(MLMODEL, f"unreadable signature: {error!r}") from error


def _converted_signature(
    inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]
) -> model_signature_pb2.ModelSignature:
    signature = model_signature_pb2.ModelSignature()
    if inputs and all(spec.get("type") != "tensor" for spec in inputs):
        names = [spec.get("name") for spec in inputs]
        if all(names):
            signature.feature_names.extend(str(name) for name in names)
        types = [_column_type(spec) for spec in inputs]
        if set(types) <= _TABLE_TYPES:
            common = types[0] if len(set(types)) == 1 else DataType.DATA_TYPE_FP64
            signature.inputs.append(tensor(INPUT_NAME, common, [-1, len(inputs)]))
        else:
            signature.inputs.extend(_tensors(inputs, "input"))
    else:
        signature.inputs.extend(_tensors(inputs, "input"))
    signature.outputs.extend(_tensors(outputs, "output"))
    return signature


def _specs(text: Any) -> list[dict[str, Any]]:
    specs = json.loads(text) if isinstance(text, str) else text
    if not isinstance(specs, list) or not all(isinstance(spec, dict) for spec in specs):
        raise ValueError("a signature is a list of specs")
    return specs


def _tensors(specs: list[dict[str, Any]], prefix: str) -> list[tensor_pb2.TensorSpec]:
    tensors = []
    for index, spec in enumerate(specs):
        name = spec.get("name") or (prefix if len(specs) == 1 else f"{prefix}_{index}")
        if spec.get("type") == "tensor":
            detail = spec["tensor-spec"]
            data_type = data_type_of(np.dtype(detail["dtype"]))
            shape = [int(dimension) for dimension in detail.get("shape", [])]
        else:
            data_type, shape = _column_type(spec), [-1]
        tensors.append(tensor(str(name), data_type, shape))
    return tensors


def _column_type(spec: dict[str, Any]) -> int:
    return COLUMN_TYPES.get(str(spec.get("type")), DataType.DATA_TYPE_BYTES)
