from lepton.data.v1 import dataset_pb2 as _dataset_pb2
from lepton.data.v1 import pipeline_pb2 as _pipeline_pb2
from lepton.data.v1 import pipeline_run_pb2 as _pipeline_run_pb2
from lepton.type.v1 import digest_pb2 as _digest_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ValidatePipelineRequest(_message.Message):
    __slots__ = ("input_version", "pipeline")
    INPUT_VERSION_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    input_version: str
    pipeline: _pipeline_pb2.Pipeline
    def __init__(self, input_version: _Optional[str] = ..., pipeline: _Optional[_Union[_pipeline_pb2.Pipeline, _Mapping]] = ...) -> None: ...

class ValidatePipelineResponse(_message.Message):
    __slots__ = ("input_version", "output_schema", "step_output_schemas", "pipeline_fingerprint")
    INPUT_VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    STEP_OUTPUT_SCHEMAS_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    input_version: str
    output_schema: _dataset_pb2.Schema
    step_output_schemas: _containers.RepeatedCompositeFieldContainer[_dataset_pb2.Schema]
    pipeline_fingerprint: _digest_pb2.Digest
    def __init__(self, input_version: _Optional[str] = ..., output_schema: _Optional[_Union[_dataset_pb2.Schema, _Mapping]] = ..., step_output_schemas: _Optional[_Iterable[_Union[_dataset_pb2.Schema, _Mapping]]] = ..., pipeline_fingerprint: _Optional[_Union[_digest_pb2.Digest, _Mapping]] = ...) -> None: ...

class CreatePipelineRunRequest(_message.Message):
    __slots__ = ("pipeline_run_id", "pipeline_run", "request_id")
    PIPELINE_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_RUN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    pipeline_run_id: str
    pipeline_run: _pipeline_run_pb2.PipelineRun
    request_id: str
    def __init__(self, pipeline_run_id: _Optional[str] = ..., pipeline_run: _Optional[_Union[_pipeline_run_pb2.PipelineRun, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreatePipelineRunResponse(_message.Message):
    __slots__ = ("pipeline_run",)
    PIPELINE_RUN_FIELD_NUMBER: _ClassVar[int]
    pipeline_run: _pipeline_run_pb2.PipelineRun
    def __init__(self, pipeline_run: _Optional[_Union[_pipeline_run_pb2.PipelineRun, _Mapping]] = ...) -> None: ...

class GetPipelineRunRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPipelineRunResponse(_message.Message):
    __slots__ = ("pipeline_run",)
    PIPELINE_RUN_FIELD_NUMBER: _ClassVar[int]
    pipeline_run: _pipeline_run_pb2.PipelineRun
    def __init__(self, pipeline_run: _Optional[_Union[_pipeline_run_pb2.PipelineRun, _Mapping]] = ...) -> None: ...

class ListPipelineRunsRequest(_message.Message):
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

class ListPipelineRunsResponse(_message.Message):
    __slots__ = ("pipeline_runs", "next_page_token")
    PIPELINE_RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    pipeline_runs: _containers.RepeatedCompositeFieldContainer[_pipeline_run_pb2.PipelineRun]
    next_page_token: str
    def __init__(self, pipeline_runs: _Optional[_Iterable[_Union[_pipeline_run_pb2.PipelineRun, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelPipelineRunRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelPipelineRunResponse(_message.Message):
    __slots__ = ("pipeline_run",)
    PIPELINE_RUN_FIELD_NUMBER: _ClassVar[int]
    pipeline_run: _pipeline_run_pb2.PipelineRun
    def __init__(self, pipeline_run: _Optional[_Union[_pipeline_run_pb2.PipelineRun, _Mapping]] = ...) -> None: ...

class WatchPipelineRunRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchPipelineRunResponse(_message.Message):
    __slots__ = ("pipeline_run",)
    PIPELINE_RUN_FIELD_NUMBER: _ClassVar[int]
    pipeline_run: _pipeline_run_pb2.PipelineRun
    def __init__(self, pipeline_run: _Optional[_Union[_pipeline_run_pb2.PipelineRun, _Mapping]] = ...) -> None: ...
