import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from lepton.type.v1 import artifact_pb2 as _artifact_pb2
from lepton.type.v1 import attestation_pb2 as _attestation_pb2
from lepton.type.v1 import digest_pb2 as _digest_pb2
from lepton.type.v1 import model_format_pb2 as _model_format_pb2
from lepton.type.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReleaseFileRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RELEASE_FILE_ROLE_UNSPECIFIED: _ClassVar[ReleaseFileRole]
    RELEASE_FILE_ROLE_MODEL: _ClassVar[ReleaseFileRole]
    RELEASE_FILE_ROLE_TOKENIZER: _ClassVar[ReleaseFileRole]
    RELEASE_FILE_ROLE_CONFIGURATION: _ClassVar[ReleaseFileRole]
    RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS: _ClassVar[ReleaseFileRole]
RELEASE_FILE_ROLE_UNSPECIFIED: ReleaseFileRole
RELEASE_FILE_ROLE_MODEL: ReleaseFileRole
RELEASE_FILE_ROLE_TOKENIZER: ReleaseFileRole
RELEASE_FILE_ROLE_CONFIGURATION: ReleaseFileRole
RELEASE_FILE_ROLE_HEALTH_CHECK_VECTORS: ReleaseFileRole

class ModelRelease(_message.Message):
    __slots__ = ("model_version", "artifact", "runtime_config", "health_check", "parameters", "entry_path", "format", "files", "overridable_parameters", "release_digest", "signatures")
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
    FILES_FIELD_NUMBER: _ClassVar[int]
    OVERRIDABLE_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    artifact: _artifact_pb2.ArtifactDescriptor
    runtime_config: RuntimeConfig
    health_check: HealthCheckConfig
    parameters: _containers.ScalarMap[str, str]
    entry_path: str
    format: _model_format_pb2.ModelFormat
    files: _containers.RepeatedCompositeFieldContainer[ReleaseFile]
    overridable_parameters: _containers.RepeatedScalarFieldContainer[str]
    release_digest: _digest_pb2.Digest
    signatures: _containers.RepeatedCompositeFieldContainer[_attestation_pb2.AttestationSignature]
    def __init__(self, model_version: _Optional[str] = ..., artifact: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ..., runtime_config: _Optional[_Union[RuntimeConfig, _Mapping]] = ..., health_check: _Optional[_Union[HealthCheckConfig, _Mapping]] = ..., parameters: _Optional[_Mapping[str, str]] = ..., entry_path: _Optional[str] = ..., format: _Optional[_Union[_model_format_pb2.ModelFormat, str]] = ..., files: _Optional[_Iterable[_Union[ReleaseFile, _Mapping]]] = ..., overridable_parameters: _Optional[_Iterable[str]] = ..., release_digest: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ..., signatures: _Optional[_Iterable[_Union[_attestation_pb2.AttestationSignature, _Mapping]]] = ...) -> None: ...

class ReleaseFile(_message.Message):
    __slots__ = ("path", "artifact", "role")
    PATH_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    path: str
    artifact: _artifact_pb2.ArtifactDescriptor
    role: ReleaseFileRole
    def __init__(self, path: _Optional[str] = ..., artifact: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ..., role: _Optional[_Union[ReleaseFileRole, str]] = ...) -> None: ...

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
    __slots__ = ("timeout", "stability_period", "skip_inference_test", "vectors_path")
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    STABILITY_PERIOD_FIELD_NUMBER: _ClassVar[int]
    SKIP_INFERENCE_TEST_FIELD_NUMBER: _ClassVar[int]
    VECTORS_PATH_FIELD_NUMBER: _ClassVar[int]
    timeout: _duration_pb2.Duration
    stability_period: _duration_pb2.Duration
    skip_inference_test: bool
    vectors_path: str
    def __init__(self, timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., stability_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., skip_inference_test: _Optional[bool] = ..., vectors_path: _Optional[str] = ...) -> None: ...

class HealthCheckVectors(_message.Message):
    __slots__ = ("vectors",)
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    vectors: _containers.RepeatedCompositeFieldContainer[HealthCheckVector]
    def __init__(self, vectors: _Optional[_Iterable[_Union[HealthCheckVector, _Mapping]]] = ...) -> None: ...

class HealthCheckVector(_message.Message):
    __slots__ = ("inputs", "expected_outputs", "absolute_tolerance", "relative_tolerance")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    ABSOLUTE_TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedCompositeFieldContainer[TensorValue]
    expected_outputs: _containers.RepeatedCompositeFieldContainer[TensorValue]
    absolute_tolerance: float
    relative_tolerance: float
    def __init__(self, inputs: _Optional[_Iterable[_Union[TensorValue, _Mapping]]] = ..., expected_outputs: _Optional[_Iterable[_Union[TensorValue, _Mapping]]] = ..., absolute_tolerance: _Optional[float] = ..., relative_tolerance: _Optional[float] = ...) -> None: ...

class TensorValue(_message.Message):
    __slots__ = ("name", "data_type", "shape", "raw_contents")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    RAW_CONTENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    data_type: _tensor_pb2.DataType
    shape: _containers.RepeatedScalarFieldContainer[int]
    raw_contents: bytes
    def __init__(self, name: _Optional[str] = ..., data_type: _Optional[_Union[_tensor_pb2.DataType, str]] = ..., shape: _Optional[_Iterable[int]] = ..., raw_contents: _Optional[bytes] = ...) -> None: ...
