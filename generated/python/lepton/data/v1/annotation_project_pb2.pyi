import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LabelKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LABEL_KIND_UNSPECIFIED: _ClassVar[LabelKind]
    LABEL_KIND_CLASSIFICATION: _ClassVar[LabelKind]
    LABEL_KIND_MULTI_LABEL: _ClassVar[LabelKind]
    LABEL_KIND_BOUNDING_BOX: _ClassVar[LabelKind]
    LABEL_KIND_POLYGON: _ClassVar[LabelKind]
    LABEL_KIND_SPAN: _ClassVar[LabelKind]
    LABEL_KIND_TEXT: _ClassVar[LabelKind]
    LABEL_KIND_KEYPOINT: _ClassVar[LabelKind]
    LABEL_KIND_RATING: _ClassVar[LabelKind]
LABEL_KIND_UNSPECIFIED: LabelKind
LABEL_KIND_CLASSIFICATION: LabelKind
LABEL_KIND_MULTI_LABEL: LabelKind
LABEL_KIND_BOUNDING_BOX: LabelKind
LABEL_KIND_POLYGON: LabelKind
LABEL_KIND_SPAN: LabelKind
LABEL_KIND_TEXT: LabelKind
LABEL_KIND_KEYPOINT: LabelKind
LABEL_KIND_RATING: LabelKind

class LabelSpec(_message.Message):
    __slots__ = ("name", "kind", "source_column", "classes", "description", "max_rating")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MAX_RATING_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: LabelKind
    source_column: str
    classes: _containers.RepeatedScalarFieldContainer[str]
    description: str
    max_rating: int
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[LabelKind, str]] = ..., source_column: _Optional[str] = ..., classes: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., max_rating: _Optional[int] = ...) -> None: ...

class TaskCounts(_message.Message):
    __slots__ = ("total_count", "new_count", "in_progress_count", "completed_count", "rejected_count")
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    NEW_COUNT_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    total_count: int
    new_count: int
    in_progress_count: int
    completed_count: int
    rejected_count: int
    def __init__(self, total_count: _Optional[int] = ..., new_count: _Optional[int] = ..., in_progress_count: _Optional[int] = ..., completed_count: _Optional[int] = ..., rejected_count: _Optional[int] = ...) -> None: ...

class AnnotationProject(_message.Message):
    __slots__ = ("name", "display_name", "description", "dataset_version", "label_specs", "instructions", "labels", "create_time", "update_time", "etag", "task_counts", "required_annotation_count")
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
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    LABEL_SPECS_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNTS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ANNOTATION_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    dataset_version: str
    label_specs: _containers.RepeatedCompositeFieldContainer[LabelSpec]
    instructions: str
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    task_counts: TaskCounts
    required_annotation_count: int
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., dataset_version: _Optional[str] = ..., label_specs: _Optional[_Iterable[_Union[LabelSpec, _Mapping]]] = ..., instructions: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., task_counts: _Optional[_Union[TaskCounts, _Mapping]] = ..., required_annotation_count: _Optional[int] = ...) -> None: ...
