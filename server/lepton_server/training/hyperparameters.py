"""Hyperparameters of a built-in trainer: validation, defaults, and the two forms a trainer reads.

`resolve` checks a job's `map<string, HyperparameterValue>` against the trainer's
`TrainerInfo.hyperparameters` (TrainingJobSpec.hyperparameters, TRN-007) and returns every
hyperparameter the trainer runs with, given values plus declared defaults, as
ResolvedInputs.hyperparameters records them (TRN-017). `json_object` turns such a map into the
object of `LEPTON_HYPERPARAMETERS` (spec/training.md, "Trainer runtime contract");
`keyword_arguments` into an estimator's constructor arguments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from lepton.training.v1 import trainer_pb2
from lepton_server.runtime.errors import FieldViolation, InvalidArgument

HyperparameterValue = trainer_pb2.HyperparameterValue
HyperparameterSpec = trainer_pb2.HyperparameterSpec
T = trainer_pb2.HyperparameterType

FIELD = "training_job.spec.hyperparameters"
# The HyperparameterValue.kind field each type sets (trainer.proto, HyperparameterType).
KIND_OF_TYPE = {
    T.HYPERPARAMETER_TYPE_BOOL: "bool_value",
    T.HYPERPARAMETER_TYPE_INT64: "int64_value",
    T.HYPERPARAMETER_TYPE_DOUBLE: "double_value",
    T.HYPERPARAMETER_TYPE_STRING: "string_value",
    T.HYPERPARAMETER_TYPE_INT64_LIST: "int64_list",
    T.HYPERPARAMETER_TYPE_DOUBLE_LIST: "double_list",
    T.HYPERPARAMETER_TYPE_STRING_LIST: "string_list",
}
_LIST_KINDS = frozenset({"int64_list", "double_list", "string_list"})
# The type of one element: what a list's bounds and allowed values apply to, element by element
# (trainer.proto defines bounds for INT64 and DOUBLE and allowed values for STRING only).
ELEMENT_TYPE = {
    T.HYPERPARAMETER_TYPE_INT64_LIST: T.HYPERPARAMETER_TYPE_INT64,
    T.HYPERPARAMETER_TYPE_DOUBLE_LIST: T.HYPERPARAMETER_TYPE_DOUBLE,
    T.HYPERPARAMETER_TYPE_STRING_LIST: T.HYPERPARAMETER_TYPE_STRING,
}

JsonValue = bool | int | float | str | list[bool | int | float | str]


def field_path(key: str) -> str:
    """The BadRequest field of one hyperparameter (TRN-002, TRN-007)."""
    return f"{FIELD}[{key}]"


def resolve(
    given: Mapping[str, HyperparameterValue], trainer: trainer_pb2.TrainerInfo
) -> dict[str, HyperparameterValue]:
    """Every hyperparameter `trainer` runs with, in declaration order, or INVALID_FIELD with
    one field violation per bad key. An int64_value given for a DOUBLE hyperparameter is
    returned as the equal double_value.
    """
    declared = {spec.name: spec for spec in trainer.hyperparameters}
    violations: list[FieldViolation] = []
    resolved: dict[str, HyperparameterValue] = {}
    for key in sorted(given):
        spec = declared.get(key)
        if spec is None:
            why = "the trainer declares no hyperparameter of this name"
            violations.append(FieldViolation(field_path(key), why))
            continue
        try:
            resolved[key] = _checked(given[key], spec)
        except ValueError as error:
            violations.append(FieldViolation(field_path(key), str(error)))
    for name, spec in declared.items():
        if name in given:
            continue
        if spec.required:
            violations.append(FieldViolation(field_path(name), "required and not set"))
        else:
            resolved[name] = _copy(spec.default_value)
    if violations:
        raise InvalidArgument(
            reason="INVALID_FIELD",
            message="; ".join(f"{v.field}: {v.description}" for v in violations),
            violations=violations,
        )
    return {name: resolved[name] for name in declared if name in resolved}


def _copy(value: HyperparameterValue) -> HyperparameterValue:
    copied = HyperparameterValue()
    copied.CopyFrom(value)
    return copied


def _checked(value: HyperparameterValue, spec: HyperparameterSpec) -> HyperparameterValue:
    """`value` as the declared type, or ValueError saying what is wrong."""
    kind = value.WhichOneof("kind")
    expected = KIND_OF_TYPE[spec.type]
    if kind is None:
        raise ValueError("no value set")
    if kind == "int64_value" and expected == "double_value":
        value = _as_double(value.int64_value)
    elif kind != expected:
        raise ValueError(f"expected {expected}, got {kind}")
    elements = (
        list(getattr(value, expected).values)
        if expected in _LIST_KINDS
        else [getattr(value, expected)]
    )
    for element in elements:
        _check_element(element, spec)
    return _copy(value)


def _as_double(number: int) -> HyperparameterValue:
    converted = float(number)
    if int(converted) != number:
        raise ValueError(f"{number} has no exact double")
    return HyperparameterValue(double_value=converted)


def _check_element(element: bool | int | float | str, spec: HyperparameterSpec) -> None:
    if isinstance(element, float) and not math.isfinite(element):
        raise ValueError(f"{element} is not a finite number")
    if isinstance(element, str):
        if spec.allowed_values and element not in spec.allowed_values:
            raise ValueError(f"{element!r} is not one of {', '.join(spec.allowed_values)}")
        return
    if isinstance(element, bool):
        return
    if spec.HasField("min_value") and element < plain_value(spec.min_value):
        raise ValueError(f"{element} is below the minimum {plain_value(spec.min_value)}")
    if spec.HasField("max_value") and element > plain_value(spec.max_value):
        raise ValueError(f"{element} is above the maximum {plain_value(spec.max_value)}")


def declare(
    name: str,
    kind: int,
    default: JsonValue | None,
    description: str,
    *,
    minimum: int | float | None = None,
    maximum: int | float | None = None,
    allowed: tuple[str, ...] = (),
) -> HyperparameterSpec:
    """A HyperparameterSpec; a `default` of None declares a required hyperparameter. The
    bounds of a list type are of its element type."""
    spec = HyperparameterSpec(name=name, type=kind, description=description, allowed_values=allowed)
    if default is None:
        spec.required = True
    else:
        spec.default_value.CopyFrom(typed_value(kind, default))
    element = ELEMENT_TYPE.get(kind, kind)
    if minimum is not None:
        spec.min_value.CopyFrom(typed_value(element, minimum))
    if maximum is not None:
        spec.max_value.CopyFrom(typed_value(element, maximum))
    return spec


def typed_value(kind: int, plain: JsonValue) -> HyperparameterValue:
    """The HyperparameterValue of HyperparameterType `kind` holding `plain`."""
    field = KIND_OF_TYPE[kind]
    if field in _LIST_KINDS:
        return HyperparameterValue(**{field: {"values": plain}})
    return HyperparameterValue(**{field: plain})


def plain_value(value: HyperparameterValue) -> JsonValue:
    """The Python value of a HyperparameterValue: bool, int, float, str or a list of them."""
    kind = value.WhichOneof("kind")
    if kind is None:
        raise ValueError("no value set")
    if kind in _LIST_KINDS:
        return list(getattr(value, kind).values)
    return getattr(value, kind)


def json_object(resolved: Mapping[str, HyperparameterValue]) -> dict[str, JsonValue]:
    """The object of the `LEPTON_HYPERPARAMETERS` file: bool → boolean, int64 → integer,
    double → number, string → string, lists → arrays (keys sorted, for a stable file)."""
    return {key: plain_value(resolved[key]) for key in sorted(resolved)}


def keyword_arguments(
    resolved: Mapping[str, HyperparameterValue], none_as: Mapping[str, object]
) -> dict[str, object]:
    """Constructor arguments of an estimator: the plain values, except that a value equal to
    `none_as[name]` (the declared stand-in for the library's None) becomes None."""
    arguments: dict[str, object] = {}
    for key, value in resolved.items():
        plain = plain_value(value)
        stand_in = none_as.get(key, _NO_STAND_IN)
        arguments[key] = None if _same(plain, stand_in) else plain
    return arguments


_NO_STAND_IN = object()


def _same(plain: object, stand_in: object) -> bool:
    # True == 1 in Python; a stand-in matches only a value of its own type.
    return type(plain) is type(stand_in) and plain == stand_in
