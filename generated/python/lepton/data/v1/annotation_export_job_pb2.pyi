from lepton.data.v1 import annotation_task_pb2 as _annotation_task_pb2
from lepton.type.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnnotationSelection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANNOTATION_SELECTION_UNSPECIFIED: _ClassVar[AnnotationSelection]
    ANNOTATION_SELECTION_PREFER_GROUND_TRUTH: _ClassVar[AnnotationSelection]
    ANNOTATION_SELECTION_LATEST: _ClassVar[AnnotationSelection]
    ANNOTATION_SELECTION_ALL: _ClassVar[AnnotationSelection]
ANNOTATION_SELECTION_UNSPECIFIED: AnnotationSelection
ANNOTATION_SELECTION_PREFER_GROUND_TRUTH: AnnotationSelection
ANNOTATION_SELECTION_LATEST: AnnotationSelection
ANNOTATION_SELECTION_ALL: AnnotationSelection

class AnnotationExportJob(_message.Message):
    __slots__ = ("name", "destination_dataset", "task_states", "selection", "source_columns", "expected_parent_version", "description", "tags", "labels", "status", "output_version", "written_row_count")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_DATASET_FIELD_NUMBER: _ClassVar[int]
    TASK_STATES_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PARENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VERSION_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    destination_dataset: str
    task_states: _containers.RepeatedScalarFieldContainer[_annotation_task_pb2.TaskState]
    selection: AnnotationSelection
    source_columns: _containers.RepeatedScalarFieldContainer[str]
    expected_parent_version: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    status: _job_pb2.JobStatus
    output_version: str
    written_row_count: int
    def __init__(self, name: _Optional[str] = ..., destination_dataset: _Optional[str] = ..., task_states: _Optional[_Iterable[_Union[_annotation_task_pb2.TaskState, str]]] = ..., selection: _Optional[_Union[AnnotationSelection, str]] = ..., source_columns: _Optional[_Iterable[str]] = ..., expected_parent_version: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[_job_pb2.JobStatus, _Mapping]] = ..., output_version: _Optional[str] = ..., written_row_count: _Optional[int] = ...) -> None: ...
