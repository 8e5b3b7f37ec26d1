from lepton.data.v1 import file_format_pb2 as _file_format_pb2
from lepton.type.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExportJob(_message.Message):
    __slots__ = ("name", "version", "destination_uri", "format", "storage_options", "columns", "overwrite", "max_rows_per_file", "labels", "status", "output_uris", "written_row_count", "written_bytes")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_URI_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    STORAGE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    MAX_ROWS_PER_FILE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_URIS_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    destination_uri: str
    format: _file_format_pb2.FormatSpec
    storage_options: _file_format_pb2.StorageOptions
    columns: _containers.RepeatedScalarFieldContainer[str]
    overwrite: bool
    max_rows_per_file: int
    labels: _containers.ScalarMap[str, str]
    status: _job_pb2.JobStatus
    output_uris: _containers.RepeatedScalarFieldContainer[str]
    written_row_count: int
    written_bytes: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., destination_uri: _Optional[str] = ..., format: _Optional[_Union[_file_format_pb2.FormatSpec, _Mapping]] = ..., storage_options: _Optional[_Union[_file_format_pb2.StorageOptions, _Mapping]] = ..., columns: _Optional[_Iterable[str]] = ..., overwrite: _Optional[bool] = ..., max_rows_per_file: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[_job_pb2.JobStatus, _Mapping]] = ..., output_uris: _Optional[_Iterable[str]] = ..., written_row_count: _Optional[int] = ..., written_bytes: _Optional[int] = ...) -> None: ...
