import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.edge.v1 import device_state_pb2 as _device_state_pb2
from lepton.edge.v1 import release_pb2 as _release_pb2
from lepton.edge.v1 import update_window_pb2 as _update_window_pb2
from lepton.type.v1 import error_pb2 as _error_pb2
from lepton.type.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RolloutState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLLOUT_STATE_UNSPECIFIED: _ClassVar[RolloutState]
    ROLLOUT_STATE_QUEUED: _ClassVar[RolloutState]
    ROLLOUT_STATE_RUNNING: _ClassVar[RolloutState]
    ROLLOUT_STATE_PAUSED: _ClassVar[RolloutState]
    ROLLOUT_STATE_SUCCEEDED: _ClassVar[RolloutState]
    ROLLOUT_STATE_FAILED: _ClassVar[RolloutState]
    ROLLOUT_STATE_ABORTED: _ClassVar[RolloutState]
    ROLLOUT_STATE_ROLLING_BACK: _ClassVar[RolloutState]
    ROLLOUT_STATE_ROLLED_BACK: _ClassVar[RolloutState]

class FailureAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAILURE_ACTION_UNSPECIFIED: _ClassVar[FailureAction]
    FAILURE_ACTION_ROLLBACK: _ClassVar[FailureAction]
    FAILURE_ACTION_PAUSE: _ClassVar[FailureAction]
    FAILURE_ACTION_DO_NOTHING: _ClassVar[FailureAction]

class RolloutStageState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLLOUT_STAGE_STATE_UNSPECIFIED: _ClassVar[RolloutStageState]
    ROLLOUT_STAGE_STATE_PENDING: _ClassVar[RolloutStageState]
    ROLLOUT_STAGE_STATE_DISPATCHING: _ClassVar[RolloutStageState]
    ROLLOUT_STAGE_STATE_VERIFYING: _ClassVar[RolloutStageState]
    ROLLOUT_STAGE_STATE_SUCCEEDED: _ClassVar[RolloutStageState]
    ROLLOUT_STAGE_STATE_FAILED: _ClassVar[RolloutStageState]
    ROLLOUT_STAGE_STATE_SKIPPED: _ClassVar[RolloutStageState]
    ROLLOUT_STAGE_STATE_AWAITING_APPROVAL: _ClassVar[RolloutStageState]

class RolloutDeviceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLLOUT_DEVICE_STATE_UNSPECIFIED: _ClassVar[RolloutDeviceState]
    ROLLOUT_DEVICE_STATE_PENDING: _ClassVar[RolloutDeviceState]
    ROLLOUT_DEVICE_STATE_DISPATCHED: _ClassVar[RolloutDeviceState]
    ROLLOUT_DEVICE_STATE_IN_PROGRESS: _ClassVar[RolloutDeviceState]
    ROLLOUT_DEVICE_STATE_SUCCEEDED: _ClassVar[RolloutDeviceState]
    ROLLOUT_DEVICE_STATE_FAILED: _ClassVar[RolloutDeviceState]
    ROLLOUT_DEVICE_STATE_TIMED_OUT: _ClassVar[RolloutDeviceState]
    ROLLOUT_DEVICE_STATE_INCOMPATIBLE: _ClassVar[RolloutDeviceState]
    ROLLOUT_DEVICE_STATE_SKIPPED: _ClassVar[RolloutDeviceState]
    ROLLOUT_DEVICE_STATE_ROLLING_BACK: _ClassVar[RolloutDeviceState]
    ROLLOUT_DEVICE_STATE_ROLLED_BACK: _ClassVar[RolloutDeviceState]
ROLLOUT_STATE_UNSPECIFIED: RolloutState
ROLLOUT_STATE_QUEUED: RolloutState
ROLLOUT_STATE_RUNNING: RolloutState
ROLLOUT_STATE_PAUSED: RolloutState
ROLLOUT_STATE_SUCCEEDED: RolloutState
ROLLOUT_STATE_FAILED: RolloutState
ROLLOUT_STATE_ABORTED: RolloutState
ROLLOUT_STATE_ROLLING_BACK: RolloutState
ROLLOUT_STATE_ROLLED_BACK: RolloutState
FAILURE_ACTION_UNSPECIFIED: FailureAction
FAILURE_ACTION_ROLLBACK: FailureAction
FAILURE_ACTION_PAUSE: FailureAction
FAILURE_ACTION_DO_NOTHING: FailureAction
ROLLOUT_STAGE_STATE_UNSPECIFIED: RolloutStageState
ROLLOUT_STAGE_STATE_PENDING: RolloutStageState
ROLLOUT_STAGE_STATE_DISPATCHING: RolloutStageState
ROLLOUT_STAGE_STATE_VERIFYING: RolloutStageState
ROLLOUT_STAGE_STATE_SUCCEEDED: RolloutStageState
ROLLOUT_STAGE_STATE_FAILED: RolloutStageState
ROLLOUT_STAGE_STATE_SKIPPED: RolloutStageState
ROLLOUT_STAGE_STATE_AWAITING_APPROVAL: RolloutStageState
ROLLOUT_DEVICE_STATE_UNSPECIFIED: RolloutDeviceState
ROLLOUT_DEVICE_STATE_PENDING: RolloutDeviceState
ROLLOUT_DEVICE_STATE_DISPATCHED: RolloutDeviceState
ROLLOUT_DEVICE_STATE_IN_PROGRESS: RolloutDeviceState
ROLLOUT_DEVICE_STATE_SUCCEEDED: RolloutDeviceState
ROLLOUT_DEVICE_STATE_FAILED: RolloutDeviceState
ROLLOUT_DEVICE_STATE_TIMED_OUT: RolloutDeviceState
ROLLOUT_DEVICE_STATE_INCOMPATIBLE: RolloutDeviceState
ROLLOUT_DEVICE_STATE_SKIPPED: RolloutDeviceState
ROLLOUT_DEVICE_STATE_ROLLING_BACK: RolloutDeviceState
ROLLOUT_DEVICE_STATE_ROLLED_BACK: RolloutDeviceState

class Rollout(_message.Message):
    __slots__ = ("name", "description", "release", "strategy", "status", "previous_release", "rollback_of", "current_stage", "stages", "device_counts", "next_update_window_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_RELEASE_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_OF_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STAGE_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_UPDATE_WINDOW_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    release: _release_pb2.ModelRelease
    strategy: RolloutStrategy
    status: RolloutStatus
    previous_release: _release_pb2.ModelRelease
    rollback_of: str
    current_stage: int
    stages: _containers.RepeatedCompositeFieldContainer[RolloutStageStatus]
    device_counts: RolloutDeviceCounts
    next_update_window_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., release: _Optional[_Union[_release_pb2.ModelRelease, _Mapping]] = ..., strategy: _Optional[_Union[RolloutStrategy, _Mapping]] = ..., status: _Optional[_Union[RolloutStatus, _Mapping]] = ..., previous_release: _Optional[_Union[_release_pb2.ModelRelease, _Mapping]] = ..., rollback_of: _Optional[str] = ..., current_stage: _Optional[int] = ..., stages: _Optional[_Iterable[_Union[RolloutStageStatus, _Mapping]]] = ..., device_counts: _Optional[_Union[RolloutDeviceCounts, _Mapping]] = ..., next_update_window_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RolloutStatus(_message.Message):
    __slots__ = ("state", "progress", "error", "history", "create_time", "start_time", "end_time")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    state: RolloutState
    progress: _job_pb2.Progress
    error: _error_pb2.ErrorStatus
    history: _containers.RepeatedCompositeFieldContainer[RolloutStateTransition]
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, state: _Optional[_Union[RolloutState, str]] = ..., progress: _Optional[_Union[_job_pb2.Progress, _Mapping]] = ..., error: _Optional[_Union[_error_pb2.ErrorStatus, _Mapping]] = ..., history: _Optional[_Iterable[_Union[RolloutStateTransition, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RolloutStateTransition(_message.Message):
    __slots__ = ("state", "time", "message")
    STATE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    state: RolloutState
    time: _timestamp_pb2.Timestamp
    message: str
    def __init__(self, state: _Optional[_Union[RolloutState, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ...) -> None: ...

class RolloutStrategy(_message.Message):
    __slots__ = ("stages", "rate", "default_gate", "abort_criteria", "device_timeout", "failure_action", "update_windows", "start_time", "install_windows")
    STAGES_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_GATE_FIELD_NUMBER: _ClassVar[int]
    ABORT_CRITERIA_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_ACTION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    INSTALL_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    stages: _containers.RepeatedCompositeFieldContainer[RolloutStage]
    rate: DispatchRate
    default_gate: HealthGate
    abort_criteria: AbortCriteria
    device_timeout: _duration_pb2.Duration
    failure_action: FailureAction
    update_windows: _containers.RepeatedCompositeFieldContainer[_update_window_pb2.UpdateWindow]
    start_time: _timestamp_pb2.Timestamp
    install_windows: _containers.RepeatedCompositeFieldContainer[_update_window_pb2.UpdateWindow]
    def __init__(self, stages: _Optional[_Iterable[_Union[RolloutStage, _Mapping]]] = ..., rate: _Optional[_Union[DispatchRate, _Mapping]] = ..., default_gate: _Optional[_Union[HealthGate, _Mapping]] = ..., abort_criteria: _Optional[_Union[AbortCriteria, _Mapping]] = ..., device_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., failure_action: _Optional[_Union[FailureAction, str]] = ..., update_windows: _Optional[_Iterable[_Union[_update_window_pb2.UpdateWindow, _Mapping]]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., install_windows: _Optional[_Iterable[_Union[_update_window_pb2.UpdateWindow, _Mapping]]] = ...) -> None: ...

class RolloutStage(_message.Message):
    __slots__ = ("percent", "device_count", "gate", "require_approval")
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    GATE_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    percent: float
    device_count: int
    gate: HealthGate
    require_approval: bool
    def __init__(self, percent: _Optional[float] = ..., device_count: _Optional[int] = ..., gate: _Optional[_Union[HealthGate, _Mapping]] = ..., require_approval: _Optional[bool] = ...) -> None: ...

class DispatchRate(_message.Message):
    __slots__ = ("base_per_minute", "increment_factor", "increase_after_succeeded_count", "max_per_minute")
    BASE_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    INCREMENT_FACTOR_FIELD_NUMBER: _ClassVar[int]
    INCREASE_AFTER_SUCCEEDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    base_per_minute: int
    increment_factor: float
    increase_after_succeeded_count: int
    max_per_minute: int
    def __init__(self, base_per_minute: _Optional[int] = ..., increment_factor: _Optional[float] = ..., increase_after_succeeded_count: _Optional[int] = ..., max_per_minute: _Optional[int] = ...) -> None: ...

class HealthGate(_message.Message):
    __slots__ = ("min_healthy_percent", "bake_duration", "timeout", "telemetry")
    MIN_HEALTHY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    BAKE_DURATION_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_FIELD_NUMBER: _ClassVar[int]
    min_healthy_percent: float
    bake_duration: _duration_pb2.Duration
    timeout: _duration_pb2.Duration
    telemetry: TelemetryGate
    def __init__(self, min_healthy_percent: _Optional[float] = ..., bake_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., telemetry: _Optional[_Union[TelemetryGate, _Mapping]] = ...) -> None: ...

class TelemetryGate(_message.Message):
    __slots__ = ("max_error_percent", "max_latency_p95", "min_inference_count")
    MAX_ERROR_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAX_LATENCY_P95_FIELD_NUMBER: _ClassVar[int]
    MIN_INFERENCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    max_error_percent: float
    max_latency_p95: _duration_pb2.Duration
    min_inference_count: int
    def __init__(self, max_error_percent: _Optional[float] = ..., max_latency_p95: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., min_inference_count: _Optional[int] = ...) -> None: ...

class AbortCriteria(_message.Message):
    __slots__ = ("failure_threshold_percent", "min_completed_device_count")
    FAILURE_THRESHOLD_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MIN_COMPLETED_DEVICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    failure_threshold_percent: float
    min_completed_device_count: int
    def __init__(self, failure_threshold_percent: _Optional[float] = ..., min_completed_device_count: _Optional[int] = ...) -> None: ...

class RolloutStageStatus(_message.Message):
    __slots__ = ("index", "state", "device_count", "start_time", "bake_start_time", "end_time", "approve_time", "telemetry")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    BAKE_START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    APPROVE_TIME_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_FIELD_NUMBER: _ClassVar[int]
    index: int
    state: RolloutStageState
    device_count: int
    start_time: _timestamp_pb2.Timestamp
    bake_start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    approve_time: _timestamp_pb2.Timestamp
    telemetry: TelemetrySummary
    def __init__(self, index: _Optional[int] = ..., state: _Optional[_Union[RolloutStageState, str]] = ..., device_count: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bake_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., approve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., telemetry: _Optional[_Union[TelemetrySummary, _Mapping]] = ...) -> None: ...

class TelemetrySummary(_message.Message):
    __slots__ = ("inference_count", "error_count", "latency_p95")
    INFERENCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ERROR_COUNT_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_FIELD_NUMBER: _ClassVar[int]
    inference_count: int
    error_count: int
    latency_p95: _duration_pb2.Duration
    def __init__(self, inference_count: _Optional[int] = ..., error_count: _Optional[int] = ..., latency_p95: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RolloutDeviceCounts(_message.Message):
    __slots__ = ("targeted_count", "pending_count", "dispatched_count", "in_progress_count", "succeeded_count", "failed_count", "timed_out_count", "incompatible_count", "skipped_count", "rolling_back_count", "rolled_back_count", "healthy_count")
    TARGETED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    DISPATCHED_COUNT_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_COUNT_FIELD_NUMBER: _ClassVar[int]
    INCOMPATIBLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ROLLING_BACK_COUNT_FIELD_NUMBER: _ClassVar[int]
    ROLLED_BACK_COUNT_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_COUNT_FIELD_NUMBER: _ClassVar[int]
    targeted_count: int
    pending_count: int
    dispatched_count: int
    in_progress_count: int
    succeeded_count: int
    failed_count: int
    timed_out_count: int
    incompatible_count: int
    skipped_count: int
    rolling_back_count: int
    rolled_back_count: int
    healthy_count: int
    def __init__(self, targeted_count: _Optional[int] = ..., pending_count: _Optional[int] = ..., dispatched_count: _Optional[int] = ..., in_progress_count: _Optional[int] = ..., succeeded_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., timed_out_count: _Optional[int] = ..., incompatible_count: _Optional[int] = ..., skipped_count: _Optional[int] = ..., rolling_back_count: _Optional[int] = ..., rolled_back_count: _Optional[int] = ..., healthy_count: _Optional[int] = ...) -> None: ...

class RolloutDeviceStatus(_message.Message):
    __slots__ = ("device", "state", "stage", "phase", "error", "dispatch_time", "acknowledge_time", "update_time")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_TIME_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    device: str
    state: RolloutDeviceState
    stage: int
    phase: _device_state_pb2.UpdatePhase
    error: _error_pb2.ErrorStatus
    dispatch_time: _timestamp_pb2.Timestamp
    acknowledge_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, device: _Optional[str] = ..., state: _Optional[_Union[RolloutDeviceState, str]] = ..., stage: _Optional[int] = ..., phase: _Optional[_Union[_device_state_pb2.UpdatePhase, str]] = ..., error: _Optional[_Union[_error_pb2.ErrorStatus, _Mapping]] = ..., dispatch_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledge_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
