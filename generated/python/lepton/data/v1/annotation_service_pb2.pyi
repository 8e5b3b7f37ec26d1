import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.data.v1 import annotation_pb2 as _annotation_pb2
from lepton.data.v1 import annotation_agreement_pb2 as _annotation_agreement_pb2
from lepton.data.v1 import annotation_export_job_pb2 as _annotation_export_job_pb2
from lepton.data.v1 import annotation_project_pb2 as _annotation_project_pb2
from lepton.data.v1 import annotation_task_pb2 as _annotation_task_pb2
from lepton.data.v1 import prediction_job_pb2 as _prediction_job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnnotationImportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANNOTATION_IMPORT_FORMAT_UNSPECIFIED: _ClassVar[AnnotationImportFormat]
    ANNOTATION_IMPORT_FORMAT_LABEL_STUDIO_JSON: _ClassVar[AnnotationImportFormat]
    ANNOTATION_IMPORT_FORMAT_COCO_JSON: _ClassVar[AnnotationImportFormat]
ANNOTATION_IMPORT_FORMAT_UNSPECIFIED: AnnotationImportFormat
ANNOTATION_IMPORT_FORMAT_LABEL_STUDIO_JSON: AnnotationImportFormat
ANNOTATION_IMPORT_FORMAT_COCO_JSON: AnnotationImportFormat

class CreateAnnotationProjectRequest(_message.Message):
    __slots__ = ("annotation_project_id", "annotation_project", "request_id")
    ANNOTATION_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_PROJECT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    annotation_project_id: str
    annotation_project: _annotation_project_pb2.AnnotationProject
    request_id: str
    def __init__(self, annotation_project_id: _Optional[str] = ..., annotation_project: _Optional[_Union[_annotation_project_pb2.AnnotationProject, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateAnnotationProjectResponse(_message.Message):
    __slots__ = ("annotation_project",)
    ANNOTATION_PROJECT_FIELD_NUMBER: _ClassVar[int]
    annotation_project: _annotation_project_pb2.AnnotationProject
    def __init__(self, annotation_project: _Optional[_Union[_annotation_project_pb2.AnnotationProject, _Mapping]] = ...) -> None: ...

class GetAnnotationProjectRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAnnotationProjectResponse(_message.Message):
    __slots__ = ("annotation_project",)
    ANNOTATION_PROJECT_FIELD_NUMBER: _ClassVar[int]
    annotation_project: _annotation_project_pb2.AnnotationProject
    def __init__(self, annotation_project: _Optional[_Union[_annotation_project_pb2.AnnotationProject, _Mapping]] = ...) -> None: ...

class ListAnnotationProjectsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListAnnotationProjectsResponse(_message.Message):
    __slots__ = ("annotation_projects", "next_page_token")
    ANNOTATION_PROJECTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    annotation_projects: _containers.RepeatedCompositeFieldContainer[_annotation_project_pb2.AnnotationProject]
    next_page_token: str
    def __init__(self, annotation_projects: _Optional[_Iterable[_Union[_annotation_project_pb2.AnnotationProject, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAnnotationProjectRequest(_message.Message):
    __slots__ = ("annotation_project", "update_mask")
    ANNOTATION_PROJECT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    annotation_project: _annotation_project_pb2.AnnotationProject
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, annotation_project: _Optional[_Union[_annotation_project_pb2.AnnotationProject, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateAnnotationProjectResponse(_message.Message):
    __slots__ = ("annotation_project",)
    ANNOTATION_PROJECT_FIELD_NUMBER: _ClassVar[int]
    annotation_project: _annotation_project_pb2.AnnotationProject
    def __init__(self, annotation_project: _Optional[_Union[_annotation_project_pb2.AnnotationProject, _Mapping]] = ...) -> None: ...

class DeleteAnnotationProjectRequest(_message.Message):
    __slots__ = ("name", "etag", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    force: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class DeleteAnnotationProjectResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateAnnotationTaskRequest(_message.Message):
    __slots__ = ("parent", "annotation_task", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_TASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    annotation_task: _annotation_task_pb2.AnnotationTask
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., annotation_task: _Optional[_Union[_annotation_task_pb2.AnnotationTask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateAnnotationTaskResponse(_message.Message):
    __slots__ = ("annotation_task",)
    ANNOTATION_TASK_FIELD_NUMBER: _ClassVar[int]
    annotation_task: _annotation_task_pb2.AnnotationTask
    def __init__(self, annotation_task: _Optional[_Union[_annotation_task_pb2.AnnotationTask, _Mapping]] = ...) -> None: ...

class RowIndexList(_message.Message):
    __slots__ = ("row_indices",)
    ROW_INDICES_FIELD_NUMBER: _ClassVar[int]
    row_indices: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, row_indices: _Optional[_Iterable[int]] = ...) -> None: ...

class RowRange(_message.Message):
    __slots__ = ("offset", "limit")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    offset: int
    limit: int
    def __init__(self, offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class BatchCreateAnnotationTasksRequest(_message.Message):
    __slots__ = ("parent", "row_index_list", "row_range", "assignee", "labels", "dataset_version")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ROW_INDEX_LIST_FIELD_NUMBER: _ClassVar[int]
    ROW_RANGE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    parent: str
    row_index_list: RowIndexList
    row_range: RowRange
    assignee: str
    labels: _containers.ScalarMap[str, str]
    dataset_version: str
    def __init__(self, parent: _Optional[str] = ..., row_index_list: _Optional[_Union[RowIndexList, _Mapping]] = ..., row_range: _Optional[_Union[RowRange, _Mapping]] = ..., assignee: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., dataset_version: _Optional[str] = ...) -> None: ...

class BatchCreateAnnotationTasksResponse(_message.Message):
    __slots__ = ("created_tasks", "processed_row_count", "total_row_count", "created_count", "existing_count")
    CREATED_TASKS_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXISTING_COUNT_FIELD_NUMBER: _ClassVar[int]
    created_tasks: _containers.RepeatedCompositeFieldContainer[_annotation_task_pb2.AnnotationTask]
    processed_row_count: int
    total_row_count: int
    created_count: int
    existing_count: int
    def __init__(self, created_tasks: _Optional[_Iterable[_Union[_annotation_task_pb2.AnnotationTask, _Mapping]]] = ..., processed_row_count: _Optional[int] = ..., total_row_count: _Optional[int] = ..., created_count: _Optional[int] = ..., existing_count: _Optional[int] = ...) -> None: ...

class GetAnnotationTaskRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: _annotation_task_pb2.AnnotationTaskView
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[_annotation_task_pb2.AnnotationTaskView, str]] = ...) -> None: ...

class GetAnnotationTaskResponse(_message.Message):
    __slots__ = ("annotation_task",)
    ANNOTATION_TASK_FIELD_NUMBER: _ClassVar[int]
    annotation_task: _annotation_task_pb2.AnnotationTask
    def __init__(self, annotation_task: _Optional[_Union[_annotation_task_pb2.AnnotationTask, _Mapping]] = ...) -> None: ...

class ListAnnotationTasksRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by", "view")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    view: _annotation_task_pb2.AnnotationTaskView
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ..., view: _Optional[_Union[_annotation_task_pb2.AnnotationTaskView, str]] = ...) -> None: ...

class ListAnnotationTasksResponse(_message.Message):
    __slots__ = ("annotation_tasks", "next_page_token")
    ANNOTATION_TASKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    annotation_tasks: _containers.RepeatedCompositeFieldContainer[_annotation_task_pb2.AnnotationTask]
    next_page_token: str
    def __init__(self, annotation_tasks: _Optional[_Iterable[_Union[_annotation_task_pb2.AnnotationTask, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAnnotationTaskRequest(_message.Message):
    __slots__ = ("annotation_task", "update_mask")
    ANNOTATION_TASK_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    annotation_task: _annotation_task_pb2.AnnotationTask
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, annotation_task: _Optional[_Union[_annotation_task_pb2.AnnotationTask, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateAnnotationTaskResponse(_message.Message):
    __slots__ = ("annotation_task",)
    ANNOTATION_TASK_FIELD_NUMBER: _ClassVar[int]
    annotation_task: _annotation_task_pb2.AnnotationTask
    def __init__(self, annotation_task: _Optional[_Union[_annotation_task_pb2.AnnotationTask, _Mapping]] = ...) -> None: ...

class DeleteAnnotationTaskRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteAnnotationTaskResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateAnnotationRequest(_message.Message):
    __slots__ = ("parent", "annotation", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    annotation: _annotation_pb2.Annotation
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., annotation: _Optional[_Union[_annotation_pb2.Annotation, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateAnnotationResponse(_message.Message):
    __slots__ = ("annotation",)
    ANNOTATION_FIELD_NUMBER: _ClassVar[int]
    annotation: _annotation_pb2.Annotation
    def __init__(self, annotation: _Optional[_Union[_annotation_pb2.Annotation, _Mapping]] = ...) -> None: ...

class GetAnnotationRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAnnotationResponse(_message.Message):
    __slots__ = ("annotation",)
    ANNOTATION_FIELD_NUMBER: _ClassVar[int]
    annotation: _annotation_pb2.Annotation
    def __init__(self, annotation: _Optional[_Union[_annotation_pb2.Annotation, _Mapping]] = ...) -> None: ...

class ListAnnotationsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListAnnotationsResponse(_message.Message):
    __slots__ = ("annotations", "next_page_token")
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    annotations: _containers.RepeatedCompositeFieldContainer[_annotation_pb2.Annotation]
    next_page_token: str
    def __init__(self, annotations: _Optional[_Iterable[_Union[_annotation_pb2.Annotation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAnnotationRequest(_message.Message):
    __slots__ = ("annotation", "update_mask")
    ANNOTATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    annotation: _annotation_pb2.Annotation
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, annotation: _Optional[_Union[_annotation_pb2.Annotation, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateAnnotationResponse(_message.Message):
    __slots__ = ("annotation",)
    ANNOTATION_FIELD_NUMBER: _ClassVar[int]
    annotation: _annotation_pb2.Annotation
    def __init__(self, annotation: _Optional[_Union[_annotation_pb2.Annotation, _Mapping]] = ...) -> None: ...

class DeleteAnnotationRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteAnnotationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreatePredictionRequest(_message.Message):
    __slots__ = ("parent", "prediction", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    prediction: _annotation_pb2.Prediction
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., prediction: _Optional[_Union[_annotation_pb2.Prediction, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreatePredictionResponse(_message.Message):
    __slots__ = ("prediction",)
    PREDICTION_FIELD_NUMBER: _ClassVar[int]
    prediction: _annotation_pb2.Prediction
    def __init__(self, prediction: _Optional[_Union[_annotation_pb2.Prediction, _Mapping]] = ...) -> None: ...

class GetPredictionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPredictionResponse(_message.Message):
    __slots__ = ("prediction",)
    PREDICTION_FIELD_NUMBER: _ClassVar[int]
    prediction: _annotation_pb2.Prediction
    def __init__(self, prediction: _Optional[_Union[_annotation_pb2.Prediction, _Mapping]] = ...) -> None: ...

class ListPredictionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListPredictionsResponse(_message.Message):
    __slots__ = ("predictions", "next_page_token")
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    predictions: _containers.RepeatedCompositeFieldContainer[_annotation_pb2.Prediction]
    next_page_token: str
    def __init__(self, predictions: _Optional[_Iterable[_Union[_annotation_pb2.Prediction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeletePredictionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeletePredictionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreatePredictionJobRequest(_message.Message):
    __slots__ = ("parent", "prediction_job_id", "prediction_job", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_JOB_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    prediction_job_id: str
    prediction_job: _prediction_job_pb2.PredictionJob
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., prediction_job_id: _Optional[str] = ..., prediction_job: _Optional[_Union[_prediction_job_pb2.PredictionJob, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreatePredictionJobResponse(_message.Message):
    __slots__ = ("prediction_job",)
    PREDICTION_JOB_FIELD_NUMBER: _ClassVar[int]
    prediction_job: _prediction_job_pb2.PredictionJob
    def __init__(self, prediction_job: _Optional[_Union[_prediction_job_pb2.PredictionJob, _Mapping]] = ...) -> None: ...

class GetPredictionJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPredictionJobResponse(_message.Message):
    __slots__ = ("prediction_job",)
    PREDICTION_JOB_FIELD_NUMBER: _ClassVar[int]
    prediction_job: _prediction_job_pb2.PredictionJob
    def __init__(self, prediction_job: _Optional[_Union[_prediction_job_pb2.PredictionJob, _Mapping]] = ...) -> None: ...

class ListPredictionJobsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListPredictionJobsResponse(_message.Message):
    __slots__ = ("prediction_jobs", "next_page_token")
    PREDICTION_JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    prediction_jobs: _containers.RepeatedCompositeFieldContainer[_prediction_job_pb2.PredictionJob]
    next_page_token: str
    def __init__(self, prediction_jobs: _Optional[_Iterable[_Union[_prediction_job_pb2.PredictionJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelPredictionJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelPredictionJobResponse(_message.Message):
    __slots__ = ("prediction_job",)
    PREDICTION_JOB_FIELD_NUMBER: _ClassVar[int]
    prediction_job: _prediction_job_pb2.PredictionJob
    def __init__(self, prediction_job: _Optional[_Union[_prediction_job_pb2.PredictionJob, _Mapping]] = ...) -> None: ...

class WatchPredictionJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchPredictionJobResponse(_message.Message):
    __slots__ = ("prediction_job",)
    PREDICTION_JOB_FIELD_NUMBER: _ClassVar[int]
    prediction_job: _prediction_job_pb2.PredictionJob
    def __init__(self, prediction_job: _Optional[_Union[_prediction_job_pb2.PredictionJob, _Mapping]] = ...) -> None: ...

class CreateAnnotationExportJobRequest(_message.Message):
    __slots__ = ("parent", "annotation_export_job_id", "annotation_export_job", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_EXPORT_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_EXPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    annotation_export_job_id: str
    annotation_export_job: _annotation_export_job_pb2.AnnotationExportJob
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., annotation_export_job_id: _Optional[str] = ..., annotation_export_job: _Optional[_Union[_annotation_export_job_pb2.AnnotationExportJob, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateAnnotationExportJobResponse(_message.Message):
    __slots__ = ("annotation_export_job",)
    ANNOTATION_EXPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    annotation_export_job: _annotation_export_job_pb2.AnnotationExportJob
    def __init__(self, annotation_export_job: _Optional[_Union[_annotation_export_job_pb2.AnnotationExportJob, _Mapping]] = ...) -> None: ...

class GetAnnotationExportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAnnotationExportJobResponse(_message.Message):
    __slots__ = ("annotation_export_job",)
    ANNOTATION_EXPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    annotation_export_job: _annotation_export_job_pb2.AnnotationExportJob
    def __init__(self, annotation_export_job: _Optional[_Union[_annotation_export_job_pb2.AnnotationExportJob, _Mapping]] = ...) -> None: ...

class ListAnnotationExportJobsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListAnnotationExportJobsResponse(_message.Message):
    __slots__ = ("annotation_export_jobs", "next_page_token")
    ANNOTATION_EXPORT_JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    annotation_export_jobs: _containers.RepeatedCompositeFieldContainer[_annotation_export_job_pb2.AnnotationExportJob]
    next_page_token: str
    def __init__(self, annotation_export_jobs: _Optional[_Iterable[_Union[_annotation_export_job_pb2.AnnotationExportJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelAnnotationExportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelAnnotationExportJobResponse(_message.Message):
    __slots__ = ("annotation_export_job",)
    ANNOTATION_EXPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    annotation_export_job: _annotation_export_job_pb2.AnnotationExportJob
    def __init__(self, annotation_export_job: _Optional[_Union[_annotation_export_job_pb2.AnnotationExportJob, _Mapping]] = ...) -> None: ...

class WatchAnnotationExportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchAnnotationExportJobResponse(_message.Message):
    __slots__ = ("annotation_export_job",)
    ANNOTATION_EXPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    annotation_export_job: _annotation_export_job_pb2.AnnotationExportJob
    def __init__(self, annotation_export_job: _Optional[_Union[_annotation_export_job_pb2.AnnotationExportJob, _Mapping]] = ...) -> None: ...

class AcquireNextTaskRequest(_message.Message):
    __slots__ = ("parent", "lease_duration")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    LEASE_DURATION_FIELD_NUMBER: _ClassVar[int]
    parent: str
    lease_duration: _duration_pb2.Duration
    def __init__(self, parent: _Optional[str] = ..., lease_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class AcquireNextTaskResponse(_message.Message):
    __slots__ = ("annotation_task", "lease_expire_time")
    ANNOTATION_TASK_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    annotation_task: _annotation_task_pb2.AnnotationTask
    lease_expire_time: _timestamp_pb2.Timestamp
    def __init__(self, annotation_task: _Optional[_Union[_annotation_task_pb2.AnnotationTask, _Mapping]] = ..., lease_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReleaseTaskLeaseRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ReleaseTaskLeaseResponse(_message.Message):
    __slots__ = ("annotation_task",)
    ANNOTATION_TASK_FIELD_NUMBER: _ClassVar[int]
    annotation_task: _annotation_task_pb2.AnnotationTask
    def __init__(self, annotation_task: _Optional[_Union[_annotation_task_pb2.AnnotationTask, _Mapping]] = ...) -> None: ...

class AcceptPredictionsRequest(_message.Message):
    __slots__ = ("parent", "filter", "min_score", "complete_tasks")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_TASKS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    filter: str
    min_score: float
    complete_tasks: bool
    def __init__(self, parent: _Optional[str] = ..., filter: _Optional[str] = ..., min_score: _Optional[float] = ..., complete_tasks: _Optional[bool] = ...) -> None: ...

class AcceptPredictionsResponse(_message.Message):
    __slots__ = ("accepted_count", "already_accepted_count")
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ALREADY_ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    already_accepted_count: int
    def __init__(self, accepted_count: _Optional[int] = ..., already_accepted_count: _Optional[int] = ...) -> None: ...

class CreateReviewRequest(_message.Message):
    __slots__ = ("parent", "review")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    parent: str
    review: _annotation_pb2.Review
    def __init__(self, parent: _Optional[str] = ..., review: _Optional[_Union[_annotation_pb2.Review, _Mapping]] = ...) -> None: ...

class CreateReviewResponse(_message.Message):
    __slots__ = ("review",)
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    review: _annotation_pb2.Review
    def __init__(self, review: _Optional[_Union[_annotation_pb2.Review, _Mapping]] = ...) -> None: ...

class ListReviewsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReviewsResponse(_message.Message):
    __slots__ = ("reviews", "next_page_token")
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reviews: _containers.RepeatedCompositeFieldContainer[_annotation_pb2.Review]
    next_page_token: str
    def __init__(self, reviews: _Optional[_Iterable[_Union[_annotation_pb2.Review, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ComputeAgreementRequest(_message.Message):
    __slots__ = ("parent", "labels", "task_filter", "iou_threshold")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    TASK_FILTER_FIELD_NUMBER: _ClassVar[int]
    IOU_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    parent: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    task_filter: str
    iou_threshold: float
    def __init__(self, parent: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., task_filter: _Optional[str] = ..., iou_threshold: _Optional[float] = ...) -> None: ...

class ComputeAgreementResponse(_message.Message):
    __slots__ = ("labels",)
    LABELS_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.RepeatedCompositeFieldContainer[_annotation_agreement_pb2.LabelAgreement]
    def __init__(self, labels: _Optional[_Iterable[_Union[_annotation_agreement_pb2.LabelAgreement, _Mapping]]] = ...) -> None: ...

class ImportAnnotationsRequest(_message.Message):
    __slots__ = ("parent", "format", "content", "match_column", "match_key", "label", "as_predictions", "inference_model")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    MATCH_COLUMN_FIELD_NUMBER: _ClassVar[int]
    MATCH_KEY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    AS_PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_MODEL_FIELD_NUMBER: _ClassVar[int]
    parent: str
    format: AnnotationImportFormat
    content: bytes
    match_column: str
    match_key: str
    label: str
    as_predictions: bool
    inference_model: str
    def __init__(self, parent: _Optional[str] = ..., format: _Optional[_Union[AnnotationImportFormat, str]] = ..., content: _Optional[bytes] = ..., match_column: _Optional[str] = ..., match_key: _Optional[str] = ..., label: _Optional[str] = ..., as_predictions: _Optional[bool] = ..., inference_model: _Optional[str] = ...) -> None: ...

class ImportAnnotationsResponse(_message.Message):
    __slots__ = ("annotation_count", "prediction_count", "created_task_count", "unmatched_count", "unmatched")
    ANNOTATION_COUNT_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNMATCHED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNMATCHED_FIELD_NUMBER: _ClassVar[int]
    annotation_count: int
    prediction_count: int
    created_task_count: int
    unmatched_count: int
    unmatched: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, annotation_count: _Optional[int] = ..., prediction_count: _Optional[int] = ..., created_task_count: _Optional[int] = ..., unmatched_count: _Optional[int] = ..., unmatched: _Optional[_Iterable[str]] = ...) -> None: ...
