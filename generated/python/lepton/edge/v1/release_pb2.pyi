import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from lepton.type.v1 import artifact_pb2 as _artifact_pb2
from lepton.type.v1 import model_format_pb2 as _model_format_pb2
from lepton.type.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelRelease(_message.Message):
    __slots__ = ("model_version", "artifact", "runtime_config", "health_check", "parameters", "entry_path", "format")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_CONFIG_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ENTRY_PATH_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    artifact: _artifact_pb2.ArtifactDescriptor
    runtime_config: RuntimeConfig
    health_check: HealthCheckConfig
    parameters: _containers.ScalarMap[str, str]
    entry_path: str
    format: _model_format_pb2.ModelFormat
    def __init__(self, model_version: _Optional[str] = ..., artifact: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ..., runtime_config: _Optional[_Union[RuntimeConfig, _Mapping]] = ..., health_check: _Optional[_Union[HealthCheckConfig, _Mapping]] = ..., parameters: _Optional[_Mapping[str, str]] = ..., entry_path: _Optional[str] = ..., format: _Optional[_Union[_model_format_pb2.ModelFormat, str]] = ...) -> None: ...

class RuntimeConfig(_message.Message):
    __slots__ = ("runtime", "execution_providers", "precision", "intra_op_threads", "options")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    INTRA_OP_THREADS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    runtime: str
    execution_providers: _containers.RepeatedScalarFieldContainer[str]
    precision: _tensor_pb2.DataType
    intra_op_threads: int
    options: _containers.ScalarMap[str, str]
    def __init__(self, runtime: _Optional[str] = ..., execution_providers: _Optional[_Iterable[str]] = ..., precision: _Optional[_Union[_tensor_pb2.DataType, str]] = ..., intra_op_threads: _Optional[int] = ..., options: _Optional[_Mapping[str, str]] = ...) -> None: ...

class HealthCheckConfig(_message.Message):
    __slots__ = ("timeout", "stability_period", "skip_inference_test")
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    STABILITY_PERIOD_FIELD_NUMBER: _ClassVar[int]
    SKIP_INFERENCE_TEST_FIELD_NUMBER: _ClassVar[int]
    timeout: _duration_pb2.Duration
    stability_period: _duration_pb2.Duration
    skip_inference_test: bool
    def __init__(self, timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., stability_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., skip_inference_test: _Optional[bool] = ...) -> None: ...
