"""`DataManager`: the data layer of a Lepton server (lepton.data.v1 DatasetService and
ProcessingService) as Python calls on pyarrow tables.

    with DataManager.connect("localhost:50051") as data:
        data.load_data("sales.csv", "sales", tags=["raw"])          # uploaded from here
        data.load_data("s3://bucket/2024/", "sales", format="parquet", mode="append")  # imported
        table = data.read("sales", tag="raw")                       # a pyarrow.Table
        data.save_data("sales", "sales.parquet")

Every failed call raises a `lepton_ai.errors.LeptonAIError` subclass chosen by status code;
a failed job raises `JobFailedError`.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import grpc
import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton.data.v1 import export_job_pb2, import_job_pb2, pipeline_run_pb2
from lepton.data.v1 import file_format_pb2 as ff
from lepton.data.v1 import pipeline_pb2 as pl
from lepton.data.v1 import processing_service_pb2 as processing
from lepton.data.v1 import processing_service_pb2_grpc as processing_grpc
from lepton.discovery.v1 import discovery_service_pb2 as discovery
from lepton.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from lepton_ai import arrow_stream, file_formats
from lepton_ai.connection import PemSource, open_channel
from lepton_ai.data_processor import DataProcessor, pipeline_of
from lepton_ai.errors import (
    AlreadyExistsError,
    LeptonAIError,
    NotFoundError,
    UnknownError,
    from_rpc_error,
)
from lepton_ai.file_formats import FormatLike
from lepton_ai.job_watch import follow, is_terminal
from lepton_ai.progress import ProgressBar, progress_enabled
from lepton_ai.storage import StorageManager, is_uri

DATASET_SERVICE = "lepton.data.v1.DatasetService"
PROCESSING_SERVICE = "lepton.data.v1.ProcessingService"
DEFAULT_TIMEOUT = 30.0
# Consecutive broken-stream retries of a read or an upload before the error surfaces.
TRANSFER_RETRIES = 3
RETRY_BACKOFF_SECONDS = 0.2
PAGE_SIZE = 1000
WRITE_MODES = {"overwrite": resources.WRITE_MODE_OVERWRITE, "append": resources.WRITE_MODE_APPEND}

DatasetRef = str | resources.Dataset
VersionRef = str | resources.Dataset | resources.DatasetVersion | resources.VersionTag
TableSource = pa.Table | pa.RecordBatch | pa.RecordBatchReader | Mapping[str, Any]
Source = TableSource | str | Path | Sequence[str]
WriteModeLike = Literal["overwrite", "append"] | int
Response = TypeVar("Response")


def dataset_name(dataset: VersionRef) -> str:
    """ "datasets/{id}" for a dataset id, a dataset, version or tag (name or message)."""
    if isinstance(dataset, resources.Dataset | resources.DatasetVersion | resources.VersionTag):
        dataset = dataset.name
    if dataset.startswith("datasets/"):
        return "/".join(dataset.split("/")[:2])
    return f"datasets/{dataset}"


def _write_mode(mode: WriteModeLike) -> int:
    if isinstance(mode, int):
        return mode
    try:
        return WRITE_MODES[mode.lower()]
    except KeyError:
        raise ValueError(f"mode must be 'overwrite' or 'append', not {mode!r}") from None


def _is_transport_failure(error: LeptonAIError) -> bool:
    """A broken connection or stream, worth retrying: UNAVAILABLE, or INTERNAL/UNKNOWN
    without an ErrorInfo (servers attach one to every error they raise themselves)."""
    if error.code == grpc.StatusCode.UNAVAILABLE:
        return True
    return error.code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN) and not error.reason


def _as_table_or_reader(source: TableSource) -> pa.Table | pa.RecordBatchReader:
    if isinstance(source, pa.Table | pa.RecordBatchReader):
        return source
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source])
    if isinstance(source, Mapping):
        return pa.table(source)
    if hasattr(source, "__arrow_c_stream__"):  # pandas >= 2.2, polars, DuckDB results, ...
        return pa.table(source)
    raise TypeError(f"cannot load {type(source).__name__}; pass a path, a URI or Arrow data")


class DataManager:
    """Datasets, versions, tags, uploads, downloads, imports, exports and pipeline runs over
    one gRPC channel. Create it with `DataManager.connect(address)` or around an existing
    channel; close it (or use it as a context manager) to close the channel.

    `progress`: draw progress bars for long transfers and jobs (None: when standard error is
    a terminal). `timeout`: deadline in seconds of each unary call; streams (uploads,
    downloads, job watches) have none.
    """

    def __init__(
        self,
        channel: grpc.Channel,
        *,
        progress: bool | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        self.channel = channel
        self.progress = progress
        self.timeout = timeout
        self._datasets = pb_grpc.DatasetServiceStub(channel)
        self._processing = processing_grpc.ProcessingServiceStub(channel)
        self._discovery = discovery_grpc.DiscoveryServiceStub(channel)

    @classmethod
    def connect(
        cls,
        address: str,
        *,
        token: str | None = None,
        tls: bool = False,
        ca: PemSource | None = None,
        client_cert: PemSource | None = None,
        client_key: PemSource | None = None,
        progress: bool | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> DataManager:
        """Connect to a server at "host:port": plaintext unless `tls` (or a PEM) is given;
        `ca` is the trusted root (PEM path or bytes; default the system roots),
        `client_cert`/`client_key` a mutual-TLS identity, `token` a bearer token."""
        channel = open_channel(
            address, token=token, tls=tls, ca=ca, client_cert=client_cert, client_key=client_key
        )
        return cls(channel, progress=progress, timeout=timeout)

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def __enter__(self) -> DataManager:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------------------ calls

    def _call(self, method: Callable[..., Response], request: Any) -> Response:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def _bar(self, description: str, total: int | None, unit: str) -> ProgressBar:
        return ProgressBar(description, total, unit, progress_enabled(self.progress))

    # ---------------------------------------------------------------------------- discovery

    def server_info(self) -> discovery.GetServerInfoResponse:
        """What the server hosts: its services and their optional features."""
        return self._call(self._discovery.GetServerInfo, discovery.GetServerInfoRequest())

    def features(self, service: str = DATASET_SERVICE) -> frozenset[str] | None:
        """The optional features the server lists for `service`, or None if it does not host
        it (e.g. features(PROCESSING_SERVICE) is None on a server without pipelines)."""
        for info in self.server_info().services:
            if info.name == service:
                return frozenset(info.features)
        return None

    # ----------------------------------------------------------------------------- datasets

    def create_dataset(
        self,
        dataset_id: str,
        *,
        display_name: str = "",
        description: str = "",
        labels: Mapping[str, str] | None = None,
        exist_ok: bool = False,
    ) -> resources.Dataset:
        """Create an empty dataset. With exist_ok, an existing dataset is returned instead of
        raising AlreadyExistsError."""
        dataset_id = dataset_name(dataset_id).split("/", 1)[1]
        request = pb.CreateDatasetRequest(
            dataset_id=dataset_id,
            dataset=resources.Dataset(
                display_name=display_name, description=description, labels=labels or {}
            ),
        )
        try:
            return self._call(self._datasets.CreateDataset, request).dataset
        except AlreadyExistsError:
            if not exist_ok:
                raise
            return self.get_dataset(dataset_id)

    def get_dataset(self, dataset: DatasetRef) -> resources.Dataset:
        """A dataset's metadata and head. NotFoundError if it does not exist."""
        request = pb.GetDatasetRequest(name=dataset_name(dataset))
        return self._call(self._datasets.GetDataset, request).dataset

    def list_datasets(self, *, filter: str = "", order_by: str = "") -> list[resources.Dataset]:
        """Every dataset (all pages), optionally filtered and ordered (spec/data.md §7)."""
        return self._pages(
            self._datasets.ListDatasets,
            lambda token: pb.ListDatasetsRequest(
                page_size=PAGE_SIZE, page_token=token, filter=filter, order_by=order_by
            ),
            "datasets",
        )

    def delete_dataset(self, dataset: DatasetRef, *, force: bool = False) -> None:
        """Delete a dataset; one holding versions needs force=True (else
        FailedPreconditionError with reason DATASET_NOT_EMPTY)."""
        request = pb.DeleteDatasetRequest(name=dataset_name(dataset), force=force)
        self._call(self._datasets.DeleteDataset, request)

    def _ensure_dataset(self, dataset: str) -> None:
        request = pb.CreateDatasetRequest(dataset_id=dataset.split("/", 1)[1])
        with contextlib.suppress(AlreadyExistsError):
            self._call(self._datasets.CreateDataset, request)

    def _pages(
        self, method: Callable[..., Any], request_for: Callable[[str], Any], field: str
    ) -> list[Any]:
        items: list[Any] = []
        token = ""
        while True:
            response = self._call(method, request_for(token))
            items.extend(getattr(response, field))
            token = response.next_page_token
            if not token:
                return items

    # ----------------------------------------------------------------------------- versions

    def resolve(
        self, source: VersionRef, *, version: str | None = None, tag: str | None = None
    ) -> str:
        """The version reference a request takes: a version or tag name as given, the
        `version` or `tag` of a dataset, or else the dataset's head (NotFoundError when the
        dataset has no version yet)."""
        if isinstance(source, resources.DatasetVersion | resources.VersionTag) or (
            isinstance(source, str) and ("/versions/" in source or "/tags/" in source)
        ):
            if version is not None or tag is not None:
                raise ValueError("version= and tag= apply to a dataset, not to a version")
            return source if isinstance(source, str) else source.name
        dataset = dataset_name(source)
        if version is not None and tag is not None:
            raise ValueError("pass version= or tag=, not both")
        if version is not None:
            return f"{dataset}/versions/{version}"
        if tag is not None:
            return f"{dataset}/tags/{tag}"
        head = self.get_dataset(dataset).head_version
        if not head:
            raise NotFoundError(
                grpc.StatusCode.NOT_FOUND, "", f"{dataset} has no version yet", {"dataset": dataset}
            )
        return head

    def get_version(
        self, source: VersionRef, *, version: str | None = None, tag: str | None = None
    ) -> resources.DatasetVersion:
        """A version's metadata (schema, row count, digest, tags, lineage); by default the
        dataset's head."""
        name = self.resolve(source, version=version, tag=tag)
        return self._call(self._datasets.GetVersion, pb.GetVersionRequest(name=name)).version

    def versions(
        self, dataset: DatasetRef, *, filter: str = "", order_by: str = ""
    ) -> list[resources.DatasetVersion]:
        """A dataset's versions, newest first unless `order_by` says otherwise."""
        parent = dataset_name(dataset)
        return self._pages(
            self._datasets.ListVersions,
            lambda token: pb.ListVersionsRequest(
                parent=parent,
                page_size=PAGE_SIZE,
                page_token=token,
                filter=filter,
                order_by=order_by,
            ),
            "versions",
        )

    def tag(
        self, source: VersionRef, tag: str, *, version: str | None = None, etag: str = ""
    ) -> resources.VersionTag:
        """Point `tag` at a version (by default the dataset's head), creating or moving it.
        A non-empty `etag` makes the move conditional (AbortedError ETAG_MISMATCH)."""
        target = self.resolve(source, version=version)
        request = pb.SetTagRequest(
            name=f"{dataset_name(target)}/tags/{tag}", version=target, etag=etag
        )
        return self._call(self._datasets.SetTag, request).tag

    def untag(self, dataset: DatasetRef, tag: str, *, etag: str = "") -> None:
        """Remove a tag; the version it pointed at is unaffected."""
        request = pb.DeleteTagRequest(name=f"{dataset_name(dataset)}/tags/{tag}", etag=etag)
        self._call(self._datasets.DeleteTag, request)

    def tags(self, dataset: DatasetRef) -> dict[str, str]:
        """A dataset's tags: {tag id: canonical version name}, in tag id order."""
        parent = dataset_name(dataset)
        tags = self._pages(
            self._datasets.ListTags,
            lambda token: pb.ListTagsRequest(parent=parent, page_size=PAGE_SIZE, page_token=token),
            "tags",
        )
        return {tag.name.rsplit("/", 1)[1]: tag.version for tag in tags}

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
        batches = list(
            self.iter_batches(
                source,
                version=version,
                tag=tag,
                columns=columns,
                offset=offset,
                limit=limit,
                batch_rows=batch_rows,
            )
        )
        return pa.Table.from_batches(batches)

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
        return self._read_stream(request)

    def _read_stream(self, request: pb.ReadVersionRequest) -> Iterator[pa.RecordBatch]:
        header: pb.ReadVersionHeader | None = None
        schema: pa.Schema | None = None
        next_index, failures = 0, 0
        with self._bar(f"Reading {dataset_name(request.name)}", None, "rows") as bar:
            while True:
                stream = self._datasets.ReadVersion(request, timeout=None)
                try:
                    for response in stream:
                        if header is None:
                            if not response.HasField("header"):
                                raise UnknownError(
                                    grpc.StatusCode.UNKNOWN, "", "the stream has no header"
                                )
                            header = response.header
                            schema = arrow_stream.read_schema(header.arrow_schema)
                            bar.update(0, header.total_row_count)
                        if response.batch_index != next_index:
                            raise UnknownError(
                                grpc.StatusCode.UNKNOWN,
                                "",
                                f"batch {response.batch_index} arrived, {next_index} expected",
                            )
                        assert schema is not None
                        batch = arrow_stream.read_batch(response.arrow_record_batch, schema)
                        next_index, failures = next_index + 1, 0
                        bar.advance(batch.num_rows)
                        yield batch
                    return
                except grpc.RpcError as rpc_error:
                    error = from_rpc_error(rpc_error)
                    if not _is_transport_failure(error) or failures >= TRANSFER_RETRIES:
                        raise error from None
                finally:
                    stream.cancel()
                if header is not None:
                    if next_index >= header.batch_count:
                        return
                    # Resume exactly where the stream broke: same selection, same canonical
                    # version (a tag may have moved), same batch size, next batch.
                    request = pb.ReadVersionRequest(
                        name=header.version,
                        columns=request.columns,
                        offset=request.offset,
                        limit=request.limit,
                        batch_rows=header.batch_rows,
                        start_batch_index=next_index,
                    )
                failures += 1
                time.sleep(RETRY_BACKOFF_SECONDS * 2**failures)

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
        write_mode = _write_mode(mode)
        uris = self._uris(source, storage)
        if uris is not None:
            spec = file_formats.format_spec(format, uris[0])
            if create:
                self._ensure_dataset(parent)
            return self._import(
                parent,
                uris=uris,
                spec=spec,
                storage=storage,
                mode=write_mode,
                tags=list(tags),
                description=description,
                expected_parent=expected_parent,
            )
        if isinstance(source, str | Path):
            data: pa.Table | pa.RecordBatchReader = file_formats.read_local(
                source, file_formats.format_spec(format, source)
            )
        else:
            data = _as_table_or_reader(source)  # type: ignore[arg-type]
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
        return self._upload(header, data)

    @staticmethod
    def _uris(source: Source, storage: StorageManager | None) -> list[str] | None:
        """The storage URIs `source` names, or None for data to upload from here."""
        if isinstance(source, str):
            if storage is not None:
                return [storage.join(source)]
            return [source] if is_uri(source) else None
        if isinstance(source, list | tuple) and source and all(isinstance(s, str) for s in source):
            uris = [storage.join(s) if storage is not None else s for s in source]
            local = [u for u in uris if not is_uri(u)]
            if local:
                raise ValueError(f"{local[0]!r} is not a storage URI; pass storage=")
            return uris
        return None

    def _upload(
        self, header: pb.WriteVersionHeader, data: pa.Table | pa.RecordBatchReader
    ) -> resources.DatasetVersion:
        """One WriteVersion stream: the header, then the IPC stream of `data` in chunks. A
        table is re-sent after a broken connection, under the same request_id, so the server
        commits it at most once."""
        total = data.num_rows if isinstance(data, pa.Table) else None
        failures = 0
        with self._bar(f"Uploading to {header.parent}", total, "rows") as bar:
            while True:
                bar.update(0)
                batches = arrow_stream.batches_of(data) if isinstance(data, pa.Table) else data
                chunks = arrow_stream.ipc_chunks(data.schema, batches, on_rows=bar.advance)
                requests = self._write_requests(header, chunks)
                try:
                    return self._datasets.WriteVersion(requests, timeout=None).version
                except grpc.RpcError as rpc_error:
                    error = from_rpc_error(rpc_error)
                    retry = isinstance(data, pa.Table) and _is_transport_failure(error)
                    if not retry or failures >= TRANSFER_RETRIES:
                        raise error from None
                failures += 1
                time.sleep(RETRY_BACKOFF_SECONDS * 2**failures)

    @staticmethod
    def _write_requests(
        header: pb.WriteVersionHeader, chunks: Iterable[bytes]
    ) -> Iterator[pb.WriteVersionRequest]:
        yield pb.WriteVersionRequest(header=header)
        for chunk in chunks:
            yield pb.WriteVersionRequest(arrow_data=chunk)

    def _import(
        self,
        parent: str,
        *,
        uris: list[str],
        spec: ff.FormatSpec,
        storage: StorageManager | None,
        mode: int,
        tags: list[str],
        description: str,
        expected_parent: str | None,
    ) -> resources.DatasetVersion:
        job = import_job_pb2.ImportJob(
            source_uris=uris, format=spec, mode=mode, tags=tags, description=description
        )
        if storage is not None and storage.options is not None:
            job.storage_options.CopyFrom(storage.options)
        if expected_parent is not None:
            job.expected_parent_version = expected_parent
        request = pb.CreateImportJobRequest(
            parent=parent, import_job=job, request_id=str(uuid.uuid4())
        )
        created = self._call(self._datasets.CreateImportJob, request).import_job
        watch = pb.WatchImportJobRequest(name=created.name)
        with self._bar(f"Importing into {parent}", None, "bytes") as bar:
            finished = follow(
                created,
                lambda: (m.import_job for m in self._datasets.WatchImportJob(watch)),
                bar,
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
            return self._export(
                self.resolve(source, version=version, tag=tag),
                destination=destination,
                spec=file_formats.format_spec(format, destination),
                storage=storage,
                columns=list(columns or ()),
                overwrite=overwrite,
                max_rows_per_file=max_rows_per_file,
            )
        path = Path(destination)
        spec = file_formats.format_spec(format, path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        table = self.read(source, version=version, tag=tag, columns=columns)
        file_formats.write_local(table, path, spec)
        return [str(path)]

    def _export(
        self,
        version: str,
        *,
        destination: str,
        spec: ff.FormatSpec,
        storage: StorageManager | None,
        columns: list[str],
        overwrite: bool,
        max_rows_per_file: int,
    ) -> list[str]:
        job = export_job_pb2.ExportJob(
            version=version,
            destination_uri=destination,
            format=spec,
            columns=columns,
            overwrite=overwrite,
            max_rows_per_file=max_rows_per_file,
        )
        if storage is not None and storage.options is not None:
            job.storage_options.CopyFrom(storage.options)
        parent = dataset_name(version)
        request = pb.CreateExportJobRequest(
            parent=parent, export_job=job, request_id=str(uuid.uuid4())
        )
        created = self._call(self._datasets.CreateExportJob, request).export_job
        watch = pb.WatchExportJobRequest(name=created.name)
        with self._bar(f"Exporting {parent}", None, "rows") as bar:
            finished = follow(
                created,
                lambda: (m.export_job for m in self._datasets.WatchExportJob(watch)),
                bar,
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
        return self._call(self._processing.ValidatePipeline, request)

    @overload
    def process_data(
        self,
        source: VersionRef,
        processor: DataProcessor | pl.Pipeline,
        output_dataset: DatasetRef | None = ...,
        *,
        version: str | None = ...,
        tag: str | None = ...,
        tags: Iterable[str] = ...,
        description: str = ...,
        labels: Mapping[str, str] | None = ...,
        recompute: bool = ...,
        run_id: str = ...,
        create: bool = ...,
        wait: Literal[True] = ...,
    ) -> resources.DatasetVersion: ...

    @overload
    def process_data(
        self,
        source: VersionRef,
        processor: DataProcessor | pl.Pipeline,
        output_dataset: DatasetRef | None = ...,
        *,
        version: str | None = ...,
        tag: str | None = ...,
        tags: Iterable[str] = ...,
        description: str = ...,
        labels: Mapping[str, str] | None = ...,
        recompute: bool = ...,
        run_id: str = ...,
        create: bool = ...,
        wait: Literal[False],
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
        created = self._call(self._processing.CreatePipelineRun, request).pipeline_run
        if not wait:
            return created
        finished = self.wait_for_run(created)
        return self.get_version(finished.output_version)

    def wait_for_run(self, run: str | pipeline_run_pb2.PipelineRun) -> pipeline_run_pb2.PipelineRun:
        """Watch a pipeline run until it ends; return it, or raise JobFailedError."""
        if isinstance(run, str):
            run = self._call(
                self._processing.GetPipelineRun, processing.GetPipelineRunRequest(name=run)
            ).pipeline_run
        if is_terminal(run):
            return follow(run, lambda: ())
        watch = processing.WatchPipelineRunRequest(name=run.name)
        with self._bar(f"Running {run.name}", None, "steps") as bar:
            return follow(
                run,
                lambda: (m.pipeline_run for m in self._processing.WatchPipelineRun(watch)),
                bar,
            )
