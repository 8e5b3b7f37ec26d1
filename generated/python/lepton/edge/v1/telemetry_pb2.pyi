import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.type.v1 import digest_pb2 as _digest_pb2
from lepton.type.v1 import error_pb2 as _error_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MetricKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METRIC_KIND_UNSPECIFIED: _ClassVar[MetricKind]
    METRIC_KIND_GAUGE: _ClassVar[MetricKind]
    METRIC_KIND_CUMULATIVE: _ClassVar[MetricKind]
    METRIC_KIND_DELTA: _ClassVar[MetricKind]

class LogSeverity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOG_SEVERITY_UNSPECIFIED: _ClassVar[LogSeverity]
    LOG_SEVERITY_TRACE: _ClassVar[LogSeverity]
    LOG_SEVERITY_DEBUG: _ClassVar[LogSeverity]
    LOG_SEVERITY_INFO: _ClassVar[LogSeverity]
    LOG_SEVERITY_WARN: _ClassVar[LogSeverity]
    LOG_SEVERITY_ERROR: _ClassVar[LogSeverity]
    LOG_SEVERITY_FATAL: _ClassVar[LogSeverity]
METRIC_KIND_UNSPECIFIED: MetricKind
METRIC_KIND_GAUGE: MetricKind
METRIC_KIND_CUMULATIVE: MetricKind
METRIC_KIND_DELTA: MetricKind
LOG_SEVERITY_UNSPECIFIED: LogSeverity
LOG_SEVERITY_TRACE: LogSeverity
LOG_SEVERITY_DEBUG: LogSeverity
LOG_SEVERITY_INFO: LogSeverity
LOG_SEVERITY_WARN: LogSeverity
LOG_SEVERITY_ERROR: LogSeverity
LOG_SEVERITY_FATAL: LogSeverity

class TelemetryRecord(_message.Message):
    __slots__ = ("sequence", "time", "attributes", "metric", "inference", "log", "deployment", "rollout")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time: _timestamp_pb2.Timestamp
    attributes: _containers.ScalarMap[str, str]
    metric: TelemetryMetric
    inference: InferenceEvent
    log: TelemetryLog
    deployment: str
    rollout: str
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attributes: _Optional[_Mapping[str, str]] = ..., metric: _Optional[_Union[TelemetryMetric, _Mapping]] = ..., inference: _Optional[_Union[InferenceEvent, _Mapping]] = ..., log: _Optional[_Union[TelemetryLog, _Mapping]] = ..., deployment: _Optional[str] = ..., rollout: _Optional[str] = ...) -> None: ...

class TelemetryMetric(_message.Message):
    __slots__ = ("name", "unit", "kind", "value", "start_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    unit: str
    kind: MetricKind
    value: float
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., unit: _Optional[str] = ..., kind: _Optional[_Union[MetricKind, str]] = ..., value: _Optional[float] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class InferenceEvent(_message.Message):
    __slots__ = ("deployment", "model_version", "latency", "error", "output", "output_media_type", "correlation_id", "blob")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    model_version: str
    latency: _duration_pb2.Duration
    error: _error_pb2.ErrorStatus
    output: bytes
    output_media_type: str
    correlation_id: str
    blob: _digest_pb2.Digest
    def __init__(self, deployment: _Optional[str] = ..., model_version: _Optional[str] = ..., latency: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., error: _Optional[_Union[_error_pb2.ErrorStatus, _Mapping]] = ..., output: _Optional[bytes] = ..., output_media_type: _Optional[str] = ..., correlation_id: _Optional[str] = ..., blob: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ...) -> None: ...

class TelemetryLog(_message.Message):
    __slots__ = ("severity", "source", "body")
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    severity: LogSeverity
    source: str
    body: str
    def __init__(self, severity: _Optional[_Union[LogSeverity, str]] = ..., source: _Optional[str] = ..., body: _Optional[str] = ...) -> None: ...

class StoredTelemetryRecord(_message.Message):
    __slots__ = ("device", "stream", "boot_id", "record", "receive_time")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    BOOT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    device: str
    stream: str
    boot_id: str
    record: TelemetryRecord
    receive_time: _timestamp_pb2.Timestamp
    def __init__(self, device: _Optional[str] = ..., stream: _Optional[str] = ..., boot_id: _Optional[str] = ..., record: _Optional[_Union[TelemetryRecord, _Mapping]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
