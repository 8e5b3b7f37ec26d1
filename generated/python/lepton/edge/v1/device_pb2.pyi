import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.edge.v1 import capabilities_pb2 as _capabilities_pb2
from lepton.edge.v1 import device_state_pb2 as _device_state_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeviceApprovalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_APPROVAL_STATE_UNSPECIFIED: _ClassVar[DeviceApprovalState]
    DEVICE_APPROVAL_STATE_PENDING: _ClassVar[DeviceApprovalState]
    DEVICE_APPROVAL_STATE_APPROVED: _ClassVar[DeviceApprovalState]
    DEVICE_APPROVAL_STATE_REJECTED: _ClassVar[DeviceApprovalState]
    DEVICE_APPROVAL_STATE_DECOMMISSIONED: _ClassVar[DeviceApprovalState]

class DeviceConnectionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_CONNECTION_STATE_UNSPECIFIED: _ClassVar[DeviceConnectionState]
    DEVICE_CONNECTION_STATE_NEVER_CONNECTED: _ClassVar[DeviceConnectionState]
    DEVICE_CONNECTION_STATE_ONLINE: _ClassVar[DeviceConnectionState]
    DEVICE_CONNECTION_STATE_OFFLINE: _ClassVar[DeviceConnectionState]
DEVICE_APPROVAL_STATE_UNSPECIFIED: DeviceApprovalState
DEVICE_APPROVAL_STATE_PENDING: DeviceApprovalState
DEVICE_APPROVAL_STATE_APPROVED: DeviceApprovalState
DEVICE_APPROVAL_STATE_REJECTED: DeviceApprovalState
DEVICE_APPROVAL_STATE_DECOMMISSIONED: DeviceApprovalState
DEVICE_CONNECTION_STATE_UNSPECIFIED: DeviceConnectionState
DEVICE_CONNECTION_STATE_NEVER_CONNECTED: DeviceConnectionState
DEVICE_CONNECTION_STATE_ONLINE: DeviceConnectionState
DEVICE_CONNECTION_STATE_OFFLINE: DeviceConnectionState

class Device(_message.Message):
    __slots__ = ("name", "display_name", "description", "labels", "approval_state", "connection_state", "report_interval", "capabilities", "desired_state", "acknowledged_generation", "reported_state", "last_heartbeat", "boot_id", "agent_version", "last_seen_time", "create_time", "update_time", "register_time", "etag")
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
    APPROVAL_STATE_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_STATE_FIELD_NUMBER: _ClassVar[int]
    REPORT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    DESIRED_STATE_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    REPORTED_STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    BOOT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REGISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    labels: _containers.ScalarMap[str, str]
    approval_state: DeviceApprovalState
    connection_state: DeviceConnectionState
    report_interval: _duration_pb2.Duration
    capabilities: _capabilities_pb2.DeviceCapabilities
    desired_state: _device_state_pb2.DesiredState
    acknowledged_generation: int
    reported_state: _device_state_pb2.ReportedState
    last_heartbeat: _device_state_pb2.Heartbeat
    boot_id: str
    agent_version: str
    last_seen_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    register_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., approval_state: _Optional[_Union[DeviceApprovalState, str]] = ..., connection_state: _Optional[_Union[DeviceConnectionState, str]] = ..., report_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., capabilities: _Optional[_Union[_capabilities_pb2.DeviceCapabilities, _Mapping]] = ..., desired_state: _Optional[_Union[_device_state_pb2.DesiredState, _Mapping]] = ..., acknowledged_generation: _Optional[int] = ..., reported_state: _Optional[_Union[_device_state_pb2.ReportedState, _Mapping]] = ..., last_heartbeat: _Optional[_Union[_device_state_pb2.Heartbeat, _Mapping]] = ..., boot_id: _Optional[str] = ..., agent_version: _Optional[str] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., register_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...
