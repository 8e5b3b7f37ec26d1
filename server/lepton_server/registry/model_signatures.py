"""Signatures of fitted tabular models, and the numpy types behind `lepton.type.v1.DataType`.

A caller that registers a fitted scikit-learn estimator, XGBoost or LightGBM booster without a
signature gets one from `infer_signature`: one FP32 input of `[-1, n_features]` named `input`,
the feature names the model was fitted with, and for a classifier its classes as
`class_labels` with the outputs `label` `[-1]` and `probabilities` `[-1, n_classes]`; a
regressor returns `variable` `[-1]` (or `[-1, n_targets]`). Those are the names the ONNX
converters give the same outputs, so a converted model keeps them.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import numpy as np

from lepton.type.v1 import model_signature_pb2, tensor_pb2
from lepton_server.inference.tensor_codec import DATATYPES

DataType = tensor_pb2.DataType
INPUT_NAME = "input"
LABEL = "label"
PROBABILITIES = "probabilities"
VARIABLE = "variable"

_PREFIX = "DATA_TYPE_"
# LightGBM names unnamed columns Column_0, Column_1, ...: those are not feature names.
_LIGHTGBM_DEFAULT_NAME = re.compile(r"Column_\d+")


def numpy_dtype(data_type: int) -> np.dtype:
    """The numpy dtype of a DataType (BYTES: object; BF16: its 16-bit pattern)."""
    return DATATYPES[DataType.Name(data_type).removeprefix(_PREFIX)].dtype


def data_type_of(dtype: np.dtype) -> int:
    """The DataType of a numpy dtype: strings and objects are BYTES."""
    dtype = np.dtype(dtype)
    if dtype.kind in "OUS":
        return DataType.DATA_TYPE_BYTES
    for name, datatype in DATATYPES.items():
        if name not in ("BYTES", "BF16") and datatype.dtype == dtype.newbyteorder("<"):
            return DataType.Value(_PREFIX + name)
    raise ValueError(f"no DataType for numpy dtype {dtype}")


def tensor(name: str, data_type: int, shape: list[int]) -> tensor_pb2.TensorSpec:
    return tensor_pb2.TensorSpec(name=name, data_type=data_type, shape=shape)


def infer_signature(model: Any) -> model_signature_pb2.ModelSignature:
    """The signature of a fitted scikit-learn estimator or pipeline, XGBoost or LightGBM booster.

    Raises ValueError for an object that is none of them or not fitted.
    """
    module = type(model).__module__
    if module.startswith("xgboost") and hasattr(model, "num_features"):
        return _booster_signature(model, model.num_features(), model.feature_names or [])
    if module.startswith("lightgbm") and hasattr(model, "num_feature"):
        names = model.feature_name()
        if all(_LIGHTGBM_DEFAULT_NAME.fullmatch(name) for name in names):
            names = []
        return _booster_signature(model, model.num_feature(), names)
    return _estimator_signature(model)


def _estimator_signature(model: Any) -> model_signature_pb2.ModelSignature:
    features = getattr(model, "n_features_in_", None)
    if not isinstance(features, int | np.integer):
        raise ValueError(f"{type(model).__name__} is not a fitted scikit-learn estimator")
    signature = model_signature_pb2.ModelSignature(
        inputs=[tensor(INPUT_NAME, DataType.DATA_TYPE_FP32, [-1, int(features)])],
        feature_names=[str(name) for name in getattr(model, "feature_names_in_", [])],
    )
    classes = getattr(model, "classes_", None)
    if classes is not None:
        classes = np.asarray(classes)
        label_type = (
            DataType.DATA_TYPE_BYTES if classes.dtype.kind in "OUS" else DataType.DATA_TYPE_INT64
        )
        signature.class_labels.extend(str(label) for label in classes)
        signature.outputs.append(tensor(LABEL, label_type, [-1]))
        if hasattr(model, "predict_proba"):
            signature.outputs.append(
                tensor(PROBABILITIES, DataType.DATA_TYPE_FP32, [-1, len(classes)])
            )
        return signature
    signature.outputs.append(
        tensor(VARIABLE, DataType.DATA_TYPE_FP32, [-1, *_prediction_shape(model, int(features))])
    )
    return signature


def _prediction_shape(model: Any, features: int) -> list[int]:
    """The dimensions of one row's prediction: [] for one target, [n] for n targets."""
    with warnings.catch_warnings():
        # A model fitted on a DataFrame warns that the probe row has no column names.
        warnings.simplefilter("ignore")
        try:
            probe = np.asarray(model.predict(np.zeros((1, features), dtype=np.float32)))
        except Exception:  # a model that cannot predict on zeros: assume one target
            return []
    return [int(size) for size in probe.shape[1:]]


def _booster_signature(
    model: Any, features: int, names: list[str]
) -> model_signature_pb2.ModelSignature:
    signature = model_signature_pb2.ModelSignature(
        inputs=[tensor(INPUT_NAME, DataType.DATA_TYPE_FP32, [-1, features])],
        feature_names=names,
    )
    classes = booster_classes(model)
    signature.class_labels.extend(str(index) for index in range(classes))
    shapes = {
        LABEL: (DataType.DATA_TYPE_INT64, [-1]),
        PROBABILITIES: (DataType.DATA_TYPE_FP32, [-1, classes]),
        VARIABLE: (DataType.DATA_TYPE_FP32, [-1]),
    }
    signature.outputs.extend(tensor(role, *shapes[role]) for role in booster_outputs(model))
    return signature


def booster_objective(model: Any) -> str:
    """An XGBoost or LightGBM booster's objective, e.g. "binary:logistic" or "multiclass"."""
    if hasattr(model, "save_config"):
        return json.loads(model.save_config())["learner"]["objective"]["name"]
    return str(model.dump_model(num_iteration=0)["objective"]).split()[0]


def booster_classes(model: Any) -> int:
    """How many classes an XGBoost or LightGBM booster predicts; 0 for a regressor."""
    objective = booster_objective(model)
    if objective in ("binary", "binary:logistic"):
        return 2
    if objective.startswith("multi"):
        if hasattr(model, "save_config"):
            learner = json.loads(model.save_config())["learner"]
            return int(learner["learner_model_param"]["num_class"])
        return int(model.dump_model(num_iteration=0)["num_class"])
    return 0


def booster_outputs(model: Any) -> list[str]:
    """The outputs of a booster, by role: what its ONNX conversion returns too."""
    if not booster_classes(model):
        return [VARIABLE]
    # multi:softmax predicts the class alone (its converter's "probabilities" are margins).
    return [LABEL] if booster_objective(model) == "multi:softmax" else [LABEL, PROBABILITIES]
