"""Hyperparameter validation against a TrainerInfo (TRN-007), resolution with defaults (TRN-017),
and the JSON object and estimator arguments a trainer reads."""

from __future__ import annotations

import json
import math

import pytest
from sklearn.ensemble import RandomForestClassifier

from lepton.training.v1 import trainer_pb2, training_job_pb2
from lepton_server.runtime.errors import InvalidArgument
from lepton_server.training import hyperparameters, trainer_catalogue
from lepton_server.training.hyperparameters import HyperparameterValue as V
from lepton_server.training.hyperparameters import declare
from lepton_server.training.library_trainers import LIBRARY_TRAINERS

T = trainer_pb2.HyperparameterType
CONFORMANCE = trainer_catalogue.get("lepton.conformance")
# A trainer with a required hyperparameter and one of every list type.
LISTS = trainer_pb2.TrainerInfo(
    id="example.lists",
    hyperparameters=[
        declare("hidden", T.HYPERPARAMETER_TYPE_INT64_LIST, None, "Required", minimum=1),
        declare("rates", T.HYPERPARAMETER_TYPE_DOUBLE_LIST, [0.5], "Rates", maximum=1.0),
        declare("names", T.HYPERPARAMETER_TYPE_STRING_LIST, [], "Names", allowed=("a", "b")),
    ],
)


def rejected(given: dict[str, V], info: trainer_pb2.TrainerInfo = CONFORMANCE) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        hyperparameters.resolve(given, info)
    assert raised.value.reason == "INVALID_FIELD"
    return raised.value


def fields(error: InvalidArgument) -> list[str]:
    return [violation.field for violation in error.violations]


def test_given_values_and_declared_defaults_make_the_resolved_map():
    given = {"steps": V(int64_value=3), "failure": V(string_value="kill_self")}
    resolved = hyperparameters.resolve(given, CONFORMANCE)
    assert list(resolved) == [spec.name for spec in CONFORMANCE.hyperparameters]
    assert resolved["steps"] == V(int64_value=3)
    assert resolved["failure"] == V(string_value="kill_self")
    assert resolved["step_seconds"] == V(double_value=0.1)
    assert resolved["ignore_sigterm"] == V(bool_value=False)


def test_bounds_are_inclusive():
    given = {
        "steps": V(int64_value=1_000_000),
        "step_seconds": V(double_value=0.0),
        "exit_code": V(int64_value=255),
        "child_processes": V(int64_value=0),
    }
    assert hyperparameters.resolve(given, CONFORMANCE)["exit_code"] == V(int64_value=255)


def test_an_integer_for_a_double_is_converted_exactly():
    resolved = hyperparameters.resolve({"step_seconds": V(int64_value=2)}, CONFORMANCE)
    assert resolved["step_seconds"] == V(double_value=2.0)
    error = rejected({"step_seconds": V(int64_value=61)})
    assert fields(error) == ["training_job.spec.hyperparameters[step_seconds]"]
    # 2**53 + 1 has no exact double.
    big = trainer_pb2.TrainerInfo(
        hyperparameters=[declare("x", T.HYPERPARAMETER_TYPE_DOUBLE, 0.0, "Any")]
    )
    assert fields(rejected({"x": V(int64_value=2**53 + 1)}, big)) == [
        "training_job.spec.hyperparameters[x]"
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("no_such_key", V(int64_value=1)),
        ("steps", V(double_value=3.0)),  # an integer sent as a double
        ("steps", V(string_value="3")),
        ("ignore_sigterm", V(int64_value=1)),
        ("failure", V(string_list={"values": ["exit"]})),
        ("steps", V()),  # no kind set
        ("steps", V(int64_value=-1)),
        ("steps", V(int64_value=1_000_001)),
        ("exit_code", V(int64_value=0)),
        ("step_seconds", V(double_value=60.5)),
        ("step_seconds", V(double_value=math.nan)),
        ("step_seconds", V(double_value=math.inf)),
        ("step_seconds", V(double_value=-math.inf)),
        ("failure", V(string_value="crash")),
        ("output", V(string_value="ONNX")),
    ],
)
def test_each_bad_value_is_invalid_field_on_its_key(key, value):
    error = rejected({key: value})
    assert fields(error) == [f"training_job.spec.hyperparameters[{key}]"]
    assert error.message.startswith(f"training_job.spec.hyperparameters[{key}]: ")


def test_a_missing_required_hyperparameter_is_invalid_field():
    assert fields(rejected({}, LISTS)) == ["training_job.spec.hyperparameters[hidden]"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hidden", V(int64_list={"values": [4, 0]})),
        ("rates", V(double_list={"values": [0.1, math.nan]})),
        ("rates", V(double_list={"values": [1.5]})),
        ("names", V(string_list={"values": ["a", "c"]})),
        ("names", V(string_value="a")),
    ],
)
def test_list_elements_are_checked_like_single_values(key, value):
    given = {"hidden": V(int64_list={"values": [8]}), key: value}
    assert fields(rejected(given, LISTS)) == [f"training_job.spec.hyperparameters[{key}]"]


def test_lists_resolve_with_their_defaults_and_may_be_empty():
    resolved = hyperparameters.resolve({"hidden": V(int64_list={"values": []})}, LISTS)
    assert hyperparameters.json_object(resolved) == {"hidden": [], "names": [], "rates": [0.5]}


def test_every_bad_key_is_reported_at_once():
    error = rejected({"zzz": V(bool_value=True), "steps": V(int64_value=-5), "exit_code": V()})
    assert fields(error) == [
        "training_job.spec.hyperparameters[exit_code]",
        "training_job.spec.hyperparameters[steps]",
        "training_job.spec.hyperparameters[zzz]",
    ]


def test_the_runtime_json_keeps_every_type_and_round_trips():
    given = {
        "hidden": V(int64_list={"values": [128, 64]}),
        "rates": V(double_list={"values": [1.0, 0.25]}),
        "names": V(string_list={"values": ["a"]}),
    }
    obj = hyperparameters.json_object(hyperparameters.resolve(given, LISTS))
    text = json.dumps(obj, allow_nan=False)
    assert text == '{"hidden": [128, 64], "names": ["a"], "rates": [1.0, 0.25]}'
    assert json.loads(text) == obj
    scalars = hyperparameters.json_object(hyperparameters.resolve({}, CONFORMANCE))
    loaded = json.loads(json.dumps(scalars, allow_nan=False))
    assert loaded == scalars
    assert loaded["ignore_sigterm"] is False
    assert type(loaded["steps"]) is int and type(loaded["step_seconds"]) is float
    assert loaded["failure"] == "exit"
    # Each JSON value turns back into the HyperparameterValue it came from.
    resolved = hyperparameters.resolve({}, CONFORMANCE)
    for spec in CONFORMANCE.hyperparameters:
        assert hyperparameters.typed_value(spec.type, loaded[spec.name]) == resolved[spec.name]


def test_estimator_arguments_map_the_stand_in_for_none():
    trainer = next(t for t in LIBRARY_TRAINERS if t.id == "sklearn.random_forest_classifier")
    info = trainer_catalogue.get(trainer.id)
    defaults = trainer.estimator_kwargs(hyperparameters.resolve({}, info))
    assert defaults["max_depth"] is None and defaults["random_state"] is None
    given = {"max_depth": V(int64_value=3), "random_state": V(int64_value=0)}
    kwargs = trainer.estimator_kwargs(hyperparameters.resolve(given, info))
    assert kwargs["max_depth"] == 3 and kwargs["random_state"] == 0
    params = RandomForestClassifier(**kwargs).get_params()
    assert {name: params[name] for name in kwargs} == kwargs


def test_a_stand_in_matches_only_a_value_of_its_own_type():
    resolved = {"flag": V(bool_value=False), "depth": V(int64_value=0)}
    kwargs = hyperparameters.keyword_arguments(resolved, {"flag": 0, "depth": 0})
    assert kwargs == {"flag": False, "depth": None}


def test_a_job_specs_map_resolves_into_resolved_inputs():
    spec = training_job_pb2.TrainingJobSpec()
    spec.hyperparameters["steps"].int64_value = 4
    spec.hyperparameters["step_seconds"].int64_value = 0
    resolved = hyperparameters.resolve(spec.hyperparameters, CONFORMANCE)
    inputs = training_job_pb2.ResolvedInputs(hyperparameters=resolved)
    assert len(inputs.hyperparameters) == len(CONFORMANCE.hyperparameters)
    assert inputs.hyperparameters["steps"].int64_value == 4
    assert inputs.hyperparameters["step_seconds"] == V(double_value=0.0)
    assert set(spec.hyperparameters) == {"steps", "step_seconds"}  # the request is untouched
