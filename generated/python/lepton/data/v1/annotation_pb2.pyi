import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReviewVerdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_VERDICT_UNSPECIFIED: _ClassVar[ReviewVerdict]
    REVIEW_VERDICT_ACCEPTED: _ClassVar[ReviewVerdict]
    REVIEW_VERDICT_REJECTED: _ClassVar[ReviewVerdict]
REVIEW_VERDICT_UNSPECIFIED: ReviewVerdict
REVIEW_VERDICT_ACCEPTED: ReviewVerdict
REVIEW_VERDICT_REJECTED: ReviewVerdict

class ClassificationValue(_message.Message):
    __slots__ = ("class_name",)
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    class_name: str
    def __init__(self, class_name: _Optional[str] = ...) -> None: ...

class MultiLabelValue(_message.Message):
    __slots__ = ("class_names",)
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    class_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, class_names: _Optional[_Iterable[str]] = ...) -> None: ...

class BoundingBoxValue(_message.Message):
    __slots__ = ("class_name", "x", "y", "width", "height")
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    class_name: str
    x: float
    y: float
    width: float
    height: float
    def __init__(self, class_name: _Optional[str] = ..., x: _Optional[float] = ..., y: _Optional[float] = ..., width: _Optional[float] = ..., height: _Optional[float] = ...) -> None: ...

class Point(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class PolygonValue(_message.Message):
    __slots__ = ("class_name", "points")
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    class_name: str
    points: _containers.RepeatedCompositeFieldContainer[Point]
    def __init__(self, class_name: _Optional[str] = ..., points: _Optional[_Iterable[_Union[Point, _Mapping]]] = ...) -> None: ...

class SpanValue(_message.Message):
    __slots__ = ("class_name", "start", "end", "text")
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    class_name: str
    start: int
    end: int
    text: str
    def __init__(self, class_name: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class KeypointValue(_message.Message):
    __slots__ = ("class_name", "x", "y")
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    class_name: str
    x: float
    y: float
    def __init__(self, class_name: _Optional[str] = ..., x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class RatingValue(_message.Message):
    __slots__ = ("rating",)
    RATING_FIELD_NUMBER: _ClassVar[int]
    rating: int
    def __init__(self, rating: _Optional[int] = ...) -> None: ...

class TextValue(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class LabelResult(_message.Message):
    __slots__ = ("label", "classification", "multi_label", "bounding_box", "polygon", "span", "text", "keypoint", "rating", "score")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    MULTI_LABEL_FIELD_NUMBER: _ClassVar[int]
    BOUNDING_BOX_FIELD_NUMBER: _ClassVar[int]
    POLYGON_FIELD_NUMBER: _ClassVar[int]
    SPAN_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    KEYPOINT_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    label: str
    classification: ClassificationValue
    multi_label: MultiLabelValue
    bounding_box: BoundingBoxValue
    polygon: PolygonValue
    span: SpanValue
    text: TextValue
    keypoint: KeypointValue
    rating: RatingValue
    score: float
    def __init__(self, label: _Optional[str] = ..., classification: _Optional[_Union[ClassificationValue, _Mapping]] = ..., multi_label: _Optional[_Union[MultiLabelValue, _Mapping]] = ..., bounding_box: _Optional[_Union[BoundingBoxValue, _Mapping]] = ..., polygon: _Optional[_Union[PolygonValue, _Mapping]] = ..., span: _Optional[_Union[SpanValue, _Mapping]] = ..., text: _Optional[_Union[TextValue, _Mapping]] = ..., keypoint: _Optional[_Union[KeypointValue, _Mapping]] = ..., rating: _Optional[_Union[RatingValue, _Mapping]] = ..., score: _Optional[float] = ...) -> None: ...

class Annotation(_message.Message):
    __slots__ = ("name", "results", "creator", "lead_duration", "ground_truth", "skipped", "source_prediction", "create_time", "update_time", "etag", "review_verdict", "external_author")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    LEAD_DURATION_FIELD_NUMBER: _ClassVar[int]
    GROUND_TRUTH_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PREDICTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REVIEW_VERDICT_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_AUTHOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    results: _containers.RepeatedCompositeFieldContainer[LabelResult]
    creator: str
    lead_duration: _duration_pb2.Duration
    ground_truth: bool
    skipped: bool
    source_prediction: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    review_verdict: ReviewVerdict
    external_author: str
    def __init__(self, name: _Optional[str] = ..., results: _Optional[_Iterable[_Union[LabelResult, _Mapping]]] = ..., creator: _Optional[str] = ..., lead_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., ground_truth: _Optional[bool] = ..., skipped: _Optional[bool] = ..., source_prediction: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., review_verdict: _Optional[_Union[ReviewVerdict, str]] = ..., external_author: _Optional[str] = ...) -> None: ...

class Prediction(_message.Message):
    __slots__ = ("name", "results", "inference_model", "inference_model_version", "score", "prediction_job", "create_time", "creator")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_MODEL_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_JOB_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    results: _containers.RepeatedCompositeFieldContainer[LabelResult]
    inference_model: str
    inference_model_version: str
    score: float
    prediction_job: str
    create_time: _timestamp_pb2.Timestamp
    creator: str
    def __init__(self, name: _Optional[str] = ..., results: _Optional[_Iterable[_Union[LabelResult, _Mapping]]] = ..., inference_model: _Optional[str] = ..., inference_model_version: _Optional[str] = ..., score: _Optional[float] = ..., prediction_job: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ...) -> None: ...

class Review(_message.Message):
    __slots__ = ("name", "verdict", "comment", "creator", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    verdict: ReviewVerdict
    comment: str
    creator: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., verdict: _Optional[_Union[ReviewVerdict, str]] = ..., comment: _Optional[str] = ..., creator: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
