from lepton.type.v1 import job_pb2 as _job_pb2
from lepton.type.v1 import model_format_pb2 as _model_format_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelImportJob(_message.Message):
    __slots__ = ("name", "source_uri", "format", "entry_path", "description", "labels", "status", "output_model_version", "detected_format", "creator")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_URI_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_PATH_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DETECTED_FORMAT_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    source_uri: str
    format: _model_format_pb2.ModelFormat
    entry_path: str
    description: str
    labels: _containers.ScalarMap[str, str]
    status: _job_pb2.JobStatus
    output_model_version: str
    detected_format: _model_format_pb2.ModelFormat
    creator: str
    def __init__(self, name: _Optional[str] = ..., source_uri: _Optional[str] = ..., format: _Optional[_Union[_model_format_pb2.ModelFormat, str]] = ..., entry_path: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[_job_pb2.JobStatus, _Mapping]] = ..., output_model_version: _Optional[str] = ..., detected_format: _Optional[_Union[_model_format_pb2.ModelFormat, str]] = ..., creator: _Optional[str] = ...) -> None: ...
