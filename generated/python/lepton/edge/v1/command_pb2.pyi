import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.type.v1 import error_pb2 as _error_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeviceCommandState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_COMMAND_STATE_UNSPECIFIED: _ClassVar[DeviceCommandState]
    DEVICE_COMMAND_STATE_PENDING: _ClassVar[DeviceCommandState]
    DEVICE_COMMAND_STATE_DELIVERED: _ClassVar[DeviceCommandState]
    DEVICE_COMMAND_STATE_ACCEPTED: _ClassVar[DeviceCommandState]
    DEVICE_COMMAND_STATE_SUCCEEDED: _ClassVar[DeviceCommandState]
    DEVICE_COMMAND_STATE_FAILED: _ClassVar[DeviceCommandState]
    DEVICE_COMMAND_STATE_REJECTED: _ClassVar[DeviceCommandState]
    DEVICE_COMMAND_STATE_EXPIRED: _ClassVar[DeviceCommandState]
    DEVICE_COMMAND_STATE_CANCELLED: _ClassVar[DeviceCommandState]
DEVICE_COMMAND_STATE_UNSPECIFIED: DeviceCommandState
DEVICE_COMMAND_STATE_PENDING: DeviceCommandState
DEVICE_COMMAND_STATE_DELIVERED: DeviceCommandState
DEVICE_COMMAND_STATE_ACCEPTED: DeviceCommandState
DEVICE_COMMAND_STATE_SUCCEEDED: DeviceCommandState
DEVICE_COMMAND_STATE_FAILED: DeviceCommandState
DEVICE_COMMAND_STATE_REJECTED: DeviceCommandState
DEVICE_COMMAND_STATE_EXPIRED: DeviceCommandState
DEVICE_COMMAND_STATE_CANCELLED: DeviceCommandState

class DeviceCommand(_message.Message):
    __slots__ = ("name", "type", "parameters", "idempotency_key", "ttl", "expire_time", "state", "error", "result", "create_time", "deliver_time", "end_time")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ResultEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELIVER_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    parameters: _containers.ScalarMap[str, str]
    idempotency_key: str
    ttl: _duration_pb2.Duration
    expire_time: _timestamp_pb2.Timestamp
    state: DeviceCommandState
    error: _error_pb2.ErrorStatus
    result: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    deliver_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ..., idempotency_key: _Optional[str] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[DeviceCommandState, str]] = ..., error: _Optional[_Union[_error_pb2.ErrorStatus, _Mapping]] = ..., result: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deliver_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
