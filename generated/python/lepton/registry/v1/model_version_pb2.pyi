import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.type.v1 import attestation_pb2 as _attestation_pb2
from lepton.type.v1 import dataset_reference_pb2 as _dataset_reference_pb2
from lepton.type.v1 import digest_pb2 as _digest_pb2
from lepton.type.v1 import error_pb2 as _error_pb2
from lepton.type.v1 import model_artifact_pb2 as _model_artifact_pb2
from lepton.type.v1 import model_signature_pb2 as _model_signature_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelVersionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_VERSION_STATE_UNSPECIFIED: _ClassVar[ModelVersionState]
    MODEL_VERSION_STATE_PENDING_REGISTRATION: _ClassVar[ModelVersionState]
    MODEL_VERSION_STATE_READY: _ClassVar[ModelVersionState]
    MODEL_VERSION_STATE_FAILED_REGISTRATION: _ClassVar[ModelVersionState]
MODEL_VERSION_STATE_UNSPECIFIED: ModelVersionState
MODEL_VERSION_STATE_PENDING_REGISTRATION: ModelVersionState
MODEL_VERSION_STATE_READY: ModelVersionState
MODEL_VERSION_STATE_FAILED_REGISTRATION: ModelVersionState

class ModelVersion(_message.Message):
    __slots__ = ("name", "description", "labels", "artifact", "format_version", "framework", "framework_version", "signature", "lineage", "metadata", "files", "state", "registration_error", "aliases", "upload_expire_time", "create_time", "update_time", "ready_time", "etag", "creator", "metrics", "attestations")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORK_VERSION_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    READY_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    ATTESTATIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    labels: _containers.ScalarMap[str, str]
    artifact: _model_artifact_pb2.ModelArtifact
    format_version: str
    framework: str
    framework_version: str
    signature: _model_signature_pb2.ModelSignature
    lineage: ModelLineage
    metadata: _containers.ScalarMap[str, str]
    files: _containers.RepeatedCompositeFieldContainer[ArtifactFile]
    state: ModelVersionState
    registration_error: _error_pb2.ErrorStatus
    aliases: _containers.RepeatedScalarFieldContainer[str]
    upload_expire_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    ready_time: _timestamp_pb2.Timestamp
    etag: str
    creator: str
    metrics: _containers.ScalarMap[str, float]
    attestations: _containers.RepeatedCompositeFieldContainer[_attestation_pb2.Attestation]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., artifact: _Optional[_Union[_model_artifact_pb2.ModelArtifact, _Mapping]] = ..., format_version: _Optional[str] = ..., framework: _Optional[str] = ..., framework_version: _Optional[str] = ..., signature: _Optional[_Union[_model_signature_pb2.ModelSignature, _Mapping]] = ..., lineage: _Optional[_Union[ModelLineage, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., files: _Optional[_Iterable[_Union[ArtifactFile, _Mapping]]] = ..., state: _Optional[_Union[ModelVersionState, str]] = ..., registration_error: _Optional[_Union[_error_pb2.ErrorStatus, _Mapping]] = ..., aliases: _Optional[_Iterable[str]] = ..., upload_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ready_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., creator: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., attestations: _Optional[_Iterable[_Union[_attestation_pb2.Attestation, _Mapping]]] = ...) -> None: ...

class ModelLineage(_message.Message):
    __slots__ = ("datasets", "training_job", "source_uri", "parent_model_version")
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    TRAINING_JOB_FIELD_NUMBER: _ClassVar[int]
    SOURCE_URI_FIELD_NUMBER: _ClassVar[int]
    PARENT_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[_dataset_reference_pb2.DatasetReference]
    training_job: str
    source_uri: str
    parent_model_version: str
    def __init__(self, datasets: _Optional[_Iterable[_Union[_dataset_reference_pb2.DatasetReference, _Mapping]]] = ..., training_job: _Optional[str] = ..., source_uri: _Optional[str] = ..., parent_model_version: _Optional[str] = ...) -> None: ...

class ArtifactFile(_message.Message):
    __slots__ = ("path", "size_bytes", "digest")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    path: str
    size_bytes: int
    digest: _digest_pb2.Digest
    def __init__(self, path: _Optional[str] = ..., size_bytes: _Optional[int] = ..., digest: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ...) -> None: ...
