import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MetricPoint(_message.Message):
    __slots__ = ("sequence", "name", "step", "value", "time", "attempt", "worker_index")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    WORKER_INDEX_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    name: str
    step: int
    value: float
    time: _timestamp_pb2.Timestamp
    attempt: int
    worker_index: int
    def __init__(self, sequence: _Optional[int] = ..., name: _Optional[str] = ..., step: _Optional[int] = ..., value: _Optional[float] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., worker_index: _Optional[int] = ...) -> None: ...

class MetricSummary(_message.Message):
    __slots__ = ("name", "latest", "min_value", "max_value", "point_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LATEST_FIELD_NUMBER: _ClassVar[int]
    MIN_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUE_FIELD_NUMBER: _ClassVar[int]
    POINT_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    latest: MetricPoint
    min_value: float
    max_value: float
    point_count: int
    def __init__(self, name: _Optional[str] = ..., latest: _Optional[_Union[MetricPoint, _Mapping]] = ..., min_value: _Optional[float] = ..., max_value: _Optional[float] = ..., point_count: _Optional[int] = ...) -> None: ...
