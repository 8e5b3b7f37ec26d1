import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.edge.v1 import artifact_upload_pb2 as _artifact_upload_pb2
from lepton.edge.v1 import capabilities_pb2 as _capabilities_pb2
from lepton.edge.v1 import command_pb2 as _command_pb2
from lepton.edge.v1 import device_pb2 as _device_pb2
from lepton.edge.v1 import device_state_pb2 as _device_state_pb2
from lepton.edge.v1 import telemetry_pb2 as _telemetry_pb2
from lepton.type.v1 import artifact_pb2 as _artifact_pb2
from lepton.type.v1 import digest_pb2 as _digest_pb2
from lepton.type.v1 import error_pb2 as _error_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateRegistrationChallengeRequest(_message.Message):
    __slots__ = ("device_id",)
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    def __init__(self, device_id: _Optional[str] = ...) -> None: ...

class CreateRegistrationChallengeResponse(_message.Message):
    __slots__ = ("challenge", "expire_time")
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    challenge: bytes
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, challenge: _Optional[bytes] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ("device_id", "device_public_key", "bootstrap_token", "boot_id", "capabilities", "agent_version", "labels", "challenge", "challenge_signature")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_TOKEN_FIELD_NUMBER: _ClassVar[int]
    BOOT_ID_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    device_public_key: bytes
    bootstrap_token: str
    boot_id: str
    capabilities: _capabilities_pb2.DeviceCapabilities
    agent_version: str
    labels: _containers.ScalarMap[str, str]
    challenge: bytes
    challenge_signature: bytes
    def __init__(self, device_id: _Optional[str] = ..., device_public_key: _Optional[bytes] = ..., bootstrap_token: _Optional[str] = ..., boot_id: _Optional[str] = ..., capabilities: _Optional[_Union[_capabilities_pb2.DeviceCapabilities, _Mapping]] = ..., agent_version: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., challenge: _Optional[bytes] = ..., challenge_signature: _Optional[bytes] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("device", "approval_state", "access_token", "access_token_expire_time", "retry_after", "settings", "server_time")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_STATE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    device: str
    approval_state: _device_pb2.DeviceApprovalState
    access_token: str
    access_token_expire_time: _timestamp_pb2.Timestamp
    retry_after: _duration_pb2.Duration
    settings: AgentSettings
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, device: _Optional[str] = ..., approval_state: _Optional[_Union[_device_pb2.DeviceApprovalState, str]] = ..., access_token: _Optional[str] = ..., access_token_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retry_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., settings: _Optional[_Union[AgentSettings, _Mapping]] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AgentSettings(_message.Message):
    __slots__ = ("report_interval", "max_telemetry_batch_record_count", "max_telemetry_batch_bytes")
    REPORT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    MAX_TELEMETRY_BATCH_RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_TELEMETRY_BATCH_BYTES_FIELD_NUMBER: _ClassVar[int]
    report_interval: _duration_pb2.Duration
    max_telemetry_batch_record_count: int
    max_telemetry_batch_bytes: int
    def __init__(self, report_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_telemetry_batch_record_count: _Optional[int] = ..., max_telemetry_batch_bytes: _Optional[int] = ...) -> None: ...

class SyncRequest(_message.Message):
    __slots__ = ("hello", "heartbeat", "reported_state", "desired_state_ack", "command_update")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    REPORTED_STATE_FIELD_NUMBER: _ClassVar[int]
    DESIRED_STATE_ACK_FIELD_NUMBER: _ClassVar[int]
    COMMAND_UPDATE_FIELD_NUMBER: _ClassVar[int]
    hello: SyncHello
    heartbeat: _device_state_pb2.Heartbeat
    reported_state: _device_state_pb2.ReportedState
    desired_state_ack: DesiredStateAck
    command_update: CommandUpdate
    def __init__(self, hello: _Optional[_Union[SyncHello, _Mapping]] = ..., heartbeat: _Optional[_Union[_device_state_pb2.Heartbeat, _Mapping]] = ..., reported_state: _Optional[_Union[_device_state_pb2.ReportedState, _Mapping]] = ..., desired_state_ack: _Optional[_Union[DesiredStateAck, _Mapping]] = ..., command_update: _Optional[_Union[CommandUpdate, _Mapping]] = ...) -> None: ...

class SyncHello(_message.Message):
    __slots__ = ("boot_id", "agent_version", "acknowledged_generation", "reported_state")
    BOOT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    REPORTED_STATE_FIELD_NUMBER: _ClassVar[int]
    boot_id: str
    agent_version: str
    acknowledged_generation: int
    reported_state: _device_state_pb2.ReportedState
    def __init__(self, boot_id: _Optional[str] = ..., agent_version: _Optional[str] = ..., acknowledged_generation: _Optional[int] = ..., reported_state: _Optional[_Union[_device_state_pb2.ReportedState, _Mapping]] = ...) -> None: ...

class DesiredStateAck(_message.Message):
    __slots__ = ("generation",)
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    generation: int
    def __init__(self, generation: _Optional[int] = ...) -> None: ...

class CommandUpdate(_message.Message):
    __slots__ = ("name", "idempotency_key", "state", "error", "result", "time")
    class ResultEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    idempotency_key: str
    state: _command_pb2.DeviceCommandState
    error: _error_pb2.ErrorStatus
    result: _containers.ScalarMap[str, str]
    time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., state: _Optional[_Union[_command_pb2.DeviceCommandState, str]] = ..., error: _Optional[_Union[_error_pb2.ErrorStatus, _Mapping]] = ..., result: _Optional[_Mapping[str, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SyncResponse(_message.Message):
    __slots__ = ("welcome", "desired_state", "command", "settings")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    DESIRED_STATE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    welcome: SyncWelcome
    desired_state: _device_state_pb2.DesiredState
    command: CommandDelivery
    settings: AgentSettings
    def __init__(self, welcome: _Optional[_Union[SyncWelcome, _Mapping]] = ..., desired_state: _Optional[_Union[_device_state_pb2.DesiredState, _Mapping]] = ..., command: _Optional[_Union[CommandDelivery, _Mapping]] = ..., settings: _Optional[_Union[AgentSettings, _Mapping]] = ...) -> None: ...

class SyncWelcome(_message.Message):
    __slots__ = ("device", "settings", "server_time")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    device: str
    settings: AgentSettings
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, device: _Optional[str] = ..., settings: _Optional[_Union[AgentSettings, _Mapping]] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CommandDelivery(_message.Message):
    __slots__ = ("name", "type", "parameters", "idempotency_key", "expire_time", "remaining_ttl")
    class ParametersEntry(_message.Message):
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
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REMAINING_TTL_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    parameters: _containers.ScalarMap[str, str]
    idempotency_key: str
    expire_time: _timestamp_pb2.Timestamp
    remaining_ttl: _duration_pb2.Duration
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ..., idempotency_key: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., remaining_ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StatArtifactRequest(_message.Message):
    __slots__ = ("digest",)
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    digest: _digest_pb2.Digest
    def __init__(self, digest: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ...) -> None: ...

class StatArtifactResponse(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: _artifact_pb2.ArtifactDescriptor
    def __init__(self, artifact: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ...) -> None: ...

class ReadArtifactRequest(_message.Message):
    __slots__ = ("digest", "offset", "length_bytes", "chunk_size_bytes")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    digest: _digest_pb2.Digest
    offset: int
    length_bytes: int
    chunk_size_bytes: int
    def __init__(self, digest: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ..., offset: _Optional[int] = ..., length_bytes: _Optional[int] = ..., chunk_size_bytes: _Optional[int] = ...) -> None: ...

class ReadArtifactResponse(_message.Message):
    __slots__ = ("artifact", "chunk")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    artifact: _artifact_pb2.ArtifactDescriptor
    chunk: _artifact_pb2.ArtifactChunk
    def __init__(self, artifact: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ..., chunk: _Optional[_Union[_artifact_pb2.ArtifactChunk, _Mapping]] = ...) -> None: ...

class UploadBlobRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: _artifact_upload_pb2.ArtifactUploadHeader
    chunk: _artifact_pb2.ArtifactChunk
    def __init__(self, header: _Optional[_Union[_artifact_upload_pb2.ArtifactUploadHeader, _Mapping]] = ..., chunk: _Optional[_Union[_artifact_pb2.ArtifactChunk, _Mapping]] = ...) -> None: ...

class UploadBlobResponse(_message.Message):
    __slots__ = ("committed_offset", "blob", "already_existed")
    COMMITTED_OFFSET_FIELD_NUMBER: _ClassVar[int]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    ALREADY_EXISTED_FIELD_NUMBER: _ClassVar[int]
    committed_offset: int
    blob: _artifact_pb2.ArtifactDescriptor
    already_existed: bool
    def __init__(self, committed_offset: _Optional[int] = ..., blob: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ..., already_existed: _Optional[bool] = ...) -> None: ...

class GetBlobUploadStatusRequest(_message.Message):
    __slots__ = ("digest",)
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    digest: _digest_pb2.Digest
    def __init__(self, digest: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ...) -> None: ...

class GetBlobUploadStatusResponse(_message.Message):
    __slots__ = ("blob", "committed_offset")
    BLOB_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_OFFSET_FIELD_NUMBER: _ClassVar[int]
    blob: _artifact_pb2.ArtifactDescriptor
    committed_offset: int
    def __init__(self, blob: _Optional[_Union[_artifact_pb2.ArtifactDescriptor, _Mapping]] = ..., committed_offset: _Optional[int] = ...) -> None: ...

class UploadTelemetryRequest(_message.Message):
    __slots__ = ("segments",)
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[TelemetrySegment]
    def __init__(self, segments: _Optional[_Iterable[_Union[TelemetrySegment, _Mapping]]] = ...) -> None: ...

class TelemetrySegment(_message.Message):
    __slots__ = ("stream", "boot_id", "records")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    BOOT_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    stream: str
    boot_id: str
    records: _containers.RepeatedCompositeFieldContainer[_telemetry_pb2.TelemetryRecord]
    def __init__(self, stream: _Optional[str] = ..., boot_id: _Optional[str] = ..., records: _Optional[_Iterable[_Union[_telemetry_pb2.TelemetryRecord, _Mapping]]] = ...) -> None: ...

class UploadTelemetryResponse(_message.Message):
    __slots__ = ("acknowledgements",)
    ACKNOWLEDGEMENTS_FIELD_NUMBER: _ClassVar[int]
    acknowledgements: _containers.RepeatedCompositeFieldContainer[StreamAcknowledgement]
    def __init__(self, acknowledgements: _Optional[_Iterable[_Union[StreamAcknowledgement, _Mapping]]] = ...) -> None: ...

class StreamAcknowledgement(_message.Message):
    __slots__ = ("stream", "boot_id", "acknowledged_sequence", "accepted_record_count", "duplicate_record_count")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    BOOT_ID_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    stream: str
    boot_id: str
    acknowledged_sequence: int
    accepted_record_count: int
    duplicate_record_count: int
    def __init__(self, stream: _Optional[str] = ..., boot_id: _Optional[str] = ..., acknowledged_sequence: _Optional[int] = ..., accepted_record_count: _Optional[int] = ..., duplicate_record_count: _Optional[int] = ...) -> None: ...
