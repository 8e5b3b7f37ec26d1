from lepton.data.v1 import pipeline_pb2 as _pipeline_pb2
from lepton.type.v1 import digest_pb2 as _digest_pb2
from lepton.type.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReusePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REUSE_POLICY_UNSPECIFIED: _ClassVar[ReusePolicy]
    REUSE_POLICY_REUSE_IF_POSSIBLE: _ClassVar[ReusePolicy]
    REUSE_POLICY_ALWAYS_RECOMPUTE: _ClassVar[ReusePolicy]
REUSE_POLICY_UNSPECIFIED: ReusePolicy
REUSE_POLICY_REUSE_IF_POSSIBLE: ReusePolicy
REUSE_POLICY_ALWAYS_RECOMPUTE: ReusePolicy

class PipelineRun(_message.Message):
    __slots__ = ("name", "input_version", "pipeline", "output_dataset", "description", "output_tags", "reuse_policy", "labels", "status", "pipeline_fingerprint", "output_version", "output_reused", "step_reports")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_VERSION_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DATASET_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TAGS_FIELD_NUMBER: _ClassVar[int]
    REUSE_POLICY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_REUSED_FIELD_NUMBER: _ClassVar[int]
    STEP_REPORTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    input_version: str
    pipeline: _pipeline_pb2.Pipeline
    output_dataset: str
    description: str
    output_tags: _containers.RepeatedScalarFieldContainer[str]
    reuse_policy: ReusePolicy
    labels: _containers.ScalarMap[str, str]
    status: _job_pb2.JobStatus
    pipeline_fingerprint: _digest_pb2.Digest
    output_version: str
    output_reused: bool
    step_reports: _containers.RepeatedCompositeFieldContainer[StepReport]
    def __init__(self, name: _Optional[str] = ..., input_version: _Optional[str] = ..., pipeline: _Optional[_Union[_pipeline_pb2.Pipeline, _Mapping]] = ..., output_dataset: _Optional[str] = ..., description: _Optional[str] = ..., output_tags: _Optional[_Iterable[str]] = ..., reuse_policy: _Optional[_Union[ReusePolicy, str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[_job_pb2.JobStatus, _Mapping]] = ..., pipeline_fingerprint: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ..., output_version: _Optional[str] = ..., output_reused: _Optional[bool] = ..., step_reports: _Optional[_Iterable[_Union[StepReport, _Mapping]]] = ...) -> None: ...

class StepReport(_message.Message):
    __slots__ = ("step_index", "input_row_count", "output_row_count", "fitted_columns")
    STEP_INDEX_FIELD_NUMBER: _ClassVar[int]
    INPUT_ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    FITTED_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    step_index: int
    input_row_count: int
    output_row_count: int
    fitted_columns: _containers.RepeatedCompositeFieldContainer[FittedColumn]
    def __init__(self, step_index: _Optional[int] = ..., input_row_count: _Optional[int] = ..., output_row_count: _Optional[int] = ..., fitted_columns: _Optional[_Iterable[_Union[FittedColumn, _Mapping]]] = ...) -> None: ...

class FittedColumn(_message.Message):
    __slots__ = ("column", "min", "max", "mean", "stddev", "fill_value")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    STDDEV_FIELD_NUMBER: _ClassVar[int]
    FILL_VALUE_FIELD_NUMBER: _ClassVar[int]
    column: str
    min: float
    max: float
    mean: float
    stddev: float
    fill_value: _pipeline_pb2.Literal
    def __init__(self, column: _Optional[str] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., mean: _Optional[float] = ..., stddev: _Optional[float] = ..., fill_value: _Optional[_Union[_pipeline_pb2.Literal, _Mapping]] = ...) -> None: ...
