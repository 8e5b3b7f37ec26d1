import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_EVENT_TYPE_UNSPECIFIED: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_MODEL_CREATED: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_MODEL_UPDATED: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_MODEL_DELETED: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_VERSION_CREATED: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_VERSION_READY: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_VERSION_FAILED: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_VERSION_UPDATED: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_VERSION_DELETED: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_ALIAS_SET: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_ALIAS_DELETED: _ClassVar[ModelEventType]
    MODEL_EVENT_TYPE_VERSION_ATTESTED: _ClassVar[ModelEventType]
MODEL_EVENT_TYPE_UNSPECIFIED: ModelEventType
MODEL_EVENT_TYPE_MODEL_CREATED: ModelEventType
MODEL_EVENT_TYPE_MODEL_UPDATED: ModelEventType
MODEL_EVENT_TYPE_MODEL_DELETED: ModelEventType
MODEL_EVENT_TYPE_VERSION_CREATED: ModelEventType
MODEL_EVENT_TYPE_VERSION_READY: ModelEventType
MODEL_EVENT_TYPE_VERSION_FAILED: ModelEventType
MODEL_EVENT_TYPE_VERSION_UPDATED: ModelEventType
MODEL_EVENT_TYPE_VERSION_DELETED: ModelEventType
MODEL_EVENT_TYPE_ALIAS_SET: ModelEventType
MODEL_EVENT_TYPE_ALIAS_DELETED: ModelEventType
MODEL_EVENT_TYPE_VERSION_ATTESTED: ModelEventType

class ModelEvent(_message.Message):
    __slots__ = ("sequence", "type", "time", "model", "model_version", "alias", "previous_model_version")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    type: ModelEventType
    time: _timestamp_pb2.Timestamp
    model: str
    model_version: str
    alias: str
    previous_model_version: str
    def __init__(self, sequence: _Optional[int] = ..., type: _Optional[_Union[ModelEventType, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ..., alias: _Optional[str] = ..., previous_model_version: _Optional[str] = ...) -> None: ...
