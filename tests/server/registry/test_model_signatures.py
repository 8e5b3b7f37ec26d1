"""Signatures of fitted scikit-learn, XGBoost and LightGBM models, and the equivalence rules."""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from lepton.registry.v1 import conversion_job_pb2
from lepton.type.v1 import tensor_pb2
from lepton_server.registry import equivalence
from lepton_server.registry.model_signatures import data_type_of, infer_signature, numpy_dtype

T = tensor_pb2.DataType
ROWS = np.random.default_rng(3).standard_normal((40, 3))
LABELS = (ROWS[:, 0] > 0).astype(int) + (ROWS[:, 1] > 0)
TOLERANCE = conversion_job_pb2.EquivalenceTolerance(absolute=1e-5, relative=1e-4)


def spec(name: str, data_type: int, shape: list[int]) -> tensor_pb2.TensorSpec:
    return tensor_pb2.TensorSpec(name=name, data_type=data_type, shape=shape)


def test_a_classifier_fitted_on_a_table_names_its_columns_and_classes():
    frame = pd.DataFrame(ROWS, columns=["age", "income", "tenure_months"])
    model = make_pipeline(StandardScaler(), LogisticRegression())
    model.fit(frame, np.array(["approve", "review", "reject"])[LABELS])
    signature = infer_signature(model)
    assert list(signature.feature_names) == ["age", "income", "tenure_months"]
    assert list(signature.class_labels) == ["approve", "reject", "review"]
    assert list(signature.inputs) == [spec("input", T.DATA_TYPE_FP32, [-1, 3])]
    assert list(signature.outputs) == [
        spec("label", T.DATA_TYPE_BYTES, [-1]),
        spec("probabilities", T.DATA_TYPE_FP32, [-1, 3]),
    ]


def test_integer_classes_without_probabilities_give_a_label_only():
    signature = infer_signature(LinearSVC().fit(ROWS, LABELS * 5))
    assert list(signature.class_labels) == ["0", "5", "10"]
    assert list(signature.outputs) == [spec("label", T.DATA_TYPE_INT64, [-1])]
    assert not signature.feature_names


def test_regressors_return_one_variable_per_target():
    single = infer_signature(LinearRegression().fit(ROWS, ROWS[:, 0]))
    double = infer_signature(LinearRegression().fit(ROWS, ROWS[:, :2]))
    assert list(single.outputs) == [spec("variable", T.DATA_TYPE_FP32, [-1])]
    assert list(double.outputs) == [spec("variable", T.DATA_TYPE_FP32, [-1, 2])]
    assert not single.class_labels


def test_boosters_give_their_feature_names_and_class_indexes():
    matrix = xgboost.DMatrix(ROWS, label=LABELS, feature_names=["a", "b", "c"])
    softprob = xgboost.train({"objective": "multi:softprob", "num_class": 3}, matrix, 2)
    softmax = xgboost.train({"objective": "multi:softmax", "num_class": 3}, matrix, 2)
    signature = infer_signature(softprob)
    assert list(signature.feature_names) == ["a", "b", "c"]
    assert list(signature.class_labels) == ["0", "1", "2"]
    assert [o.name for o in signature.outputs] == ["label", "probabilities"]
    assert [o.name for o in infer_signature(softmax).outputs] == ["label"]
    unnamed = lightgbm.train(
        {"objective": "regression", "verbose": -1}, lightgbm.Dataset(ROWS, label=ROWS[:, 0]), 2
    )
    regression = infer_signature(unnamed)
    assert not regression.feature_names
    assert list(regression.outputs) == [spec("variable", T.DATA_TYPE_FP32, [-1])]
    named = lightgbm.train(
        {"objective": "binary", "verbose": -1},
        lightgbm.Dataset(pd.DataFrame(ROWS, columns=["x", "y", "z"]), label=LABELS > 0),
        2,
    )
    assert list(infer_signature(named).feature_names) == ["x", "y", "z"]
    assert list(infer_signature(named).class_labels) == ["0", "1"]


def test_unfitted_or_foreign_objects_have_no_signature():
    for model in [LogisticRegression(), object(), {"weights": [1]}]:
        with pytest.raises(ValueError):
            infer_signature(model)


def test_data_types_map_to_numpy_and_back():
    for data_type in T.values():
        if data_type in (T.DATA_TYPE_UNSPECIFIED, T.DATA_TYPE_BF16):
            continue
        assert data_type_of(numpy_dtype(data_type)) == data_type
    assert data_type_of(np.dtype("<U5")) == T.DATA_TYPE_BYTES


def test_sample_rows_follow_the_signature_shapes_types_and_seed():
    inputs = [
        spec("x", T.DATA_TYPE_FP32, [-1, 3]),
        spec("ids", T.DATA_TYPE_INT64, [-1, 2, -1]),
        spec("count", T.DATA_TYPE_UINT8, [-1]),
        spec("mask", T.DATA_TYPE_BOOL, [4]),
    ]
    drawn = equivalence.sample_inputs(inputs, 50, seed=9)
    assert {name: (a.shape, a.dtype.name) for name, a in drawn.items()} == {
        "x": ((50, 3), "float32"),
        "ids": ((50, 2, 50), "int64"),
        "count": ((50,), "uint8"),
        "mask": ((4,), "bool"),
    }
    assert -100 <= drawn["ids"].min() < 0 < drawn["ids"].max() <= 100
    assert drawn["count"].max() <= 100
    again = equivalence.sample_inputs(inputs, 50, seed=9)
    assert all(np.array_equal(drawn[name], again[name]) for name in drawn)
    assert not np.array_equal(drawn["x"], equivalence.sample_inputs(inputs, 50, seed=10)["x"])
    with pytest.raises(ValueError):
        equivalence.sample_inputs([spec("text", T.DATA_TYPE_BYTES, [-1])], 5, seed=0)


def test_floats_pass_within_absolute_plus_relative_of_the_source():
    source = np.array([1.0, 100.0, 0.0, np.nan, 2.0])
    converted = np.array([1.00001, 100.02, 1e-6, np.nan, 2.5], dtype=np.float32)
    difference = equivalence.compare_output("y", source, converted, TOLERANCE)
    assert (difference.name, difference.elements) == ("y", 5)
    # 100.02 is outside 1e-5 + 1e-4 * 100; 2.5 is far outside; NaN against NaN passes.
    assert difference.mismatched_elements == 2
    assert difference.max_absolute_difference == pytest.approx(0.5)
    assert difference.max_relative_difference == pytest.approx(0.25)


def test_a_nan_against_a_number_is_outside():
    difference = equivalence.compare_output(
        "y", np.array([1.0, 2.0]), np.array([1.0, np.nan]), TOLERANCE
    )
    assert difference.mismatched_elements == 1
    assert difference.max_absolute_difference == float("inf")


def test_labels_must_be_equal_and_report_no_difference_magnitudes():
    source = np.array(["a", "b", "c", "a"], dtype=object)
    converted = np.array(["a", "c", "c", "a"], dtype=object)
    difference = equivalence.compare_output("label", source, converted, TOLERANCE)
    assert (difference.mismatched_elements, difference.elements) == (1, 4)
    assert difference.max_absolute_difference == difference.max_relative_difference == 0
    integers = equivalence.compare_output("label", np.array([1, 2]), np.array([1, 2]), TOLERANCE)
    assert integers.mismatched_elements == 0


def test_outputs_of_different_sizes_all_mismatch():
    difference = equivalence.compare_output("y", np.zeros(4), np.zeros(6), TOLERANCE)
    assert (difference.mismatched_elements, difference.elements) == (6, 6)


def test_a_report_is_equivalent_only_when_no_output_mismatches():
    good = equivalence.compare_output("a", np.ones(3), np.ones(3), TOLERANCE)
    bad = equivalence.compare_output("b", np.ones(3), np.zeros(3), TOLERANCE)
    options = {"rows": 3, "seed": 1, "tolerance": TOLERANCE, "converter": "c", "runtime": "r"}
    assert equivalence.report([good], **options).equivalent
    assert not equivalence.report([good, bad], **options).equivalent
