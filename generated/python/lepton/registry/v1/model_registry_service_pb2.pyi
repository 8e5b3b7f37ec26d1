from google.protobuf import field_mask_pb2 as _field_mask_pb2
from lepton.registry.v1 import conversion_job_pb2 as _conversion_job_pb2
from lepton.registry.v1 import model_pb2 as _model_pb2
from lepton.registry.v1 import model_event_pb2 as _model_event_pb2
from lepton.registry.v1 import model_import_job_pb2 as _model_import_job_pb2
from lepton.registry.v1 import model_version_pb2 as _model_version_pb2
from lepton.type.v1 import artifact_pb2 as _artifact_pb2
from lepton.type.v1 import attestation_pb2 as _attestation_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateModelRequest(_message.Message):
    __slots__ = ("model", "model_id", "request_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.Model
    model_id: str
    request_id: str
    def __init__(self, model: _Optional[_Union[_model_pb2.Model, _Mapping]] = ..., model_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.Model
    def __init__(self, model: _Optional[_Union[_model_pb2.Model, _Mapping]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.Model
    def __init__(self, model: _Optional[_Union[_model_pb2.Model, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "order_by")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "next_page_token")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_model_pb2.Model]
    next_page_token: str
    def __init__(self, models: _Optional[_Iterable[_Union[_model_pb2.Model, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateModelRequest(_message.Message):
    __slots__ = ("model", "update_mask")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.Model
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, model: _Optional[_Union[_model_pb2.Model, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.Model
    def __init__(self, model: _Optional[_Union[_model_pb2.Model, _Mapping]] = ...) -> None: ...

class DeleteModelRequest(_message.Message):
    __slots__ = ("name", "force", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    force: bool
    etag: str
    def __init__(self, name: _Optional[str] = ..., force: _Optional[bool] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteModelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateModelVersionRequest(_message.Message):
    __slots__ = ("parent", "model_version", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    model_version: _model_version_pb2.ModelVersion
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., model_version: _Optional[_Union[_model_version_pb2.ModelVersion, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateModelVersionResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _model_version_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_model_version_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class GetModelVersionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetModelVersionResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _model_version_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_model_version_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class ListModelVersionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListModelVersionsResponse(_message.Message):
    __slots__ = ("model_versions", "next_page_token")
    MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model_versions: _containers.RepeatedCompositeFieldContainer[_model_version_pb2.ModelVersion]
    next_page_token: str
    def __init__(self, model_versions: _Optional[_Iterable[_Union[_model_version_pb2.ModelVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateModelVersionRequest(_message.Message):
    __slots__ = ("model_version", "update_mask")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    model_version: _model_version_pb2.ModelVersion
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, model_version: _Optional[_Union[_model_version_pb2.ModelVersion, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateModelVersionResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _model_version_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_model_version_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class DeleteModelVersionRequest(_message.Message):
    __slots__ = ("name", "force", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    force: bool
    etag: str
    def __init__(self, name: _Optional[str] = ..., force: _Optional[bool] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteModelVersionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UploadModelVersionArtifactRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ModelVersionUploadHeader
    chunk: _artifact_pb2.ArtifactChunk
    def __init__(self, header: _Optional[_Union[ModelVersionUploadHeader, _Mapping]] = ..., chunk: _Optional[_Union[_artifact_pb2.ArtifactChunk, _Mapping]] = ...) -> None: ...

class ModelVersionUploadHeader(_message.Message):
    __slots__ = ("model_version", "artifact")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    artifact: _artifact_pb2.ArtifactDescriptor
    def __init__(self, model_version: _Optional[str] = ..., artifact: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ...) -> None: ...

class UploadModelVersionArtifactResponse(_message.Message):
    __slots__ = ("committed_offset", "model_version")
    COMMITTED_OFFSET_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    committed_offset: int
    model_version: _model_version_pb2.ModelVersion
    def __init__(self, committed_offset: _Optional[int] = ..., model_version: _Optional[_Union[_model_version_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class GetModelVersionUploadStatusRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetModelVersionUploadStatusResponse(_message.Message):
    __slots__ = ("state", "committed_offset", "artifact")
    STATE_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_OFFSET_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    state: _model_version_pb2.ModelVersionState
    committed_offset: int
    artifact: _artifact_pb2.ArtifactDescriptor
    def __init__(self, state: _Optional[_Union[_model_version_pb2.ModelVersionState, str]] = ..., committed_offset: _Optional[int] = ..., artifact: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ...) -> None: ...

class DownloadModelVersionArtifactRequest(_message.Message):
    __slots__ = ("name", "offset", "length_bytes", "chunk_size_bytes", "file_path")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    name: str
    offset: int
    length_bytes: int
    chunk_size_bytes: int
    file_path: str
    def __init__(self, name: _Optional[str] = ..., offset: _Optional[int] = ..., length_bytes: _Optional[int] = ..., chunk_size_bytes: _Optional[int] = ..., file_path: _Optional[str] = ...) -> None: ...

class DownloadModelVersionArtifactResponse(_message.Message):
    __slots__ = ("artifact", "chunk")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    artifact: _artifact_pb2.ArtifactDescriptor
    chunk: _artifact_pb2.ArtifactChunk
    def __init__(self, artifact: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ..., chunk: _Optional[_Union[_artifact_pb2.ArtifactChunk, _Mapping]] = ...) -> None: ...

class SetModelAliasRequest(_message.Message):
    __slots__ = ("name", "model_version", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    model_version: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., model_version: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class SetModelAliasResponse(_message.Message):
    __slots__ = ("model", "previous_model_version")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.Model
    previous_model_version: str
    def __init__(self, model: _Optional[_Union[_model_pb2.Model, _Mapping]] = ..., previous_model_version: _Optional[str] = ...) -> None: ...

class DeleteModelAliasRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteModelAliasResponse(_message.Message):
    __slots__ = ("model", "previous_model_version")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.Model
    previous_model_version: str
    def __init__(self, model: _Optional[_Union[_model_pb2.Model, _Mapping]] = ..., previous_model_version: _Optional[str] = ...) -> None: ...

class WatchModelEventsRequest(_message.Message):
    __slots__ = ("models", "types", "start_sequence", "from_now")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    START_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FROM_NOW_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    types: _containers.RepeatedScalarFieldContainer[_model_event_pb2.ModelEventType]
    start_sequence: int
    from_now: bool
    def __init__(self, models: _Optional[_Iterable[str]] = ..., types: _Optional[_Iterable[_Union[_model_event_pb2.ModelEventType, str]]] = ..., start_sequence: _Optional[int] = ..., from_now: _Optional[bool] = ...) -> None: ...

class WatchModelEventsResponse(_message.Message):
    __slots__ = ("events", "start_truncated")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    START_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_model_event_pb2.ModelEvent]
    start_truncated: bool
    def __init__(self, events: _Optional[_Iterable[_Union[_model_event_pb2.ModelEvent, _Mapping]]] = ..., start_truncated: _Optional[bool] = ...) -> None: ...

class AttestModelVersionRequest(_message.Message):
    __slots__ = ("name", "attestation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    attestation: _attestation_pb2.Attestation
    def __init__(self, name: _Optional[str] = ..., attestation: _Optional[_Union[_attestation_pb2.Attestation, _Mapping]] = ...) -> None: ...

class AttestModelVersionResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _model_version_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_model_version_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class CreateConversionJobRequest(_message.Message):
    __slots__ = ("parent", "conversion_job_id", "conversion_job", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_JOB_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    conversion_job_id: str
    conversion_job: _conversion_job_pb2.ConversionJob
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., conversion_job_id: _Optional[str] = ..., conversion_job: _Optional[_Union[_conversion_job_pb2.ConversionJob, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateConversionJobResponse(_message.Message):
    __slots__ = ("conversion_job",)
    CONVERSION_JOB_FIELD_NUMBER: _ClassVar[int]
    conversion_job: _conversion_job_pb2.ConversionJob
    def __init__(self, conversion_job: _Optional[_Union[_conversion_job_pb2.ConversionJob, _Mapping]] = ...) -> None: ...

class GetConversionJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetConversionJobResponse(_message.Message):
    __slots__ = ("conversion_job",)
    CONVERSION_JOB_FIELD_NUMBER: _ClassVar[int]
    conversion_job: _conversion_job_pb2.ConversionJob
    def __init__(self, conversion_job: _Optional[_Union[_conversion_job_pb2.ConversionJob, _Mapping]] = ...) -> None: ...

class ListConversionJobsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListConversionJobsResponse(_message.Message):
    __slots__ = ("conversion_jobs", "next_page_token")
    CONVERSION_JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversion_jobs: _containers.RepeatedCompositeFieldContainer[_conversion_job_pb2.ConversionJob]
    next_page_token: str
    def __init__(self, conversion_jobs: _Optional[_Iterable[_Union[_conversion_job_pb2.ConversionJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelConversionJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelConversionJobResponse(_message.Message):
    __slots__ = ("conversion_job",)
    CONVERSION_JOB_FIELD_NUMBER: _ClassVar[int]
    conversion_job: _conversion_job_pb2.ConversionJob
    def __init__(self, conversion_job: _Optional[_Union[_conversion_job_pb2.ConversionJob, _Mapping]] = ...) -> None: ...

class WatchConversionJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchConversionJobResponse(_message.Message):
    __slots__ = ("conversion_job",)
    CONVERSION_JOB_FIELD_NUMBER: _ClassVar[int]
    conversion_job: _conversion_job_pb2.ConversionJob
    def __init__(self, conversion_job: _Optional[_Union[_conversion_job_pb2.ConversionJob, _Mapping]] = ...) -> None: ...

class CreateModelImportJobRequest(_message.Message):
    __slots__ = ("parent", "import_job_id", "model_import_job", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    IMPORT_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_IMPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    import_job_id: str
    model_import_job: _model_import_job_pb2.ModelImportJob
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., import_job_id: _Optional[str] = ..., model_import_job: _Optional[_Union[_model_import_job_pb2.ModelImportJob, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateModelImportJobResponse(_message.Message):
    __slots__ = ("model_import_job",)
    MODEL_IMPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    model_import_job: _model_import_job_pb2.ModelImportJob
    def __init__(self, model_import_job: _Optional[_Union[_model_import_job_pb2.ModelImportJob, _Mapping]] = ...) -> None: ...

class GetModelImportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetModelImportJobResponse(_message.Message):
    __slots__ = ("model_import_job",)
    MODEL_IMPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    model_import_job: _model_import_job_pb2.ModelImportJob
    def __init__(self, model_import_job: _Optional[_Union[_model_import_job_pb2.ModelImportJob, _Mapping]] = ...) -> None: ...

class ListModelImportJobsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListModelImportJobsResponse(_message.Message):
    __slots__ = ("model_import_jobs", "next_page_token")
    MODEL_IMPORT_JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model_import_jobs: _containers.RepeatedCompositeFieldContainer[_model_import_job_pb2.ModelImportJob]
    next_page_token: str
    def __init__(self, model_import_jobs: _Optional[_Iterable[_Union[_model_import_job_pb2.ModelImportJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelModelImportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelModelImportJobResponse(_message.Message):
    __slots__ = ("model_import_job",)
    MODEL_IMPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    model_import_job: _model_import_job_pb2.ModelImportJob
    def __init__(self, model_import_job: _Optional[_Union[_model_import_job_pb2.ModelImportJob, _Mapping]] = ...) -> None: ...

class WatchModelImportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchModelImportJobResponse(_message.Message):
    __slots__ = ("model_import_job",)
    MODEL_IMPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    model_import_job: _model_import_job_pb2.ModelImportJob
    def __init__(self, model_import_job: _Optional[_Union[_model_import_job_pb2.ModelImportJob, _Mapping]] = ...) -> None: ...
