import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STAGE_UNSPECIFIED: _ClassVar[TaskStage]
    TASK_STAGE_ANNOTATION: _ClassVar[TaskStage]
    TASK_STAGE_VALIDATION: _ClassVar[TaskStage]
    TASK_STAGE_ACCEPTANCE: _ClassVar[TaskStage]

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    TASK_STATE_NEW: _ClassVar[TaskState]
    TASK_STATE_IN_PROGRESS: _ClassVar[TaskState]
    TASK_STATE_COMPLETED: _ClassVar[TaskState]
    TASK_STATE_REJECTED: _ClassVar[TaskState]

class AnnotationTaskView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANNOTATION_TASK_VIEW_UNSPECIFIED: _ClassVar[AnnotationTaskView]
    ANNOTATION_TASK_VIEW_BASIC: _ClassVar[AnnotationTaskView]
    ANNOTATION_TASK_VIEW_FULL: _ClassVar[AnnotationTaskView]
TASK_STAGE_UNSPECIFIED: TaskStage
TASK_STAGE_ANNOTATION: TaskStage
TASK_STAGE_VALIDATION: TaskStage
TASK_STAGE_ACCEPTANCE: TaskStage
TASK_STATE_UNSPECIFIED: TaskState
TASK_STATE_NEW: TaskState
TASK_STATE_IN_PROGRESS: TaskState
TASK_STATE_COMPLETED: TaskState
TASK_STATE_REJECTED: TaskState
ANNOTATION_TASK_VIEW_UNSPECIFIED: AnnotationTaskView
ANNOTATION_TASK_VIEW_BASIC: AnnotationTaskView
ANNOTATION_TASK_VIEW_FULL: AnnotationTaskView

class ImageGeometry(_message.Message):
    __slots__ = ("width", "height", "orientation")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ORIENTATION_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    orientation: int
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., orientation: _Optional[int] = ...) -> None: ...

class TaskLease(_message.Message):
    __slots__ = ("holder", "expire_time")
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    holder: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, holder: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AnnotationTask(_message.Message):
    __slots__ = ("name", "row_index", "row", "stage", "state", "assignee", "annotation_count", "prediction_count", "labels", "create_time", "update_time", "etag", "dataset_version", "image_geometry", "leases", "annotator_count", "prediction_score")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROW_INDEX_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_COUNT_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_GEOMETRY_FIELD_NUMBER: _ClassVar[int]
    LEASES_FIELD_NUMBER: _ClassVar[int]
    ANNOTATOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_SCORE_FIELD_NUMBER: _ClassVar[int]
    name: str
    row_index: int
    row: bytes
    stage: TaskStage
    state: TaskState
    assignee: str
    annotation_count: int
    prediction_count: int
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    dataset_version: str
    image_geometry: ImageGeometry
    leases: _containers.RepeatedCompositeFieldContainer[TaskLease]
    annotator_count: int
    prediction_score: float
    def __init__(self, name: _Optional[str] = ..., row_index: _Optional[int] = ..., row: _Optional[bytes] = ..., stage: _Optional[_Union[TaskStage, str]] = ..., state: _Optional[_Union[TaskState, str]] = ..., assignee: _Optional[str] = ..., annotation_count: _Optional[int] = ..., prediction_count: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., dataset_version: _Optional[str] = ..., image_geometry: _Optional[_Union[ImageGeometry, _Mapping]] = ..., leases: _Optional[_Iterable[_Union[TaskLease, _Mapping]]] = ..., annotator_count: _Optional[int] = ..., prediction_score: _Optional[float] = ...) -> None: ...
