import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.type.v1 import digest_pb2 as _digest_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WriteMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WRITE_MODE_UNSPECIFIED: _ClassVar[WriteMode]
    WRITE_MODE_APPEND: _ClassVar[WriteMode]
    WRITE_MODE_OVERWRITE: _ClassVar[WriteMode]

class VersionOrigin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERSION_ORIGIN_UNSPECIFIED: _ClassVar[VersionOrigin]
    VERSION_ORIGIN_WRITE: _ClassVar[VersionOrigin]
    VERSION_ORIGIN_IMPORT: _ClassVar[VersionOrigin]
    VERSION_ORIGIN_PIPELINE: _ClassVar[VersionOrigin]
    VERSION_ORIGIN_ANNOTATION_EXPORT: _ClassVar[VersionOrigin]
WRITE_MODE_UNSPECIFIED: WriteMode
WRITE_MODE_APPEND: WriteMode
WRITE_MODE_OVERWRITE: WriteMode
VERSION_ORIGIN_UNSPECIFIED: VersionOrigin
VERSION_ORIGIN_WRITE: VersionOrigin
VERSION_ORIGIN_IMPORT: VersionOrigin
VERSION_ORIGIN_PIPELINE: VersionOrigin
VERSION_ORIGIN_ANNOTATION_EXPORT: VersionOrigin

class Dataset(_message.Message):
    __slots__ = ("name", "display_name", "description", "labels", "create_time", "update_time", "etag", "head_version", "version_count")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    HEAD_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    head_version: str
    version_count: int
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., head_version: _Optional[str] = ..., version_count: _Optional[int] = ...) -> None: ...

class Field(_message.Message):
    __slots__ = ("name", "type", "nullable")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NULLABLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    nullable: bool
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., nullable: _Optional[bool] = ...) -> None: ...

class Schema(_message.Message):
    __slots__ = ("arrow_schema", "fields")
    ARROW_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    arrow_schema: bytes
    fields: _containers.RepeatedCompositeFieldContainer[Field]
    def __init__(self, arrow_schema: _Optional[bytes] = ..., fields: _Optional[_Iterable[_Union[Field, _Mapping]]] = ...) -> None: ...

class Lineage(_message.Message):
    __slots__ = ("origin", "source", "input_versions", "transform_fingerprint", "request_id")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INPUT_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    TRANSFORM_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    origin: VersionOrigin
    source: str
    input_versions: _containers.RepeatedScalarFieldContainer[str]
    transform_fingerprint: _digest_pb2.Digest
    request_id: str
    def __init__(self, origin: _Optional[_Union[VersionOrigin, str]] = ..., source: _Optional[str] = ..., input_versions: _Optional[_Iterable[str]] = ..., transform_fingerprint: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DatasetVersion(_message.Message):
    __slots__ = ("name", "sequence_number", "parent_version", "write_mode", "schema", "row_count", "size_bytes", "content_digest", "create_time", "tags", "description", "lineage")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PARENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    WRITE_MODE_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CONTENT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    sequence_number: int
    parent_version: str
    write_mode: WriteMode
    schema: Schema
    row_count: int
    size_bytes: int
    content_digest: _digest_pb2.Digest
    create_time: _timestamp_pb2.Timestamp
    tags: _containers.RepeatedScalarFieldContainer[str]
    description: str
    lineage: Lineage
    def __init__(self, name: _Optional[str] = ..., sequence_number: _Optional[int] = ..., parent_version: _Optional[str] = ..., write_mode: _Optional[_Union[WriteMode, str]] = ..., schema: _Optional[_Union[Schema, _Mapping]] = ..., row_count: _Optional[int] = ..., size_bytes: _Optional[int] = ..., content_digest: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tags: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., lineage: _Optional[_Union[Lineage, _Mapping]] = ...) -> None: ...

class VersionTag(_message.Message):
    __slots__ = ("name", "version", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...
