from lepton.type.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TensorBinding(_message.Message):
    __slots__ = ("tensor", "column")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    tensor: str
    column: str
    def __init__(self, tensor: _Optional[str] = ..., column: _Optional[str] = ...) -> None: ...

class ClassificationDecoder(_message.Message):
    __slots__ = ("output", "apply_softmax")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    APPLY_SOFTMAX_FIELD_NUMBER: _ClassVar[int]
    output: str
    apply_softmax: bool
    def __init__(self, output: _Optional[str] = ..., apply_softmax: _Optional[bool] = ...) -> None: ...

class MultiLabelDecoder(_message.Message):
    __slots__ = ("output", "apply_sigmoid", "threshold")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    APPLY_SIGMOID_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    output: str
    apply_sigmoid: bool
    threshold: float
    def __init__(self, output: _Optional[str] = ..., apply_sigmoid: _Optional[bool] = ..., threshold: _Optional[float] = ...) -> None: ...

class BoundingBoxDecoder(_message.Message):
    __slots__ = ("boxes_output", "classes_output", "scores_output", "min_score")
    BOXES_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    CLASSES_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SCORES_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    boxes_output: str
    classes_output: str
    scores_output: str
    min_score: float
    def __init__(self, boxes_output: _Optional[str] = ..., classes_output: _Optional[str] = ..., scores_output: _Optional[str] = ..., min_score: _Optional[float] = ...) -> None: ...

class TextDecoder(_message.Message):
    __slots__ = ("output",)
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    output: str
    def __init__(self, output: _Optional[str] = ...) -> None: ...

class PredictionJob(_message.Message):
    __slots__ = ("name", "inference_model", "inference_model_version", "label", "inputs", "classification", "multi_label", "bounding_box", "text", "task_filter", "batch_size", "labels", "status", "resolved_inference_model_version", "created_prediction_count", "skipped_task_count")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_MODEL_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    MULTI_LABEL_FIELD_NUMBER: _ClassVar[int]
    BOUNDING_BOX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TASK_FILTER_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_INFERENCE_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_PREDICTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    inference_model: str
    inference_model_version: str
    label: str
    inputs: _containers.RepeatedCompositeFieldContainer[TensorBinding]
    classification: ClassificationDecoder
    multi_label: MultiLabelDecoder
    bounding_box: BoundingBoxDecoder
    text: TextDecoder
    task_filter: str
    batch_size: int
    labels: _containers.ScalarMap[str, str]
    status: _job_pb2.JobStatus
    resolved_inference_model_version: str
    created_prediction_count: int
    skipped_task_count: int
    def __init__(self, name: _Optional[str] = ..., inference_model: _Optional[str] = ..., inference_model_version: _Optional[str] = ..., label: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[TensorBinding, _Mapping]]] = ..., classification: _Optional[_Union[ClassificationDecoder, _Mapping]] = ..., multi_label: _Optional[_Union[MultiLabelDecoder, _Mapping]] = ..., bounding_box: _Optional[_Union[BoundingBoxDecoder, _Mapping]] = ..., text: _Optional[_Union[TextDecoder, _Mapping]] = ..., task_filter: _Optional[str] = ..., batch_size: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[_job_pb2.JobStatus, _Mapping]] = ..., resolved_inference_model_version: _Optional[str] = ..., created_prediction_count: _Optional[int] = ..., skipped_task_count: _Optional[int] = ...) -> None: ...
