from lepton.type.v1 import model_format_pb2 as _model_format_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HyperparameterType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HYPERPARAMETER_TYPE_UNSPECIFIED: _ClassVar[HyperparameterType]
    HYPERPARAMETER_TYPE_BOOL: _ClassVar[HyperparameterType]
    HYPERPARAMETER_TYPE_INT64: _ClassVar[HyperparameterType]
    HYPERPARAMETER_TYPE_DOUBLE: _ClassVar[HyperparameterType]
    HYPERPARAMETER_TYPE_STRING: _ClassVar[HyperparameterType]
    HYPERPARAMETER_TYPE_INT64_LIST: _ClassVar[HyperparameterType]
    HYPERPARAMETER_TYPE_DOUBLE_LIST: _ClassVar[HyperparameterType]
    HYPERPARAMETER_TYPE_STRING_LIST: _ClassVar[HyperparameterType]
HYPERPARAMETER_TYPE_UNSPECIFIED: HyperparameterType
HYPERPARAMETER_TYPE_BOOL: HyperparameterType
HYPERPARAMETER_TYPE_INT64: HyperparameterType
HYPERPARAMETER_TYPE_DOUBLE: HyperparameterType
HYPERPARAMETER_TYPE_STRING: HyperparameterType
HYPERPARAMETER_TYPE_INT64_LIST: HyperparameterType
HYPERPARAMETER_TYPE_DOUBLE_LIST: HyperparameterType
HYPERPARAMETER_TYPE_STRING_LIST: HyperparameterType

class TrainerInfo(_message.Message):
    __slots__ = ("id", "description", "task", "hyperparameters", "model_formats", "requires_label_column", "supports_checkpoints", "max_worker_count", "supports_accelerators", "metric_names", "framework", "framework_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FORMATS_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_LABEL_COLUMN_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    MAX_WORKER_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_ACCELERATORS_FIELD_NUMBER: _ClassVar[int]
    METRIC_NAMES_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    description: str
    task: str
    hyperparameters: _containers.RepeatedCompositeFieldContainer[HyperparameterSpec]
    model_formats: _containers.RepeatedScalarFieldContainer[_model_format_pb2.ModelFormat]
    requires_label_column: bool
    supports_checkpoints: bool
    max_worker_count: int
    supports_accelerators: bool
    metric_names: _containers.RepeatedScalarFieldContainer[str]
    framework: str
    framework_version: str
    def __init__(self, id: _Optional[str] = ..., description: _Optional[str] = ..., task: _Optional[str] = ..., hyperparameters: _Optional[_Iterable[_Union[HyperparameterSpec, _Mapping]]] = ..., model_formats: _Optional[_Iterable[_Union[_model_format_pb2.ModelFormat, str]]] = ..., requires_label_column: _Optional[bool] = ..., supports_checkpoints: _Optional[bool] = ..., max_worker_count: _Optional[int] = ..., supports_accelerators: _Optional[bool] = ..., metric_names: _Optional[_Iterable[str]] = ..., framework: _Optional[str] = ..., framework_version: _Optional[str] = ...) -> None: ...

class HyperparameterSpec(_message.Message):
    __slots__ = ("name", "type", "default_value", "required", "description", "allowed_values", "min_value", "max_value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_VALUES_FIELD_NUMBER: _ClassVar[int]
    MIN_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: HyperparameterType
    default_value: HyperparameterValue
    required: bool
    description: str
    allowed_values: _containers.RepeatedScalarFieldContainer[str]
    min_value: HyperparameterValue
    max_value: HyperparameterValue
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[HyperparameterType, str]] = ..., default_value: _Optional[_Union[HyperparameterValue, _Mapping]] = ..., required: _Optional[bool] = ..., description: _Optional[str] = ..., allowed_values: _Optional[_Iterable[str]] = ..., min_value: _Optional[_Union[HyperparameterValue, _Mapping]] = ..., max_value: _Optional[_Union[HyperparameterValue, _Mapping]] = ...) -> None: ...

class HyperparameterValue(_message.Message):
    __slots__ = ("bool_value", "int64_value", "double_value", "string_value", "int64_list", "double_list", "string_list")
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT64_LIST_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_LIST_FIELD_NUMBER: _ClassVar[int]
    STRING_LIST_FIELD_NUMBER: _ClassVar[int]
    bool_value: bool
    int64_value: int
    double_value: float
    string_value: str
    int64_list: Int64List
    double_list: DoubleList
    string_list: StringList
    def __init__(self, bool_value: _Optional[bool] = ..., int64_value: _Optional[int] = ..., double_value: _Optional[float] = ..., string_value: _Optional[str] = ..., int64_list: _Optional[_Union[Int64List, _Mapping]] = ..., double_list: _Optional[_Union[DoubleList, _Mapping]] = ..., string_list: _Optional[_Union[StringList, _Mapping]] = ...) -> None: ...

class Int64List(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, values: _Optional[_Iterable[int]] = ...) -> None: ...

class DoubleList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class StringList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...
