from lepton.type.v1 import artifact_pb2 as _artifact_pb2
from lepton.type.v1 import model_format_pb2 as _model_format_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelArtifact(_message.Message):
    __slots__ = ("descriptor", "format", "entry_path")
    DESCRIPTOR_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_PATH_FIELD_NUMBER: _ClassVar[int]
    descriptor: _artifact_pb2.ArtifactDescriptor
    format: _model_format_pb2.ModelFormat
    entry_path: str
    def __init__(self, descriptor: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ..., format: _Optional[_Union[_model_format_pb2.ModelFormat, str]] = ..., entry_path: _Optional[str] = ...) -> None: ...
