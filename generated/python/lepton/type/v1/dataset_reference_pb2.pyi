from lepton.type.v1 import digest_pb2 as _digest_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DatasetRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATASET_ROLE_UNSPECIFIED: _ClassVar[DatasetRole]
    DATASET_ROLE_TRAIN: _ClassVar[DatasetRole]
    DATASET_ROLE_VALIDATION: _ClassVar[DatasetRole]
    DATASET_ROLE_TEST: _ClassVar[DatasetRole]
    DATASET_ROLE_OTHER: _ClassVar[DatasetRole]
DATASET_ROLE_UNSPECIFIED: DatasetRole
DATASET_ROLE_TRAIN: DatasetRole
DATASET_ROLE_VALIDATION: DatasetRole
DATASET_ROLE_TEST: DatasetRole
DATASET_ROLE_OTHER: DatasetRole

class DatasetReference(_message.Message):
    __slots__ = ("dataset_version", "uri", "role", "content_digest")
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    dataset_version: str
    uri: str
    role: DatasetRole
    content_digest: _digest_pb2.Digest
    def __init__(self, dataset_version: _Optional[str] = ..., uri: _Optional[str] = ..., role: _Optional[_Union[DatasetRole, str]] = ..., content_digest: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ...) -> None: ...
