"""A client of lepton.data.v1.DatasetService for the data profiles: scratch datasets that
delete themselves, WriteVersion streams built from Arrow tables and ReadVersion streams
collected back into tables. Written apart from any server, from the contract and
spec/data.md §4 only."""

from __future__ import annotations

import contextlib
import io
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import grpc
import pyarrow as pa
from google.protobuf.message import Message

from lepton.data.v1 import dataset_pb2 as resources
from lepton.data.v1 import dataset_service_pb2 as pb
from lepton.data.v1 import dataset_service_pb2_grpc as pb_grpc
from lepton_conformance.harness import expect
from lepton_conformance.harness.case import Failed
from lepton_conformance.harness.context import CaseContext

SERVICE = pb.DESCRIPTOR.services_by_name["DatasetService"].full_name
APPEND = resources.WRITE_MODE_APPEND
OVERWRITE = resources.WRITE_MODE_OVERWRITE
# The end-of-stream marker of the Arrow IPC streaming format.
END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"


def unique_id(prefix: str = "conf") -> str:
    """A fresh AIP-122 id, e.g. conf-3fa9c1d2, so that runs never collide."""
    return f"{prefix}-{secrets.token_hex(4)}"


def ipc_stream(
    table: pa.Table,
    *,
    batch_rows: int | None = None,
    compression: str | None = None,
    end_marker: bool = True,
) -> bytes:
    """`table` as one Arrow IPC stream: schema, record batches of at most `batch_rows` rows
    (as the table is chunked when None), optionally compressed, with the end marker."""
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    writer = pa.ipc.new_stream(sink, table.schema, options=options)
    writer.write_table(table, max_chunksize=batch_rows)
    if end_marker:
        writer.close()
    return sink.getvalue()


def split(data: bytes, size: int) -> list[bytes]:
    """`data` cut into pieces of `size` bytes (the last one shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def header(parent: str, mode: int = OVERWRITE, **fields: Any) -> pb.WriteVersionRequest:
    """The first message of a WriteVersion stream."""
    return pb.WriteVersionRequest(header=pb.WriteVersionHeader(parent=parent, mode=mode, **fields))


def data(chunks: Iterable[bytes]) -> list[pb.WriteVersionRequest]:
    """arrow_data messages, one per chunk."""
    return [pb.WriteVersionRequest(arrow_data=chunk) for chunk in chunks]


def as_chunks(rows: pa.Table | bytes | Sequence[bytes]) -> list[bytes]:
    if isinstance(rows, pa.Table):
        return [ipc_stream(rows)]
    if isinstance(rows, bytes):
        return [rows]
    return list(rows)


def schema_of(serialized: bytes, what: str) -> pa.Schema:
    """An encapsulated Arrow IPC Schema message, or Failed."""
    try:
        return pa.ipc.read_schema(pa.py_buffer(serialized))
    except (pa.ArrowException, ValueError, OSError) as exc:
        raise Failed(f"{what} to be an encapsulated Arrow IPC Schema message", str(exc)) from None


def table_of(responses: Sequence[pb.ReadVersionResponse]) -> pa.Table:
    """The rows of a ReadVersion stream: the first response's schema, every batch in order."""
    if not responses or not responses[0].HasField("header"):
        raise Failed("a first ReadVersion response with a header", f"{len(responses)} responses")
    schema = schema_of(responses[0].header.arrow_schema, "header.arrow_schema")
    return pa.Table.from_batches(batches_of(responses), schema=schema)


def batches_of(responses: Sequence[pb.ReadVersionResponse]) -> list[pa.RecordBatch]:
    """Each response's record batch, read with the first response's header schema."""
    if not responses or not responses[0].HasField("header"):
        raise Failed("a first ReadVersion response with a header", f"{len(responses)} responses")
    schema = schema_of(responses[0].header.arrow_schema, "header.arrow_schema")
    batches = []
    for response in responses:
        try:
            batch = pa.ipc.read_record_batch(pa.py_buffer(response.arrow_record_batch), schema)
        except (pa.ArrowException, ValueError, OSError) as exc:
            raise Failed(
                "arrow_record_batch to be an encapsulated RecordBatch of the header's schema",
                f"batch {response.batch_index}: {exc}",
            ) from None
        batches.append(batch)
    return batches


class DatasetClient:
    """DatasetService calls with the case's credentials and deadline."""

    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx
        self.stub = pb_grpc.DatasetServiceStub(ctx.channel)

    def call(self, rpc: str, request: Message, *, timeout: float | None = None) -> Any:
        """A unary RPC, or a server-streaming one collected into a list."""
        method = getattr(self.stub, rpc)
        answer = method(
            request, metadata=self.ctx.metadata, timeout=timeout or self.ctx.timeout * 2
        )
        if rpc in ("ReadVersion", "WatchImportJob", "WatchExportJob"):
            return list(answer)
        return answer

    # --- datasets ---------------------------------------------------------------------------

    def create(self, dataset_id: str, **fields: Any) -> resources.Dataset:
        request = pb.CreateDatasetRequest(
            dataset_id=dataset_id, dataset=resources.Dataset(**fields)
        )
        created = expect.succeeds(
            lambda: self.call("CreateDataset", request).dataset, f"CreateDataset({dataset_id})"
        )
        expect.equal(created.name, f"datasets/{dataset_id}", "the created dataset's name")
        return created

    def dataset(self, name: str) -> resources.Dataset:
        return expect.succeeds(
            lambda: self.call("GetDataset", pb.GetDatasetRequest(name=name)).dataset,
            f"GetDataset({name})",
        )

    def delete(self, name: str) -> None:
        """Delete `name` with force; a dataset that is already gone is fine."""
        with contextlib.suppress(grpc.RpcError):
            self.call("DeleteDataset", pb.DeleteDatasetRequest(name=name, force=True))

    @contextlib.contextmanager
    def scratch(self, **fields: Any) -> Iterator[str]:
        """A new dataset with a unique id, deleted (with force) when the block ends."""
        with self.scratches(1, **fields) as names:
            yield names[0]

    @contextlib.contextmanager
    def scratches(self, count: int, **fields: Any) -> Iterator[list[str]]:
        """`count` new datasets, created in ascending name order, deleted at the end."""
        base = unique_id()
        names: list[str] = []
        try:
            for i in range(count):
                dataset_id = f"{base}-{i}" if count > 1 else base
                names.append(f"datasets/{dataset_id}")
                self.create(dataset_id, **fields)
            yield names
        finally:
            for name in names:
                self.delete(name)

    # --- writing ----------------------------------------------------------------------------

    def stream(
        self, messages: Iterable[pb.WriteVersionRequest], *, timeout: float | None = None
    ) -> pb.WriteVersionResponse:
        """One WriteVersion stream of `messages`; raises grpc.RpcError when it fails."""
        return self.stub.WriteVersion(
            iter(messages), metadata=self.ctx.metadata, timeout=timeout or self.ctx.timeout * 2
        )

    def write(
        self,
        parent: str,
        rows: pa.Table | bytes | Sequence[bytes],
        mode: int = OVERWRITE,
        **fields: Any,
    ) -> resources.DatasetVersion:
        """Commit `rows` (a table, IPC bytes or chunks of them); the committed version."""
        messages = [header(parent, mode, **fields), *data(as_chunks(rows))]
        return expect.succeeds(lambda: self.stream(messages).version, f"WriteVersion to {parent}")

    # --- versions ---------------------------------------------------------------------------

    def version(self, name: str) -> resources.DatasetVersion:
        return expect.succeeds(
            lambda: self.call("GetVersion", pb.GetVersionRequest(name=name)).version,
            f"GetVersion({name})",
        )

    def versions(self, parent: str, **fields: Any) -> list[resources.DatasetVersion]:
        """One ListVersions page of up to 1000 versions."""
        request = pb.ListVersionsRequest(parent=parent, page_size=1000, **fields)
        return list(
            expect.succeeds(
                lambda: self.call("ListVersions", request), f"ListVersions({parent})"
            ).versions
        )

    def walk(self, rpc: str, request: Message, limit: int = 100) -> list[Any]:
        """Every item of a listing, following next_page_token (at most `limit` pages)."""
        return walk_pages(lambda page: self.call(rpc, page), rpc, request, limit)

    def read(self, name: str, **fields: Any) -> list[pb.ReadVersionResponse]:
        """Every response of one ReadVersion stream."""
        request = pb.ReadVersionRequest(name=name, **fields)
        return expect.succeeds(lambda: self.call("ReadVersion", request), f"ReadVersion({name})")

    def read_table(self, name: str, **fields: Any) -> pa.Table:
        return table_of(self.read(name, **fields))


def walk_pages(
    call: Callable[[Message], Message], rpc: str, request: Message, limit: int = 100
) -> list[Any]:
    """Every item of a listing through `call`, following next_page_token (at most `limit`
    pages), each page at most page_size items long."""
    items: list[Any] = []
    token, pages = "", 0
    while True:
        page_request = type(request)()
        page_request.CopyFrom(request)
        page_request.page_token = token
        page = expect.succeeds(
            lambda page_request=page_request: call(page_request), f"{rpc} page {pages + 1}"
        )
        found = _page_items(page)
        if request.page_size:
            expect.holds(
                len(found) <= request.page_size,
                f"at most {request.page_size} items per page",
                f"{len(found)} items",
            )
        items += found
        token, pages = page.next_page_token, pages + 1
        if not token:
            return items
        expect.holds(pages < limit, "the listing to end", f"{pages} pages and counting")


def _page_items(page: Message) -> list[Any]:
    repeated = [f for f in page.DESCRIPTOR.fields if f.is_repeated and f.message_type]
    return list(getattr(page, repeated[0].name))
