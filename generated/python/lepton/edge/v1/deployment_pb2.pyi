import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.edge.v1 import release_pb2 as _release_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Deployment(_message.Message):
    __slots__ = ("name", "display_name", "description", "labels", "target", "current_release", "latest_rollout", "rollout_active", "device_counts", "create_time", "update_time", "etag", "parameter_overrides")
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
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CURRENT_RELEASE_FIELD_NUMBER: _ClassVar[int]
    LATEST_ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    labels: _containers.ScalarMap[str, str]
    target: DeviceTarget
    current_release: _release_pb2.ModelRelease
    latest_rollout: str
    rollout_active: bool
    device_counts: DeploymentDeviceCounts
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    parameter_overrides: _containers.RepeatedCompositeFieldContainer[DeviceParameterOverride]
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., target: _Optional[_Union[DeviceTarget, _Mapping]] = ..., current_release: _Optional[_Union[_release_pb2.ModelRelease, _Mapping]] = ..., latest_rollout: _Optional[str] = ..., rollout_active: _Optional[bool] = ..., device_counts: _Optional[_Union[DeploymentDeviceCounts, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., parameter_overrides: _Optional[_Iterable[_Union[DeviceParameterOverride, _Mapping]]] = ...) -> None: ...

class DeviceParameterOverride(_message.Message):
    __slots__ = ("device", "parameters")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    device: str
    parameters: _containers.ScalarMap[str, str]
    def __init__(self, device: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ...) -> None: ...

class DeviceTarget(_message.Message):
    __slots__ = ("match_labels", "devices", "all_devices")
    class MatchLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MATCH_LABELS_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    ALL_DEVICES_FIELD_NUMBER: _ClassVar[int]
    match_labels: _containers.ScalarMap[str, str]
    devices: _containers.RepeatedScalarFieldContainer[str]
    all_devices: bool
    def __init__(self, match_labels: _Optional[_Mapping[str, str]] = ..., devices: _Optional[_Iterable[str]] = ..., all_devices: _Optional[bool] = ...) -> None: ...

class DeploymentDeviceCounts(_message.Message):
    __slots__ = ("targeted_count", "in_sync_count", "updating_count", "failed_count", "unreported_count")
    TARGETED_COUNT_FIELD_NUMBER: _ClassVar[int]
    IN_SYNC_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATING_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNREPORTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    targeted_count: int
    in_sync_count: int
    updating_count: int
    failed_count: int
    unreported_count: int
    def __init__(self, targeted_count: _Optional[int] = ..., in_sync_count: _Optional[int] = ..., updating_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., unreported_count: _Optional[int] = ...) -> None: ...
