import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.type.v1 import artifact_pb2 as _artifact_pb2
from lepton.type.v1 import model_artifact_pb2 as _model_artifact_pb2
from lepton.type.v1 import model_signature_pb2 as _model_signature_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CheckpointTrigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHECKPOINT_TRIGGER_UNSPECIFIED: _ClassVar[CheckpointTrigger]
    CHECKPOINT_TRIGGER_PERIODIC: _ClassVar[CheckpointTrigger]
    CHECKPOINT_TRIGGER_PAUSE: _ClassVar[CheckpointTrigger]
    CHECKPOINT_TRIGGER_FINAL: _ClassVar[CheckpointTrigger]
    CHECKPOINT_TRIGGER_TRAINER: _ClassVar[CheckpointTrigger]
    CHECKPOINT_TRIGGER_OUTPUT: _ClassVar[CheckpointTrigger]
CHECKPOINT_TRIGGER_UNSPECIFIED: CheckpointTrigger
CHECKPOINT_TRIGGER_PERIODIC: CheckpointTrigger
CHECKPOINT_TRIGGER_PAUSE: CheckpointTrigger
CHECKPOINT_TRIGGER_FINAL: CheckpointTrigger
CHECKPOINT_TRIGGER_TRAINER: CheckpointTrigger
CHECKPOINT_TRIGGER_OUTPUT: CheckpointTrigger

class Checkpoint(_message.Message):
    __slots__ = ("name", "step", "attempt", "trigger", "create_time", "metrics", "artifact", "trainer", "model", "signature")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    TRAINER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    name: str
    step: int
    attempt: int
    trigger: CheckpointTrigger
    create_time: _timestamp_pb2.Timestamp
    metrics: _containers.ScalarMap[str, float]
    artifact: _artifact_pb2.ArtifactDescriptor
    trainer: str
    model: _model_artifact_pb2.ModelArtifact
    signature: _model_signature_pb2.ModelSignature
    def __init__(self, name: _Optional[str] = ..., step: _Optional[int] = ..., attempt: _Optional[int] = ..., trigger: _Optional[_Union[CheckpointTrigger, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., artifact: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ..., trainer: _Optional[str] = ..., model: _Optional[_Union[_model_artifact_pb2.ModelArtifact, _Mapping]] = ..., signature: _Optional[_Union[_model_signature_pb2.ModelSignature, _Mapping]] = ...) -> None: ...
