from lepton.data.v1 import dataset_pb2 as _dataset_pb2
from lepton.data.v1 import file_format_pb2 as _file_format_pb2
from lepton.type.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImportJob(_message.Message):
    __slots__ = ("name", "source_uris", "format", "storage_options", "mode", "expected_parent_version", "arrow_schema", "description", "tags", "labels", "status", "output_version", "source_file_count", "source_bytes", "read_row_count")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_URIS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    STORAGE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PARENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARROW_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_BYTES_FIELD_NUMBER: _ClassVar[int]
    READ_ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    source_uris: _containers.RepeatedScalarFieldContainer[str]
    format: _file_format_pb2.FormatSpec
    storage_options: _file_format_pb2.StorageOptions
    mode: _dataset_pb2.WriteMode
    expected_parent_version: str
    arrow_schema: bytes
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    status: _job_pb2.JobStatus
    output_version: str
    source_file_count: int
    source_bytes: int
    read_row_count: int
    def __init__(self, name: _Optional[str] = ..., source_uris: _Optional[_Iterable[str]] = ..., format: _Optional[_Union[_file_format_pb2.FormatSpec, _Mapping]] = ..., storage_options: _Optional[_Union[_file_format_pb2.StorageOptions, _Mapping]] = ..., mode: _Optional[_Union[_dataset_pb2.WriteMode, str]] = ..., expected_parent_version: _Optional[str] = ..., arrow_schema: _Optional[bytes] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[_job_pb2.JobStatus, _Mapping]] = ..., output_version: _Optional[str] = ..., source_file_count: _Optional[int] = ..., source_bytes: _Optional[int] = ..., read_row_count: _Optional[int] = ...) -> None: ...
