from lepton.type.v1 import job_pb2 as _job_pb2
from lepton.type.v1 import model_format_pb2 as _model_format_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConversionJob(_message.Message):
    __slots__ = ("name", "source_model_version", "target_format", "target_opset", "tolerance", "sample_rows", "seed", "description", "labels", "status", "resolved_source_model_version", "output_model_version", "equivalence", "creator")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TARGET_OPSET_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_ROWS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_SOURCE_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    EQUIVALENCE_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    source_model_version: str
    target_format: _model_format_pb2.ModelFormat
    target_opset: int
    tolerance: EquivalenceTolerance
    sample_rows: int
    seed: int
    description: str
    labels: _containers.ScalarMap[str, str]
    status: _job_pb2.JobStatus
    resolved_source_model_version: str
    output_model_version: str
    equivalence: EquivalenceReport
    creator: str
    def __init__(self, name: _Optional[str] = ..., source_model_version: _Optional[str] = ..., target_format: _Optional[_Union[_model_format_pb2.ModelFormat, str]] = ..., target_opset: _Optional[int] = ..., tolerance: _Optional[_Union[EquivalenceTolerance, _Mapping]] = ..., sample_rows: _Optional[int] = ..., seed: _Optional[int] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[_job_pb2.JobStatus, _Mapping]] = ..., resolved_source_model_version: _Optional[str] = ..., output_model_version: _Optional[str] = ..., equivalence: _Optional[_Union[EquivalenceReport, _Mapping]] = ..., creator: _Optional[str] = ...) -> None: ...

class EquivalenceTolerance(_message.Message):
    __slots__ = ("absolute", "relative")
    ABSOLUTE_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_FIELD_NUMBER: _ClassVar[int]
    absolute: float
    relative: float
    def __init__(self, absolute: _Optional[float] = ..., relative: _Optional[float] = ...) -> None: ...

class EquivalenceReport(_message.Message):
    __slots__ = ("sample_rows", "seed", "tolerance", "outputs", "equivalent", "converter", "runtime")
    SAMPLE_ROWS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    EQUIVALENT_FIELD_NUMBER: _ClassVar[int]
    CONVERTER_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    sample_rows: int
    seed: int
    tolerance: EquivalenceTolerance
    outputs: _containers.RepeatedCompositeFieldContainer[OutputDifference]
    equivalent: bool
    converter: str
    runtime: str
    def __init__(self, sample_rows: _Optional[int] = ..., seed: _Optional[int] = ..., tolerance: _Optional[_Union[EquivalenceTolerance, _Mapping]] = ..., outputs: _Optional[_Iterable[_Union[OutputDifference, _Mapping]]] = ..., equivalent: _Optional[bool] = ..., converter: _Optional[str] = ..., runtime: _Optional[str] = ...) -> None: ...

class OutputDifference(_message.Message):
    __slots__ = ("name", "max_absolute_difference", "max_relative_difference", "mismatched_elements", "elements")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_ABSOLUTE_DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    MAX_RELATIVE_DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    MISMATCHED_ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    max_absolute_difference: float
    max_relative_difference: float
    mismatched_elements: int
    elements: int
    def __init__(self, name: _Optional[str] = ..., max_absolute_difference: _Optional[float] = ..., max_relative_difference: _Optional[float] = ..., mismatched_elements: _Optional[int] = ..., elements: _Optional[int] = ...) -> None: ...
