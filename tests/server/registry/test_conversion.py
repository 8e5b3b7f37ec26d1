"""Conversion to ONNX of real scikit-learn, XGBoost and LightGBM models, checked in onnxruntime."""

from __future__ import annotations

import importlib.util
import io
import math

import grpc
import joblib
import lightgbm
import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
import skops.io
import xgboost
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC

from lepton.registry.v1 import conversion_job_pb2
from lepton.type.v1 import model_format_pb2, model_signature_pb2, tensor_pb2
from lepton_server.registry import conversion
from lepton_server.registry.model_signatures import infer_signature
from lepton_server.runtime.errors import FailedPrecondition, InvalidArgument

F = model_format_pb2.ModelFormat
T = tensor_pb2.DataType
ROWS = np.random.default_rng(2).standard_normal((60, 4)).astype(np.float32)
BINARY = (ROWS[:, 0] + ROWS[:, 1] > 0).astype(int)
THREE = (ROWS[:, 0] > 0).astype(int) + (ROWS[:, 2] > 0.5)
TARGET = ROWS[:, 0] * 2 - ROWS[:, 3]


def skops_pipeline() -> tuple[bytes, model_signature_pb2.ModelSignature]:
    model = make_pipeline(StandardScaler(), LogisticRegression())
    model.fit(ROWS, np.array(["approve", "reject"])[BINARY])
    return skops.io.dumps(model), infer_signature(model)


def pickled(model) -> tuple[bytes, model_signature_pb2.ModelSignature]:
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue(), infer_signature(model)


def xgboost_model(objective: str, labels: np.ndarray, raw_format: str):
    params = {"objective": objective, "max_depth": 2}
    if objective.startswith("multi"):
        params["num_class"] = 3
    booster = xgboost.train(params, xgboost.DMatrix(ROWS, label=labels), num_boost_round=4)
    return bytes(booster.save_raw(raw_format)), infer_signature(booster)


def lightgbm_model(objective: str, labels: np.ndarray):
    params = {"objective": objective, "verbose": -1, "num_leaves": 4, "min_data_in_leaf": 5}
    if objective == "multiclass":
        params["num_class"] = 3
    booster = lightgbm.train(params, lightgbm.Dataset(ROWS, label=labels), num_boost_round=4)
    return booster.model_to_string().encode(), infer_signature(booster)


def skops_forest() -> tuple[bytes, model_signature_pb2.ModelSignature]:
    # Its trees are scikit-learn types outside skops' defaults, which the server trusts.
    model = RandomForestRegressor(n_estimators=3, max_depth=3).fit(ROWS, TARGET)
    return skops.io.dumps(model), infer_signature(model)


def xgboost_named_columns() -> tuple[bytes, model_signature_pb2.ModelSignature]:
    # Trained on a DataFrame: the booster keeps its column names, which onnxmltools refuses.
    frame = pd.DataFrame(ROWS, columns=["tenure", "spend", "calls", "age"])
    model = xgboost.XGBClassifier(n_estimators=3, max_depth=2).fit(frame, BINARY)
    booster = model.get_booster()
    return bytes(booster.save_raw("json")), infer_signature(booster)


SOURCES = {
    "sklearn-skops-pipeline": lambda: (F.MODEL_FORMAT_SKOPS, *skops_pipeline()),
    "sklearn-skops-forest": lambda: (F.MODEL_FORMAT_SKOPS, *skops_forest()),
    "xgboost-named-columns": lambda: (F.MODEL_FORMAT_XGBOOST, *xgboost_named_columns()),
    "sklearn-pickle-forest": lambda: (
        F.MODEL_FORMAT_PICKLE,
        *pickled(RandomForestRegressor(n_estimators=3, max_depth=3).fit(ROWS, TARGET)),
    ),
    "sklearn-pickle-svc": lambda: (F.MODEL_FORMAT_PICKLE, *pickled(LinearSVC().fit(ROWS, THREE))),
    "xgboost-sklearn-api-pickle": lambda: (
        F.MODEL_FORMAT_PICKLE,
        *pickled(xgboost.XGBClassifier(n_estimators=3, max_depth=2).fit(ROWS, THREE)),
    ),
    "lightgbm-sklearn-api-pickle": lambda: (
        F.MODEL_FORMAT_PICKLE,
        *pickled(lightgbm.LGBMRegressor(n_estimators=3, verbose=-1).fit(ROWS, TARGET)),
    ),
    "xgboost-binary-json": lambda: (
        F.MODEL_FORMAT_XGBOOST,
        *xgboost_model("binary:logistic", BINARY, "json"),
    ),
    "xgboost-softmax-ubj": lambda: (
        F.MODEL_FORMAT_XGBOOST,
        *xgboost_model("multi:softmax", THREE, "ubj"),
    ),
    "xgboost-regression": lambda: (
        F.MODEL_FORMAT_XGBOOST,
        *xgboost_model("reg:squarederror", TARGET, "ubj"),
    ),
    "lightgbm-binary": lambda: (F.MODEL_FORMAT_LIGHTGBM, *lightgbm_model("binary", BINARY)),
    "lightgbm-multiclass": lambda: (
        F.MODEL_FORMAT_LIGHTGBM,
        *lightgbm_model("multiclass", THREE),
    ),
    "lightgbm-regression": lambda: (
        F.MODEL_FORMAT_LIGHTGBM,
        *lightgbm_model("regression", TARGET),
    ),
}


def session(result: conversion.ConversionResult) -> ort.InferenceSession:
    onnx.checker.check_model(onnx.load_from_string(result.onnx_model))
    return ort.InferenceSession(result.onnx_model, providers=["CPUExecutionProvider"])


def spec(name: str, data_type: int, shape: list[int]) -> tensor_pb2.TensorSpec:
    return tensor_pb2.TensorSpec(name=name, data_type=data_type, shape=shape)


@pytest.mark.parametrize("source", list(SOURCES))
def test_a_converted_model_serves_the_source_signature_within_tolerance(source):
    model_format, data, signature = SOURCES[source]()
    result = conversion.convert_to_onnx(data, model_format, signature, seed=7, trust_pickle=True)
    report = result.report
    assert report.equivalent
    assert (report.sample_rows, report.seed) == (256, 7)
    assert report.tolerance == conversion_job_pb2.EquivalenceTolerance(absolute=1e-5, relative=1e-4)
    assert report.converter.split()[0] in ("skl2onnx", "onnxmltools")
    assert report.runtime == f"onnxruntime {ort.__version__}"
    assert [output.name for output in report.outputs] == [o.name for o in signature.outputs]
    for output, declared in zip(report.outputs, signature.outputs, strict=True):
        width = declared.shape[1] if len(declared.shape) == 2 else 1
        assert (output.elements, output.mismatched_elements) == (256 * width, 0)
    assert result.signature == signature
    onnx_session = session(result)
    assert [i.name for i in onnx_session.get_inputs()] == ["input"]
    assert [o.name for o in onnx_session.get_outputs()] == [o.name for o in signature.outputs]
    assert result.format_version == f"opset={result.opset}"


def test_string_class_labels_come_out_of_the_onnx_model_as_strings():
    data, signature = skops_pipeline()
    result = conversion.convert_to_onnx(data, F.MODEL_FORMAT_SKOPS, signature)
    label, probabilities = session(result).run(None, {"input": ROWS[:5]})
    assert set(label) <= {"approve", "reject"}
    assert probabilities.shape == (5, 2)
    assert list(signature.class_labels) == ["approve", "reject"]


@pytest.mark.parametrize("opset", [15, 21])
def test_the_target_opset_is_the_one_produced(opset):
    for model_format, data, signature in [
        (F.MODEL_FORMAT_SKOPS, *skops_pipeline()),
        (F.MODEL_FORMAT_XGBOOST, *xgboost_model("reg:squarederror", TARGET, "json")),
        (F.MODEL_FORMAT_LIGHTGBM, *lightgbm_model("binary", BINARY)),
    ]:
        result = conversion.convert_to_onnx(data, model_format, signature, target_opset=opset)
        assert (result.opset, result.format_version) == (opset, f"opset={opset}")
        session(result)


def test_declared_types_names_and_ranks_are_bound_with_casts_and_reshapes():
    data, _ = xgboost_model("reg:squarederror", TARGET, "json")
    signature = model_signature_pb2.ModelSignature(
        inputs=[spec("counts", T.DATA_TYPE_INT64, [-1, -1])],
        outputs=[spec("prediction", T.DATA_TYPE_FP64, [-1, 1])],
    )
    result = conversion.convert_to_onnx(data, F.MODEL_FORMAT_XGBOOST, signature, sample_rows=32)
    assert result.report.equivalent
    assert result.report.outputs[0].elements == 32
    onnx_session = session(result)
    (declared_input,) = onnx_session.get_inputs()
    (declared_output,) = onnx_session.get_outputs()
    assert (declared_input.name, declared_input.type) == ("counts", "tensor(int64)")
    assert (declared_output.name, declared_output.type) == ("prediction", "tensor(double)")
    (prediction,) = onnx_session.run(None, {"counts": np.array([[1, 2, 3, 4]], np.int64)})
    assert prediction.shape == (1, 1)


def test_a_zero_tolerance_fails_with_the_report_of_the_differences():
    data, signature = skops_pipeline()
    zero = conversion_job_pb2.EquivalenceTolerance(absolute=0, relative=0)
    with pytest.raises(conversion.ConversionNotEquivalent) as caught:
        conversion.convert_to_onnx(
            data, F.MODEL_FORMAT_SKOPS, signature, tolerance=zero, sample_rows=40, seed=3
        )
    error = caught.value
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CONVERSION_NOT_EQUIVALENT",
    )
    report = error.report
    assert not report.equivalent
    assert (report.sample_rows, report.seed, report.tolerance) == (40, 3, zero)
    label, probabilities = report.outputs
    assert (label.name, label.mismatched_elements, label.max_absolute_difference) == ("label", 0, 0)
    assert probabilities.name == "probabilities"
    assert 0 < probabilities.mismatched_elements <= probabilities.elements == 80
    assert 0 < probabilities.max_absolute_difference < 1e-5
    assert probabilities.max_relative_difference > 0


def test_the_same_seed_reproduces_the_report_and_another_changes_it():
    data, signature = skops_pipeline()

    def report(seed: int) -> conversion_job_pb2.EquivalenceReport:
        return conversion.convert_to_onnx(data, F.MODEL_FORMAT_SKOPS, signature, seed=seed).report

    assert report(11) == report(11)
    assert report(11).outputs != report(12).outputs


def test_a_job_supplies_opset_tolerance_rows_and_seed():
    data, signature = skops_pipeline()
    job = conversion_job_pb2.ConversionJob(
        target_format=F.MODEL_FORMAT_ONNX, target_opset=17, sample_rows=10, seed=4
    )
    conversion.check_conversion_job(job)
    result = conversion.convert_job(data, F.MODEL_FORMAT_SKOPS, signature, job)
    assert (result.opset, result.report.sample_rows, result.report.seed) == (17, 10, 4)
    assert result.report.tolerance.absolute == 1e-5
    job.tolerance.absolute = 0
    job.tolerance.relative = 0
    with pytest.raises(conversion.ConversionNotEquivalent):
        conversion.convert_job(data, F.MODEL_FORMAT_SKOPS, signature, job)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target_format": F.MODEL_FORMAT_SAVED_MODEL}, "conversion_job.target_format"),
        ({"target_opset": 6}, "conversion_job.target_opset"),
        ({"target_opset": -1}, "conversion_job.target_opset"),
        ({"sample_rows": 10_001}, "conversion_job.sample_rows"),
        ({"sample_rows": -1}, "conversion_job.sample_rows"),
        ({"tolerance": {"absolute": -1e-3}}, "conversion_job.tolerance.absolute"),
        ({"tolerance": {"relative": math.nan}}, "conversion_job.tolerance.relative"),
        ({"tolerance": {"absolute": math.inf}}, "conversion_job.tolerance.absolute"),
    ],
)
def test_job_fields_out_of_range_are_invalid_fields(change, field):
    job = conversion_job_pb2.ConversionJob(**{"target_format": F.MODEL_FORMAT_ONNX, **change})
    with pytest.raises(InvalidArgument) as caught:
        conversion.check_conversion_job(job)
    assert (caught.value.reason, caught.value.violations[0].field) == ("INVALID_FIELD", field)


def failure(data: bytes, model_format: int, signature, **options) -> FailedPrecondition:
    with pytest.raises(FailedPrecondition) as caught:
        conversion.convert_to_onnx(data, model_format, signature, **options)
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION
    return caught.value


def test_a_source_without_signature_inputs_needs_one():
    data, signature = skops_pipeline()
    del signature.inputs[:]
    assert failure(data, F.MODEL_FORMAT_SKOPS, signature).reason == "SIGNATURE_REQUIRED"


def test_pickles_convert_only_when_the_operator_trusts_them():
    data, signature = pickled(LogisticRegression().fit(ROWS, BINARY))
    assert failure(data, F.MODEL_FORMAT_PICKLE, signature).reason == "CONVERSION_UNSUPPORTED"
    result = conversion.convert_to_onnx(data, F.MODEL_FORMAT_PICKLE, signature, trust_pickle=True)
    assert result.report.equivalent


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed")
@pytest.mark.parametrize("model_format", [F.MODEL_FORMAT_TORCHSCRIPT, F.MODEL_FORMAT_TORCH_EXPORT])
def test_torch_models_are_unsupported_without_torch(model_format):
    signature = model_signature_pb2.ModelSignature(inputs=[spec("x", T.DATA_TYPE_FP32, [-1, 2])])
    error = failure(b"PK\x03\x04", model_format, signature)
    assert (error.reason, "torch" in error.message) == ("CONVERSION_UNSUPPORTED", True)


def test_sources_the_server_cannot_convert_are_unsupported():
    data, signature = skops_pipeline()
    two_inputs = model_signature_pb2.ModelSignature()
    two_inputs.CopyFrom(signature)
    two_inputs.inputs.append(spec("extra", T.DATA_TYPE_FP32, [-1, 1]))
    wrong_width = model_signature_pb2.ModelSignature()
    wrong_width.CopyFrom(signature)
    wrong_width.inputs[0].shape[1] = 9
    text_input = model_signature_pb2.ModelSignature()
    text_input.CopyFrom(signature)
    text_input.inputs[0].data_type = T.DATA_TYPE_BYTES
    unsupported = [
        (data, F.MODEL_FORMAT_ONNX, signature),
        (data, F.MODEL_FORMAT_SAFETENSORS, signature),
        (b"not a zip", F.MODEL_FORMAT_SKOPS, signature),
        (b"not a model", F.MODEL_FORMAT_XGBOOST, signature),
        (b"not a model", F.MODEL_FORMAT_LIGHTGBM, signature),
        (joblib_bytes([1, 2]), F.MODEL_FORMAT_PICKLE, signature),
        (untrusted_skops(), F.MODEL_FORMAT_SKOPS, signature),
        (data, F.MODEL_FORMAT_SKOPS, two_inputs),
        (data, F.MODEL_FORMAT_SKOPS, wrong_width),
        (data, F.MODEL_FORMAT_SKOPS, text_input),
    ]
    for source, model_format, declared in unsupported:
        error = failure(source, model_format, declared, trust_pickle=True)
        assert error.reason == "CONVERSION_UNSUPPORTED", error


def doubled(rows: np.ndarray) -> np.ndarray:
    return rows * 2


def untrusted_skops() -> bytes:
    """A pipeline calling a function of this module: a type skops does not trust."""
    model = make_pipeline(FunctionTransformer(doubled), LogisticRegression())
    return skops.io.dumps(model.fit(ROWS, BINARY))


def joblib_bytes(value: object) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(value, buffer)
    return buffer.getvalue()
