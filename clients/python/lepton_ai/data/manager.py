"""`DataManager`: the data layer of a Lepton server (lepton.data.v1 DatasetService and
ProcessingService) as Python calls on pyarrow tables.

    with DataManager.connect("localhost:50051") as data:
        data.load_data("sales.csv", "sales", tags=["raw"])          # uploaded from here
        data.load_data("s3://bucket/2024/", "sales", format="parquet", mode="append")  # imported
        table = data.read("sales", tag="raw")                       # a pyarrow.Table
        data.save_data("sales", "sales.parquet")
        project = data.annotate_data("sales", Annotator(schema=[Label.text("comment")]))

Every failed call raises a `lepton_ai.errors.LeptonAIError` subclass chosen by status code;
a failed job raises `JobFailedError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict, TypeVar, overload

import grpc
import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import export_job_pb2, import_job_pb2, pipeline_run_pb2
from lepton.data.v1 import pipeline_pb2 as pl
from lepton.data.v1 import processing_service_pb2 as processing
from lepton.data.v1 import processing_service_pb2_grpc as processing_grpc
from lepton_ai.client import JobMethods
from lepton_ai.data import file_formats, sources, transfers
from lepton_ai.data.catalog import DatasetCatalog
from lepton_ai.data.file_formats import FormatLike
from lepton_ai.data.names import DatasetRef, VersionRef, dataset_name
from lepton_ai.data.processor import DataProcessor, pipeline_of
from lepton_ai.data.sources import Source, WriteModeLike
from lepton_ai.data.storage import StorageManager, is_uri

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from lepton_ai.annotation import AnnotationProjectHandle, Annotator

StorageJob = TypeVar("StorageJob", import_job_pb2.ImportJob, export_job_pb2.ExportJob)


class RunOptions(TypedDict, total=False):
    """The keyword options of `DataManager.process_data` other than `wait` (see there)."""

    version: str | None
    tag: str | None
    tags: Iterable[str]
    description: str
    labels: Mapping[str, str] | None
    recompute: bool
    run_id: str
    create: bool


def _with_storage_options(job: StorageJob, storage: StorageManager | None) -> StorageJob:
    """`job` carrying the StorageOptions of `storage`, when it sets any."""
    if storage is not None and storage.options is not None:
        job.storage_options.CopyFrom(storage.options)
    return job


class DataManager(DatasetCatalog):
    """Datasets, versions, tags, uploads, downloads, imports, exports and pipeline runs over
    one gRPC channel. Create it with `DataManager.connect(address)` or around an existing
    channel; close it (or use it as a context manager) to close the channel.

    `progress`: draw progress bars for long transfers and jobs (None: when standard error is
    a terminal). `timeout`: deadline in seconds of each unary call; streams (uploads,
    downloads, job watches) have none.
    """

    def _create_stubs(self, channel: grpc.Channel) -> None:
        super()._create_stubs(channel)
        self._processing = processing_grpc.ProcessingServiceStub(channel)
        datasets = self._datasets
        self._import_jobs = JobMethods(
            datasets.CreateImportJob,
            datasets.WatchImportJob,
            pb.WatchImportJobRequest,
            "import_job",
        )
        self._export_jobs = JobMethods(
            datasets.CreateExportJob,
            datasets.WatchExportJob,
            pb.WatchExportJobRequest,
            "export_job",
        )
        self._pipeline_runs = JobMethods(
            self._processing.CreatePipelineRun,
            self._processing.WatchPipelineRun,
            processing.WatchPipelineRunRequest,
            "pipeline_run",
        )

    # ------------------------------------------------------------------------------ reading

    def read(
        self,
        source: VersionRef,
        *,
        version: str | None = None,
        tag: str | None = None,
        columns: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 0,
        batch_rows: int = 0,
    ) -> pa.Table:
        """The rows of a version as a pyarrow.Table: `source` is a dataset (its head, or its
        `version` or `tag`), a version or tag name, or a DatasetVersion. `columns` projects,
        `offset`/`limit` select a row range (limit 0: to the end). A stream broken by the
        network resumes from the next batch (spec/data.md §4.6)."""
        batches = self.iter_batches(
            source,
            version=version,
            tag=tag,
            columns=columns,
            offset=offset,
            limit=limit,
            batch_rows=batch_rows,
        )
        return pa.Table.from_batches(list(batches))

    def iter_batches(
        self,
        source: VersionRef,
        *,
        version: str | None = None,
        tag: str | None = None,
        columns: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 0,
        batch_rows: int = 0,
    ) -> Iterator[pa.RecordBatch]:
        """The rows of a version as record batches, streamed (see `read`). An empty selection
        yields one batch of zero rows, so the schema is always known."""
        request = pb.ReadVersionRequest(
            name=self.resolve(source, version=version, tag=tag),
            columns=list(columns or ()),
            offset=offset,
            limit=limit,
            batch_rows=batch_rows,
        )
        return transfers.read_batches(self._datasets, request, self.progress_bar)

    # ------------------------------------------------------------------------------ loading

    def load_data(
        self,
        source: Source,
        dataset: DatasetRef,
        *,
        mode: WriteModeLike = "overwrite",
        tags: Iterable[str] = (),
        format: FormatLike = None,
        storage: StorageManager | None = None,
        description: str = "",
        expected_parent: str | None = None,
        create: bool = True,
    ) -> resources.DatasetVersion:
        """Commit `source` as a new version of `dataset` and return the version.

        `source` is Arrow data (a pyarrow Table, RecordBatch or RecordBatchReader, a dict of
        columns, or any object exporting an Arrow stream such as a pandas or polars frame), a
        local CSV/JSON Lines/Parquet file (read here and uploaded), or one or more storage
        URIs (with `storage`, paths relative to its root), which the server imports itself.
        `format` is a name ("csv", "jsonl", "parquet") or a FormatSpec with options; by
        default it comes from the file extension. `mode` is "overwrite" or "append"; `tags`
        are set on the new version in the same commit; `expected_parent` makes the commit
        conditional on the head (AbortedError PARENT_VERSION_MISMATCH). With `create`, a
        missing dataset is created first.
        """
        parent = dataset_name(dataset)
        write_mode = sources.write_mode(mode)
        uris = sources.storage_uris(source, storage)
        if uris is not None:
            job = import_job_pb2.ImportJob(
                source_uris=uris,
                format=file_formats.format_spec(format, uris[0]),
                mode=write_mode,
                tags=list(tags),
                description=description,
            )
            if expected_parent is not None:
                job.expected_parent_version = expected_parent
            if create:
                self._ensure_dataset(parent)
            return self._import(parent, _with_storage_options(job, storage))
        data = sources.arrow_data(source, format)
        header = pb.WriteVersionHeader(
            parent=parent,
            mode=write_mode,
            request_id=str(uuid.uuid4()),
            description=description,
            tags=list(tags),
        )
        if expected_parent is not None:
            header.expected_parent_version = expected_parent
        if create:
            self._ensure_dataset(parent)
        return transfers.upload(self._datasets, header, data, self.progress_bar)

    def _import(self, parent: str, job: import_job_pb2.ImportJob) -> resources.DatasetVersion:
        """Run an import job into `parent` to its end; the version it committed."""
        request = pb.CreateImportJobRequest(
            parent=parent, import_job=job, request_id=str(uuid.uuid4())
        )
        finished = self.run_job(
            self._import_jobs, request, description=f"Importing into {parent}", unit="bytes"
        )
        return self.get_version(finished.output_version)

    # ------------------------------------------------------------------------------- saving

    def save_data(
        self,
        source: VersionRef,
        destination: str | Path,
        *,
        version: str | None = None,
        tag: str | None = None,
        format: FormatLike = None,
        columns: Sequence[str] | None = None,
        overwrite: bool = False,
        storage: StorageManager | None = None,
        max_rows_per_file: int = 0,
    ) -> list[str]:
        """Write a version (by default the dataset's head) to files and return their paths or
        URIs. A local path is written here from the downloaded table; a storage URI (with
        `storage`, a path relative to its root; a URI ending in "/" names a directory) is
        written by the server in an export job. `format` is a name or FormatSpec, by default
        from the extension. An existing destination raises FileExistsError locally and
        JobFailedError DESTINATION_EXISTS remotely unless `overwrite`."""
        if storage is not None and isinstance(destination, str):
            destination = storage.join(destination)
        if is_uri(destination):
            assert isinstance(destination, str)
            job = export_job_pb2.ExportJob(
                version=self.resolve(source, version=version, tag=tag),
                destination_uri=destination,
                format=file_formats.format_spec(format, destination),
                columns=list(columns or ()),
                overwrite=overwrite,
                max_rows_per_file=max_rows_per_file,
            )
            return self._export(_with_storage_options(job, storage))
        path = Path(destination)
        spec = file_formats.format_spec(format, path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        table = self.read(source, version=version, tag=tag, columns=columns)
        file_formats.write_local(table, path, spec)
        return [str(path)]

    def _export(self, job: export_job_pb2.ExportJob) -> list[str]:
        """Run an export job of `job.version` to its end; the URIs it wrote."""
        parent = dataset_name(job.version)
        request = pb.CreateExportJobRequest(
            parent=parent, export_job=job, request_id=str(uuid.uuid4())
        )
        finished = self.run_job(
            self._export_jobs, request, description=f"Exporting {parent}", unit="rows"
        )
        return list(finished.output_uris)

    # --------------------------------------------------------------------------- processing

    def validate_pipeline(
        self,
        source: VersionRef,
        processor: DataProcessor | pl.Pipeline,
        *,
        version: str | None = None,
        tag: str | None = None,
    ) -> processing.ValidatePipelineResponse:
        """Check a pipeline against a version's schema without running it: the output schema
        and fingerprint, or InvalidArgumentError naming the step (metadata step_index)."""
        request = processing.ValidatePipelineRequest(
            input_version=self.resolve(source, version=version, tag=tag),
            pipeline=pipeline_of(processor),
        )
        return self.call(self._processing.ValidatePipeline, request)

    # The two signatures differ only in `wait` and what it makes process_data return.
    @overload
    def process_data(
        self,
        source: VersionRef,
        processor: DataProcessor | pl.Pipeline,
        output_dataset: DatasetRef | None = ...,
        *,
        wait: Literal[True] = ...,
        **options: Unpack[RunOptions],
    ) -> resources.DatasetVersion: ...

    @overload
    def process_data(
        self,
        source: VersionRef,
        processor: DataProcessor | pl.Pipeline,
        output_dataset: DatasetRef | None = ...,
        *,
        wait: Literal[False],
        **options: Unpack[RunOptions],
    ) -> pipeline_run_pb2.PipelineRun: ...

    def process_data(
        self,
        source: VersionRef,
        processor: DataProcessor | pl.Pipeline,
        output_dataset: DatasetRef | None = None,
        *,
        version: str | None = None,
        tag: str | None = None,
        tags: Iterable[str] = (),
        description: str = "",
        labels: Mapping[str, str] | None = None,
        recompute: bool = False,
        run_id: str = "",
        create: bool = True,
        wait: bool = True,
    ) -> resources.DatasetVersion | pipeline_run_pb2.PipelineRun:
        """Run `processor` over a version (by default the dataset's head) in a pipeline run
        and return the output version, committed to `output_dataset` (default: the input's
        dataset) with `tags`. An identical earlier run's output is reused unless `recompute`.
        With wait=False the created PipelineRun is returned at once. A run that fails raises
        JobFailedError (e.g. reason CAST_FAILED); a pipeline that does not fit the schema
        raises InvalidArgumentError naming the step."""
        run = pipeline_run_pb2.PipelineRun(
            input_version=self.resolve(source, version=version, tag=tag),
            pipeline=pipeline_of(processor),
            output_tags=list(tags),
            description=description,
            labels=labels or {},
            reuse_policy=(
                pipeline_run_pb2.REUSE_POLICY_ALWAYS_RECOMPUTE
                if recompute
                else pipeline_run_pb2.REUSE_POLICY_REUSE_IF_POSSIBLE
            ),
        )
        if output_dataset is not None:
            run.output_dataset = dataset_name(output_dataset)
            if create:
                self._ensure_dataset(run.output_dataset)
        request = processing.CreatePipelineRunRequest(
            pipeline_run_id=run_id, pipeline_run=run, request_id=str(uuid.uuid4())
        )
        created = self.call(self._pipeline_runs.create, request).pipeline_run
        if not wait:
            return created
        finished = self.wait_for_run(created)
        return self.get_version(finished.output_version)

    def wait_for_run(self, run: str | pipeline_run_pb2.PipelineRun) -> pipeline_run_pb2.PipelineRun:
        """Watch a pipeline run until it ends; return it, or raise JobFailedError."""
        if isinstance(run, str):
            run = self.call(
                self._processing.GetPipelineRun, processing.GetPipelineRunRequest(name=run)
            ).pipeline_run
        return self.watch_job(
            run, self._pipeline_runs, description=f"Running {run.name}", unit="steps"
        )

    # --------------------------------------------------------------------------- annotation

    def annotate_data(
        self,
        data: VersionRef,
        annotator: Annotator,
        *,
        version: str | None = None,
        tag: str | None = None,
    ) -> AnnotationProjectHandle | resources.DatasetVersion:
        """Label a version (by default the dataset's head) as `annotator` says, through the
        server's AnnotationService on this channel: a human project, returned as its
        AnnotationProjectHandle, or a model's pre-labels, accepted and, with `export_to`,
        exported to the DatasetVersion returned (see lepton_ai.annotation.Annotator)."""
        return annotator.run(self, self.resolve(data, version=version, tag=tag))
