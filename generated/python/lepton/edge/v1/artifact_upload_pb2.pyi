from lepton.type.v1 import artifact_pb2 as _artifact_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArtifactUploadHeader(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: _artifact_pb2.ArtifactDescriptor
    def __init__(self, artifact: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ...) -> None: ...
