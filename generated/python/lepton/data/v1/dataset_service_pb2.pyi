import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lepton.data.v1 import dataset_pb2 as _dataset_pb2
from lepton.data.v1 import export_job_pb2 as _export_job_pb2
from lepton.data.v1 import import_job_pb2 as _import_job_pb2
from lepton.type.v1 import digest_pb2 as _digest_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateDatasetRequest(_message.Message):
    __slots__ = ("dataset_id", "dataset", "request_id")
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    dataset: _dataset_pb2.Dataset
    request_id: str
    def __init__(self, dataset_id: _Optional[str] = ..., dataset: _Optional[_Union[_dataset_pb2.Dataset, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateDatasetResponse(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: _dataset_pb2.Dataset
    def __init__(self, dataset: _Optional[_Union[_dataset_pb2.Dataset, _Mapping]] = ...) -> None: ...

class GetDatasetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetDatasetResponse(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: _dataset_pb2.Dataset
    def __init__(self, dataset: _Optional[_Union[_dataset_pb2.Dataset, _Mapping]] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "order_by")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets", "next_page_token")
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[_dataset_pb2.Dataset]
    next_page_token: str
    def __init__(self, datasets: _Optional[_Iterable[_Union[_dataset_pb2.Dataset, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateDatasetRequest(_message.Message):
    __slots__ = ("dataset", "update_mask")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    dataset: _dataset_pb2.Dataset
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, dataset: _Optional[_Union[_dataset_pb2.Dataset, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateDatasetResponse(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: _dataset_pb2.Dataset
    def __init__(self, dataset: _Optional[_Union[_dataset_pb2.Dataset, _Mapping]] = ...) -> None: ...

class DeleteDatasetRequest(_message.Message):
    __slots__ = ("name", "etag", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    force: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class DeleteDatasetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WriteVersionRequest(_message.Message):
    __slots__ = ("header", "arrow_data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ARROW_DATA_FIELD_NUMBER: _ClassVar[int]
    header: WriteVersionHeader
    arrow_data: bytes
    def __init__(self, header: _Optional[_Union[WriteVersionHeader, _Mapping]] = ..., arrow_data: _Optional[bytes] = ...) -> None: ...

class WriteVersionHeader(_message.Message):
    __slots__ = ("parent", "mode", "expected_parent_version", "request_id", "description", "tags", "arrow_data_digest")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PARENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ARROW_DATA_DIGEST_FIELD_NUMBER: _ClassVar[int]
    parent: str
    mode: _dataset_pb2.WriteMode
    expected_parent_version: str
    request_id: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    arrow_data_digest: _digest_pb2.Digest
    def __init__(self, parent: _Optional[str] = ..., mode: _Optional[_Union[_dataset_pb2.WriteMode, str]] = ..., expected_parent_version: _Optional[str] = ..., request_id: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., arrow_data_digest: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ...) -> None: ...

class WriteVersionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: _dataset_pb2.DatasetVersion
    def __init__(self, version: _Optional[_Union[_dataset_pb2.DatasetVersion, _Mapping]] = ...) -> None: ...

class GetVersionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetVersionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: _dataset_pb2.DatasetVersion
    def __init__(self, version: _Optional[_Union[_dataset_pb2.DatasetVersion, _Mapping]] = ...) -> None: ...

class ListVersionsRequest(_message.Message):
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

class ListVersionsResponse(_message.Message):
    __slots__ = ("versions", "next_page_token")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[_dataset_pb2.DatasetVersion]
    next_page_token: str
    def __init__(self, versions: _Optional[_Iterable[_Union[_dataset_pb2.DatasetVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReadVersionRequest(_message.Message):
    __slots__ = ("name", "columns", "offset", "limit", "batch_rows", "start_batch_index")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    BATCH_ROWS_FIELD_NUMBER: _ClassVar[int]
    START_BATCH_INDEX_FIELD_NUMBER: _ClassVar[int]
    name: str
    columns: _containers.RepeatedScalarFieldContainer[str]
    offset: int
    limit: int
    batch_rows: int
    start_batch_index: int
    def __init__(self, name: _Optional[str] = ..., columns: _Optional[_Iterable[str]] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ..., batch_rows: _Optional[int] = ..., start_batch_index: _Optional[int] = ...) -> None: ...

class ReadVersionHeader(_message.Message):
    __slots__ = ("version", "arrow_schema", "total_row_count", "batch_rows", "batch_count")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ARROW_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    BATCH_ROWS_FIELD_NUMBER: _ClassVar[int]
    BATCH_COUNT_FIELD_NUMBER: _ClassVar[int]
    version: str
    arrow_schema: bytes
    total_row_count: int
    batch_rows: int
    batch_count: int
    def __init__(self, version: _Optional[str] = ..., arrow_schema: _Optional[bytes] = ..., total_row_count: _Optional[int] = ..., batch_rows: _Optional[int] = ..., batch_count: _Optional[int] = ...) -> None: ...

class ReadVersionResponse(_message.Message):
    __slots__ = ("header", "batch_index", "row_offset", "arrow_record_batch")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BATCH_INDEX_FIELD_NUMBER: _ClassVar[int]
    ROW_OFFSET_FIELD_NUMBER: _ClassVar[int]
    ARROW_RECORD_BATCH_FIELD_NUMBER: _ClassVar[int]
    header: ReadVersionHeader
    batch_index: int
    row_offset: int
    arrow_record_batch: bytes
    def __init__(self, header: _Optional[_Union[ReadVersionHeader, _Mapping]] = ..., batch_index: _Optional[int] = ..., row_offset: _Optional[int] = ..., arrow_record_batch: _Optional[bytes] = ...) -> None: ...

class IssueFlightTicketRequest(_message.Message):
    __slots__ = ("name", "columns", "offset", "limit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    columns: _containers.RepeatedScalarFieldContainer[str]
    offset: int
    limit: int
    def __init__(self, name: _Optional[str] = ..., columns: _Optional[_Iterable[str]] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class IssueFlightTicketResponse(_message.Message):
    __slots__ = ("ticket", "locations", "expire_time", "header")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ticket: bytes
    locations: _containers.RepeatedScalarFieldContainer[str]
    expire_time: _timestamp_pb2.Timestamp
    header: ReadVersionHeader
    def __init__(self, ticket: _Optional[bytes] = ..., locations: _Optional[_Iterable[str]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., header: _Optional[_Union[ReadVersionHeader, _Mapping]] = ...) -> None: ...

class SetTagRequest(_message.Message):
    __slots__ = ("name", "version", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class SetTagResponse(_message.Message):
    __slots__ = ("tag", "previous_version")
    TAG_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    tag: _dataset_pb2.VersionTag
    previous_version: str
    def __init__(self, tag: _Optional[_Union[_dataset_pb2.VersionTag, _Mapping]] = ..., previous_version: _Optional[str] = ...) -> None: ...

class DeleteTagRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteTagResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTagsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTagsResponse(_message.Message):
    __slots__ = ("tags", "next_page_token")
    TAGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedCompositeFieldContainer[_dataset_pb2.VersionTag]
    next_page_token: str
    def __init__(self, tags: _Optional[_Iterable[_Union[_dataset_pb2.VersionTag, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateImportJobRequest(_message.Message):
    __slots__ = ("parent", "import_job_id", "import_job", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    IMPORT_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    IMPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    import_job_id: str
    import_job: _import_job_pb2.ImportJob
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., import_job_id: _Optional[str] = ..., import_job: _Optional[_Union[_import_job_pb2.ImportJob, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateImportJobResponse(_message.Message):
    __slots__ = ("import_job",)
    IMPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    import_job: _import_job_pb2.ImportJob
    def __init__(self, import_job: _Optional[_Union[_import_job_pb2.ImportJob, _Mapping]] = ...) -> None: ...

class GetImportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetImportJobResponse(_message.Message):
    __slots__ = ("import_job",)
    IMPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    import_job: _import_job_pb2.ImportJob
    def __init__(self, import_job: _Optional[_Union[_import_job_pb2.ImportJob, _Mapping]] = ...) -> None: ...

class ListImportJobsRequest(_message.Message):
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

class ListImportJobsResponse(_message.Message):
    __slots__ = ("import_jobs", "next_page_token")
    IMPORT_JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    import_jobs: _containers.RepeatedCompositeFieldContainer[_import_job_pb2.ImportJob]
    next_page_token: str
    def __init__(self, import_jobs: _Optional[_Iterable[_Union[_import_job_pb2.ImportJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelImportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelImportJobResponse(_message.Message):
    __slots__ = ("import_job",)
    IMPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    import_job: _import_job_pb2.ImportJob
    def __init__(self, import_job: _Optional[_Union[_import_job_pb2.ImportJob, _Mapping]] = ...) -> None: ...

class WatchImportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchImportJobResponse(_message.Message):
    __slots__ = ("import_job",)
    IMPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    import_job: _import_job_pb2.ImportJob
    def __init__(self, import_job: _Optional[_Union[_import_job_pb2.ImportJob, _Mapping]] = ...) -> None: ...

class CreateExportJobRequest(_message.Message):
    __slots__ = ("parent", "export_job_id", "export_job", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    EXPORT_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    EXPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    export_job_id: str
    export_job: _export_job_pb2.ExportJob
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., export_job_id: _Optional[str] = ..., export_job: _Optional[_Union[_export_job_pb2.ExportJob, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateExportJobResponse(_message.Message):
    __slots__ = ("export_job",)
    EXPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    export_job: _export_job_pb2.ExportJob
    def __init__(self, export_job: _Optional[_Union[_export_job_pb2.ExportJob, _Mapping]] = ...) -> None: ...

class GetExportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetExportJobResponse(_message.Message):
    __slots__ = ("export_job",)
    EXPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    export_job: _export_job_pb2.ExportJob
    def __init__(self, export_job: _Optional[_Union[_export_job_pb2.ExportJob, _Mapping]] = ...) -> None: ...

class ListExportJobsRequest(_message.Message):
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

class ListExportJobsResponse(_message.Message):
    __slots__ = ("export_jobs", "next_page_token")
    EXPORT_JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    export_jobs: _containers.RepeatedCompositeFieldContainer[_export_job_pb2.ExportJob]
    next_page_token: str
    def __init__(self, export_jobs: _Optional[_Iterable[_Union[_export_job_pb2.ExportJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelExportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelExportJobResponse(_message.Message):
    __slots__ = ("export_job",)
    EXPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    export_job: _export_job_pb2.ExportJob
    def __init__(self, export_job: _Optional[_Union[_export_job_pb2.ExportJob, _Mapping]] = ...) -> None: ...

class WatchExportJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchExportJobResponse(_message.Message):
    __slots__ = ("export_job",)
    EXPORT_JOB_FIELD_NUMBER: _ClassVar[int]
    export_job: _export_job_pb2.ExportJob
    def __init__(self, export_job: _Optional[_Union[_export_job_pb2.ExportJob, _Mapping]] = ...) -> None: ...
