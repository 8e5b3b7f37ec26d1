from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FileFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILE_FORMAT_UNSPECIFIED: _ClassVar[FileFormat]
    FILE_FORMAT_CSV: _ClassVar[FileFormat]
    FILE_FORMAT_JSON_LINES: _ClassVar[FileFormat]
    FILE_FORMAT_PARQUET: _ClassVar[FileFormat]
    FILE_FORMAT_LABEL_STUDIO_JSON: _ClassVar[FileFormat]
    FILE_FORMAT_COCO_JSON: _ClassVar[FileFormat]
    FILE_FORMAT_YOLO: _ClassVar[FileFormat]

class Compression(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPRESSION_UNSPECIFIED: _ClassVar[Compression]
    COMPRESSION_NONE: _ClassVar[Compression]
    COMPRESSION_GZIP: _ClassVar[Compression]
    COMPRESSION_BZ2: _ClassVar[Compression]
    COMPRESSION_ZSTD: _ClassVar[Compression]
    COMPRESSION_SNAPPY: _ClassVar[Compression]
    COMPRESSION_LZ4: _ClassVar[Compression]
FILE_FORMAT_UNSPECIFIED: FileFormat
FILE_FORMAT_CSV: FileFormat
FILE_FORMAT_JSON_LINES: FileFormat
FILE_FORMAT_PARQUET: FileFormat
FILE_FORMAT_LABEL_STUDIO_JSON: FileFormat
FILE_FORMAT_COCO_JSON: FileFormat
FILE_FORMAT_YOLO: FileFormat
COMPRESSION_UNSPECIFIED: Compression
COMPRESSION_NONE: Compression
COMPRESSION_GZIP: Compression
COMPRESSION_BZ2: Compression
COMPRESSION_ZSTD: Compression
COMPRESSION_SNAPPY: Compression
COMPRESSION_LZ4: Compression

class CsvOptions(_message.Message):
    __slots__ = ("delimiter", "quote_char", "header", "column_names", "skip_rows", "null_values", "encoding")
    DELIMITER_FIELD_NUMBER: _ClassVar[int]
    QUOTE_CHAR_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    COLUMN_NAMES_FIELD_NUMBER: _ClassVar[int]
    SKIP_ROWS_FIELD_NUMBER: _ClassVar[int]
    NULL_VALUES_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    delimiter: str
    quote_char: str
    header: bool
    column_names: _containers.RepeatedScalarFieldContainer[str]
    skip_rows: int
    null_values: _containers.RepeatedScalarFieldContainer[str]
    encoding: str
    def __init__(self, delimiter: _Optional[str] = ..., quote_char: _Optional[str] = ..., header: _Optional[bool] = ..., column_names: _Optional[_Iterable[str]] = ..., skip_rows: _Optional[int] = ..., null_values: _Optional[_Iterable[str]] = ..., encoding: _Optional[str] = ...) -> None: ...

class JsonLinesOptions(_message.Message):
    __slots__ = ("ignore_unknown_keys",)
    IGNORE_UNKNOWN_KEYS_FIELD_NUMBER: _ClassVar[int]
    ignore_unknown_keys: bool
    def __init__(self, ignore_unknown_keys: _Optional[bool] = ...) -> None: ...

class ParquetOptions(_message.Message):
    __slots__ = ("row_group_rows",)
    ROW_GROUP_ROWS_FIELD_NUMBER: _ClassVar[int]
    row_group_rows: int
    def __init__(self, row_group_rows: _Optional[int] = ...) -> None: ...

class FormatSpec(_message.Message):
    __slots__ = ("format", "compression", "csv", "json_lines", "parquet")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    CSV_FIELD_NUMBER: _ClassVar[int]
    JSON_LINES_FIELD_NUMBER: _ClassVar[int]
    PARQUET_FIELD_NUMBER: _ClassVar[int]
    format: FileFormat
    compression: Compression
    csv: CsvOptions
    json_lines: JsonLinesOptions
    parquet: ParquetOptions
    def __init__(self, format: _Optional[_Union[FileFormat, str]] = ..., compression: _Optional[_Union[Compression, str]] = ..., csv: _Optional[_Union[CsvOptions, _Mapping]] = ..., json_lines: _Optional[_Union[JsonLinesOptions, _Mapping]] = ..., parquet: _Optional[_Union[ParquetOptions, _Mapping]] = ...) -> None: ...

class StorageOptions(_message.Message):
    __slots__ = ("region", "endpoint_override", "anonymous")
    REGION_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    ANONYMOUS_FIELD_NUMBER: _ClassVar[int]
    region: str
    endpoint_override: str
    anonymous: bool
    def __init__(self, region: _Optional[str] = ..., endpoint_override: _Optional[str] = ..., anonymous: _Optional[bool] = ...) -> None: ...
