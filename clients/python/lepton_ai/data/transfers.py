"""Tables through the DatasetService's streams: a ReadVersion stream that resumes from the
next batch after a break (spec/data.md §4.6), and a WriteVersion upload re-sent under the same
request_id after a break, so the server commits it at most once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager

import grpc
import pyarrow as pa

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton_ai.data import arrow_stream
from lepton_ai.data.names import dataset_name
from lepton_ai.errors import UnknownError, from_rpc_error
from lepton_ai.progress import ProgressBar
from lepton_ai.retries import STREAM_RETRIES, is_transport_failure, pause_before_retry

# ServiceClient.progress_bar: (description, total, unit) -> a bar closed when the `with` ends.
ProgressBars = Callable[[str, int | None, str], AbstractContextManager[ProgressBar]]


def read_batches(
    datasets: pb_grpc.DatasetServiceStub, request: pb.ReadVersionRequest, progress: ProgressBars
) -> Iterator[pa.RecordBatch]:
    """The record batches of one ReadVersion selection, in order. A stream broken by the
    network is reopened at the next batch, of the canonical version the header named (a tag
    may have moved meanwhile), with the same batch size."""
    header: pb.ReadVersionHeader | None = None
    schema: pa.Schema | None = None
    next_index, failures = 0, 0
    with progress(f"Reading {dataset_name(request.name)}", None, "rows") as bar:
        while True:
            stream = datasets.ReadVersion(request, timeout=None)
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
                if not is_transport_failure(error) or failures >= STREAM_RETRIES:
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
            pause_before_retry(failures)


def upload(
    datasets: pb_grpc.DatasetServiceStub,
    header: pb.WriteVersionHeader,
    data: pa.Table | pa.RecordBatchReader,
    progress: ProgressBars,
) -> resources.DatasetVersion:
    """One WriteVersion stream: the header, then the IPC stream of `data` in chunks. A table
    is re-sent after a broken connection, under the same request_id, so the server commits it
    at most once; a reader cannot be replayed, so its failure surfaces at once."""
    total = data.num_rows if isinstance(data, pa.Table) else None
    failures = 0
    with progress(f"Uploading to {header.parent}", total, "rows") as bar:
        while True:
            bar.update(0)
            batches = arrow_stream.batches_of(data) if isinstance(data, pa.Table) else data
            chunks = arrow_stream.ipc_chunks(data.schema, batches, on_rows=bar.advance)
            try:
                return datasets.WriteVersion(_write_requests(header, chunks), timeout=None).version
            except grpc.RpcError as rpc_error:
                error = from_rpc_error(rpc_error)
                retry = isinstance(data, pa.Table) and is_transport_failure(error)
                if not retry or failures >= STREAM_RETRIES:
                    raise error from None
            failures += 1
            pause_before_retry(failures)


def _write_requests(
    header: pb.WriteVersionHeader, chunks: Iterable[bytes]
) -> Iterator[pb.WriteVersionRequest]:
    yield pb.WriteVersionRequest(header=header)
    for chunk in chunks:
        yield pb.WriteVersionRequest(arrow_data=chunk)
