"""The built-in trainer catalogue: well-formed declarations, the conformance trainer of the spec's
table, and library trainers whose arguments and defaults are the installed libraries' own."""

from __future__ import annotations

import json
import re

import lightgbm
import numpy as np
import pytest
import sklearn
import xgboost

from lepton.training.v1 import trainer_pb2
from lepton.type.v1 import model_format_pb2
from lepton_server.runtime.errors import InvalidArgument
from lepton_server.training import hyperparameters, trainer_catalogue
from lepton_server.training.library_trainers import LIBRARY_TRAINERS, LibraryTrainer

F = model_format_pb2.ModelFormat
T = trainer_pb2.HyperparameterType
STANDARD_IDS = [
    "sklearn.logistic_regression",
    "sklearn.linear_regression",
    "sklearn.random_forest_classifier",
    "sklearn.random_forest_regressor",
    "sklearn.hist_gradient_boosting_classifier",
    "sklearn.hist_gradient_boosting_regressor",
    "xgboost.classifier",
    "xgboost.regressor",
    "lightgbm.classifier",
    "lightgbm.regressor",
]
TRAINER_ID = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
# trainer.proto says [a-z][a-z0-9_]*, but the spec's standard trainers take the library's
# argument names, and scikit-learn's LogisticRegression has `C`: upper case is let through.
HYPERPARAMETER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
ROWS = np.random.default_rng(0).standard_normal((60, 3))
LABELS = (ROWS[:, 0] > 0).astype(int)
# Spec table of "Conformance trainer `lepton.conformance`": type, default, min, max, allowed.
CONFORMANCE_TABLE = [
    ("steps", T.HYPERPARAMETER_TYPE_INT64, 10, 0, 1_000_000, []),
    ("step_seconds", T.HYPERPARAMETER_TYPE_DOUBLE, 0.1, 0.0, 60.0, []),
    ("log_lines_per_step", T.HYPERPARAMETER_TYPE_INT64, 1, 0, 1_000, []),
    ("fail_at_step", T.HYPERPARAMETER_TYPE_INT64, 0, 0, None, []),
    ("fail_attempts", T.HYPERPARAMETER_TYPE_INT64, 0, 0, None, []),
    (
        "failure",
        T.HYPERPARAMETER_TYPE_STRING,
        "exit",
        None,
        None,
        ["exit", "kill_self", "allocate"],
    ),
    ("exit_code", T.HYPERPARAMETER_TYPE_INT64, 1, 1, 255, []),
    ("allocate_bytes", T.HYPERPARAMETER_TYPE_INT64, 0, 0, None, []),
    ("ignore_sigterm", T.HYPERPARAMETER_TYPE_BOOL, False, None, None, []),
    ("child_processes", T.HYPERPARAMETER_TYPE_INT64, 0, 0, 16, []),
    ("output", T.HYPERPARAMETER_TYPE_STRING, "onnx", None, None, ["onnx", "none", "invalid"]),
    ("best_step", T.HYPERPARAMETER_TYPE_INT64, 0, 0, None, []),
]


def bound(spec: trainer_pb2.HyperparameterSpec, name: str) -> object:
    return hyperparameters.plain_value(getattr(spec, name)) if spec.HasField(name) else None


def library(trainer_id: str) -> LibraryTrainer:
    return next(trainer for trainer in LIBRARY_TRAINERS if trainer.id == trainer_id)


def test_every_standard_trainer_and_the_conformance_trainer_are_offered_ordered_by_id():
    ids = [info.id for info in trainer_catalogue.catalogue()]
    assert ids == sorted(["lepton.conformance", *STANDARD_IDS])


@pytest.mark.parametrize("info", trainer_catalogue.catalogue(), ids=lambda info: info.id)
def test_declarations_are_well_formed(info):
    assert TRAINER_ID.fullmatch(info.id) and len(info.id) <= 128
    assert info.model_formats and F.MODEL_FORMAT_UNSPECIFIED not in info.model_formats
    assert info.max_worker_count >= 1
    assert info.metric_names and info.description
    names = [spec.name for spec in info.hyperparameters]
    assert len(names) == len(set(names))
    for spec in info.hyperparameters:
        assert HYPERPARAMETER_NAME.fullmatch(spec.name), spec.name
        assert spec.type != T.HYPERPARAMETER_TYPE_UNSPECIFIED and spec.description
        assert spec.required != spec.HasField("default_value"), spec.name
        kind = hyperparameters.KIND_OF_TYPE[spec.type]
        element = hyperparameters.KIND_OF_TYPE[
            hyperparameters.ELEMENT_TYPE.get(spec.type, spec.type)
        ]
        if spec.HasField("default_value"):
            assert spec.default_value.WhichOneof("kind") == kind, spec.name
        for field in ("min_value", "max_value"):
            if spec.HasField(field):
                assert getattr(spec, field).WhichOneof("kind") == element, spec.name
        if spec.allowed_values:
            assert spec.type == T.HYPERPARAMETER_TYPE_STRING
    # Every default lies in its range and allowed values: resolving nothing and resolving the
    # defaults given explicitly both pass and give the declared defaults.
    defaults = {spec.name: spec.default_value for spec in info.hyperparameters}
    assert hyperparameters.resolve({}, info) == defaults
    assert hyperparameters.resolve(defaults, info) == defaults


def test_the_conformance_trainer_is_the_spec_table():
    info = trainer_catalogue.get("lepton.conformance")
    declared = [
        (
            spec.name,
            spec.type,
            hyperparameters.plain_value(spec.default_value),
            bound(spec, "min_value"),
            bound(spec, "max_value"),
            list(spec.allowed_values),
        )
        for spec in info.hyperparameters
    ]
    assert declared == CONFORMANCE_TABLE
    assert not any(spec.required for spec in info.hyperparameters)
    assert info.task == "test"
    assert list(info.model_formats) == [F.MODEL_FORMAT_ONNX]
    assert not info.requires_label_column and info.supports_checkpoints
    assert info.max_worker_count == 1 and not info.supports_accelerators
    assert list(info.metric_names) == ["train/loss", "validation/loss"]


@pytest.mark.parametrize("trainer_id", STANDARD_IDS)
def test_library_trainers_export_the_native_format_then_onnx(trainer_id):
    info = trainer_catalogue.get(trainer_id)
    native = {"sklearn": F.MODEL_FORMAT_SKOPS, "xgboost": F.MODEL_FORMAT_XGBOOST}
    native["lightgbm"] = F.MODEL_FORMAT_LIGHTGBM
    assert list(info.model_formats) == [native[info.framework], F.MODEL_FORMAT_ONNX]
    assert info.requires_label_column and info.max_worker_count == 1
    versions = {"sklearn": sklearn, "xgboost": xgboost, "lightgbm": lightgbm}
    assert info.framework_version == versions[info.framework].__version__


@pytest.mark.parametrize("trainer_id", STANDARD_IDS)
def test_every_hyperparameter_is_a_constructor_argument_with_the_librarys_default(trainer_id):
    trainer = library(trainer_id)
    info = trainer_catalogue.get(trainer_id)
    estimator = trainer.estimator_class()
    library_defaults = estimator().get_params()
    kwargs = trainer.estimator_kwargs(hyperparameters.resolve({}, info))
    assert set(kwargs) <= set(library_defaults)
    if trainer.framework == "xgboost":
        # The wrapper reports None and the booster resolves it: compare with a fitted booster.
        fitted = estimator().fit(ROWS, LABELS)
        config = json.loads(fitted.get_booster().save_config())["learner"]
        effective = {
            **config["gradient_booster"]["tree_train_param"],
            **config["generic_param"],
        }
        assert kwargs.pop("n_estimators") == fitted.get_num_boosting_rounds()
        for name, value in kwargs.items():
            assert float(effective[name]) == pytest.approx(value, rel=1e-6), name
    else:
        assert kwargs == {name: library_defaults[name] for name in kwargs}


@pytest.mark.parametrize("trainer_id", STANDARD_IDS)
def test_the_declared_defaults_fit_the_real_estimator(trainer_id):
    trainer = library(trainer_id)
    kwargs = trainer.estimator_kwargs(
        hyperparameters.resolve({}, trainer_catalogue.get(trainer_id))
    )
    extra = {"verbose": -1} if trainer.framework == "lightgbm" else {}
    fitted = trainer.estimator_class()(**kwargs, **extra).fit(ROWS, LABELS)
    assert fitted.predict(ROWS).shape == (len(ROWS),)


@pytest.mark.parametrize("trainer_id", [i for i in STANDARD_IDS if i.startswith("sklearn.")])
def test_scikit_learn_accepts_every_declared_bound(trainer_id):
    trainer = library(trainer_id)
    info = trainer_catalogue.get(trainer_id)
    for spec in info.hyperparameters:
        values = (
            [spec.min_value, spec.max_value]
            if spec.type != T.HYPERPARAMETER_TYPE_STRING
            else [
                hyperparameters.typed_value(spec.type, allowed) for allowed in spec.allowed_values
            ]
        )
        for value in values:
            if value.WhichOneof("kind") is None:
                continue
            resolved = hyperparameters.resolve({spec.name: value}, info)
            estimator = trainer.estimator_class()(**trainer.estimator_kwargs(resolved))
            estimator._validate_params()  # the library's own parameter check


def test_an_unknown_trainer_is_unknown_trainer_on_the_builtin_id():
    with pytest.raises(InvalidArgument) as raised:
        trainer_catalogue.get("sklearn.no_such_trainer")
    assert raised.value.reason == "UNKNOWN_TRAINER"
    assert [v.field for v in raised.value.violations] == ["training_job.spec.trainer.builtin.id"]


def test_the_catalogue_hands_out_copies():
    trainer_catalogue.get("lepton.conformance").hyperparameters[0].name = "changed"
    trainer_catalogue.catalogue()[0].id = "changed"
    assert trainer_catalogue.get("lepton.conformance").hyperparameters[0].name == "steps"
    assert trainer_catalogue.catalogue()[0].id == "lepton.conformance"


def test_a_trainer_whose_library_does_not_import_is_not_available():
    absent = LibraryTrainer(
        id="absent.classifier",
        description="",
        task="classification",
        estimator="lepton_absent_library:Classifier",
        native_format=F.MODEL_FORMAT_OTHER,
        arguments=(),
    )
    assert not absent.available()
    assert all(trainer.available() for trainer in LIBRARY_TRAINERS)
