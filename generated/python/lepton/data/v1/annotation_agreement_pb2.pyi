from lepton.data.v1 import annotation_project_pb2 as _annotation_project_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnnotatorPairAgreement(_message.Message):
    __slots__ = ("first", "second", "task_count", "cohen_kappa", "f1")
    FIRST_FIELD_NUMBER: _ClassVar[int]
    SECOND_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    COHEN_KAPPA_FIELD_NUMBER: _ClassVar[int]
    F1_FIELD_NUMBER: _ClassVar[int]
    first: str
    second: str
    task_count: int
    cohen_kappa: float
    f1: float
    def __init__(self, first: _Optional[str] = ..., second: _Optional[str] = ..., task_count: _Optional[int] = ..., cohen_kappa: _Optional[float] = ..., f1: _Optional[float] = ...) -> None: ...

class AnnotatorAgreement(_message.Message):
    __slots__ = ("annotator", "task_count", "mean_pairwise_agreement", "ground_truth_task_count", "ground_truth_accuracy", "ground_truth_kappa", "ground_truth_f1")
    ANNOTATOR_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    MEAN_PAIRWISE_AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    GROUND_TRUTH_TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUND_TRUTH_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    GROUND_TRUTH_KAPPA_FIELD_NUMBER: _ClassVar[int]
    GROUND_TRUTH_F1_FIELD_NUMBER: _ClassVar[int]
    annotator: str
    task_count: int
    mean_pairwise_agreement: float
    ground_truth_task_count: int
    ground_truth_accuracy: float
    ground_truth_kappa: float
    ground_truth_f1: float
    def __init__(self, annotator: _Optional[str] = ..., task_count: _Optional[int] = ..., mean_pairwise_agreement: _Optional[float] = ..., ground_truth_task_count: _Optional[int] = ..., ground_truth_accuracy: _Optional[float] = ..., ground_truth_kappa: _Optional[float] = ..., ground_truth_f1: _Optional[float] = ...) -> None: ...

class LabelAgreement(_message.Message):
    __slots__ = ("label", "kind", "task_count", "annotator_count", "fleiss_kappa", "krippendorff_alpha", "box_f1", "pairs", "annotators")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    ANNOTATOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    FLEISS_KAPPA_FIELD_NUMBER: _ClassVar[int]
    KRIPPENDORFF_ALPHA_FIELD_NUMBER: _ClassVar[int]
    BOX_F1_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATORS_FIELD_NUMBER: _ClassVar[int]
    label: str
    kind: _annotation_project_pb2.LabelKind
    task_count: int
    annotator_count: int
    fleiss_kappa: float
    krippendorff_alpha: float
    box_f1: float
    pairs: _containers.RepeatedCompositeFieldContainer[AnnotatorPairAgreement]
    annotators: _containers.RepeatedCompositeFieldContainer[AnnotatorAgreement]
    def __init__(self, label: _Optional[str] = ..., kind: _Optional[_Union[_annotation_project_pb2.LabelKind, str]] = ..., task_count: _Optional[int] = ..., annotator_count: _Optional[int] = ..., fleiss_kappa: _Optional[float] = ..., krippendorff_alpha: _Optional[float] = ..., box_f1: _Optional[float] = ..., pairs: _Optional[_Iterable[_Union[AnnotatorPairAgreement, _Mapping]]] = ..., annotators: _Optional[_Iterable[_Union[AnnotatorAgreement, _Mapping]]] = ...) -> None: ...
