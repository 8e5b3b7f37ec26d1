import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.edge.v1 import release_pb2 as _release_pb2
from lepton.edge.v1 import update_window_pb2 as _update_window_pb2
from lepton.type.v1 import digest_pb2 as _digest_pb2
from lepton.type.v1 import error_pb2 as _error_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UpdatePhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPDATE_PHASE_UNSPECIFIED: _ClassVar[UpdatePhase]
    UPDATE_PHASE_QUEUED: _ClassVar[UpdatePhase]
    UPDATE_PHASE_DOWNLOADING: _ClassVar[UpdatePhase]
    UPDATE_PHASE_VERIFYING: _ClassVar[UpdatePhase]
    UPDATE_PHASE_INSTALLING: _ClassVar[UpdatePhase]
    UPDATE_PHASE_HEALTH_CHECKING: _ClassVar[UpdatePhase]
    UPDATE_PHASE_COMMITTED: _ClassVar[UpdatePhase]
    UPDATE_PHASE_FAILED: _ClassVar[UpdatePhase]
    UPDATE_PHASE_ROLLED_BACK: _ClassVar[UpdatePhase]
    UPDATE_PHASE_AWAITING_INSTALL_WINDOW: _ClassVar[UpdatePhase]

class HealthState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_STATE_UNSPECIFIED: _ClassVar[HealthState]
    HEALTH_STATE_HEALTHY: _ClassVar[HealthState]
    HEALTH_STATE_DEGRADED: _ClassVar[HealthState]
    HEALTH_STATE_UNHEALTHY: _ClassVar[HealthState]
UPDATE_PHASE_UNSPECIFIED: UpdatePhase
UPDATE_PHASE_QUEUED: UpdatePhase
UPDATE_PHASE_DOWNLOADING: UpdatePhase
UPDATE_PHASE_VERIFYING: UpdatePhase
UPDATE_PHASE_INSTALLING: UpdatePhase
UPDATE_PHASE_HEALTH_CHECKING: UpdatePhase
UPDATE_PHASE_COMMITTED: UpdatePhase
UPDATE_PHASE_FAILED: UpdatePhase
UPDATE_PHASE_ROLLED_BACK: UpdatePhase
UPDATE_PHASE_AWAITING_INSTALL_WINDOW: UpdatePhase
HEALTH_STATE_UNSPECIFIED: HealthState
HEALTH_STATE_HEALTHY: HealthState
HEALTH_STATE_DEGRADED: HealthState
HEALTH_STATE_UNHEALTHY: HealthState

class DesiredState(_message.Message):
    __slots__ = ("generation", "deployments", "update_time")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    generation: int
    deployments: _containers.RepeatedCompositeFieldContainer[DesiredDeployment]
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, generation: _Optional[int] = ..., deployments: _Optional[_Iterable[_Union[DesiredDeployment, _Mapping]]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DesiredDeployment(_message.Message):
    __slots__ = ("deployment", "rollout", "release", "parameter_overrides", "install_windows")
    class ParameterOverridesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    INSTALL_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    rollout: str
    release: _release_pb2.ModelRelease
    parameter_overrides: _containers.ScalarMap[str, str]
    install_windows: _containers.RepeatedCompositeFieldContainer[_update_window_pb2.UpdateWindow]
    def __init__(self, deployment: _Optional[str] = ..., rollout: _Optional[str] = ..., release: _Optional[_Union[_release_pb2.ModelRelease, _Mapping]] = ..., parameter_overrides: _Optional[_Mapping[str, str]] = ..., install_windows: _Optional[_Iterable[_Union[_update_window_pb2.UpdateWindow, _Mapping]]] = ...) -> None: ...

class ReportedState(_message.Message):
    __slots__ = ("applied_generation", "deployments", "health", "report_time", "receive_time")
    APPLIED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    REPORT_TIME_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    applied_generation: int
    deployments: _containers.RepeatedCompositeFieldContainer[ReportedDeployment]
    health: HealthState
    report_time: _timestamp_pb2.Timestamp
    receive_time: _timestamp_pb2.Timestamp
    def __init__(self, applied_generation: _Optional[int] = ..., deployments: _Optional[_Iterable[_Union[ReportedDeployment, _Mapping]]] = ..., health: _Optional[_Union[HealthState, str]] = ..., report_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReportedDeployment(_message.Message):
    __slots__ = ("deployment", "running", "last_update", "health")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    running: InstalledRelease
    last_update: UpdateAttempt
    health: HealthState
    def __init__(self, deployment: _Optional[str] = ..., running: _Optional[_Union[InstalledRelease, _Mapping]] = ..., last_update: _Optional[_Union[UpdateAttempt, _Mapping]] = ..., health: _Optional[_Union[HealthState, str]] = ...) -> None: ...

class InstalledRelease(_message.Message):
    __slots__ = ("model_version", "artifact_digest", "rollout", "commit_time")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    COMMIT_TIME_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    artifact_digest: _digest_pb2.Digest
    rollout: str
    commit_time: _timestamp_pb2.Timestamp
    def __init__(self, model_version: _Optional[str] = ..., artifact_digest: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ..., rollout: _Optional[str] = ..., commit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpdateAttempt(_message.Message):
    __slots__ = ("model_version", "artifact_digest", "rollout", "generation", "phase", "downloaded_bytes", "total_bytes", "error", "start_time", "end_time")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADED_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    artifact_digest: _digest_pb2.Digest
    rollout: str
    generation: int
    phase: UpdatePhase
    downloaded_bytes: int
    total_bytes: int
    error: _error_pb2.ErrorStatus
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, model_version: _Optional[str] = ..., artifact_digest: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ..., rollout: _Optional[str] = ..., generation: _Optional[int] = ..., phase: _Optional[_Union[UpdatePhase, str]] = ..., downloaded_bytes: _Optional[int] = ..., total_bytes: _Optional[int] = ..., error: _Optional[_Union[_error_pb2.ErrorStatus, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("time", "health", "health_message", "uptime", "resource_usage", "outbox")
    TIME_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HEALTH_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    UPTIME_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_USAGE_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    health: HealthState
    health_message: str
    uptime: _duration_pb2.Duration
    resource_usage: ResourceUsage
    outbox: OutboxStatus
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., health: _Optional[_Union[HealthState, str]] = ..., health_message: _Optional[str] = ..., uptime: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., resource_usage: _Optional[_Union[ResourceUsage, _Mapping]] = ..., outbox: _Optional[_Union[OutboxStatus, _Mapping]] = ...) -> None: ...

class ResourceUsage(_message.Message):
    __slots__ = ("cpu_percent", "memory_used_bytes", "storage_free_bytes", "accelerator_percent", "temperature_celsius")
    class AcceleratorPercentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FREE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ACCELERATOR_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    cpu_percent: float
    memory_used_bytes: int
    storage_free_bytes: int
    accelerator_percent: _containers.ScalarMap[str, float]
    temperature_celsius: float
    def __init__(self, cpu_percent: _Optional[float] = ..., memory_used_bytes: _Optional[int] = ..., storage_free_bytes: _Optional[int] = ..., accelerator_percent: _Optional[_Mapping[str, float]] = ..., temperature_celsius: _Optional[float] = ...) -> None: ...

class OutboxStatus(_message.Message):
    __slots__ = ("pending_record_count", "pending_bytes", "capacity_bytes", "oldest_pending_time", "dropped_record_count")
    PENDING_RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_BYTES_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    OLDEST_PENDING_TIME_FIELD_NUMBER: _ClassVar[int]
    DROPPED_RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    pending_record_count: int
    pending_bytes: int
    capacity_bytes: int
    oldest_pending_time: _timestamp_pb2.Timestamp
    dropped_record_count: int
    def __init__(self, pending_record_count: _Optional[int] = ..., pending_bytes: _Optional[int] = ..., capacity_bytes: _Optional[int] = ..., oldest_pending_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dropped_record_count: _Optional[int] = ...) -> None: ...
